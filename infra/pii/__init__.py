"""Personal data in the ledger: encrypted per person, erasable by destroying a key."""
