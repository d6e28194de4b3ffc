"""Tools for testing Paydesk and stores built on it: a throwaway PostgreSQL server."""
