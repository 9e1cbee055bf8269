"""Benchmarks (not part of the installed package): run with ``python -m bench.<name>``."""
