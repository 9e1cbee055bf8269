"""The command API: HTTP routers that run the ledger's use cases."""
