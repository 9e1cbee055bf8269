"""A shop's life, simulated: a seeded random run of operations and faults, checked by an oracle.

``python -m tests.simulation --seed N --operations N --minutes M`` (``make simulate``).
"""
