"""Infrastructure: settings, storage and vendor adapters, the composition root, the app, the CLI.

Nothing in this package does I/O at import time.
"""
