"""The read API (GET only) over views, and audit replay."""
