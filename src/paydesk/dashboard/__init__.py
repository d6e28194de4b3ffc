"""The dashboard: where the money stands, and what needs a merchant's attention."""
