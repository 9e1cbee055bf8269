"""Application services over the event store: the write side of the ledger."""
