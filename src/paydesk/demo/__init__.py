"""`paydesk demo`: the whole order desk on one machine, offline — the web app, the sandbox
standing in for Amazon, a staff user, and orders in every state."""
