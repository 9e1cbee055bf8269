"""HTTP edge concerns as ASGI middleware: logs, metrics, CORS, limits, idempotency."""
