"""The order ledger's domain model: aggregates, their events, value objects, errors.

Pure: standard library and ``eventsourcing.domain`` only. No clock, no I/O.
"""
