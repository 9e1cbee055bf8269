"""Audit of the financial history: replay, verify and export, folded from the events."""
