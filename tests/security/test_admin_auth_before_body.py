"""Finding 8: /admin refuses a missing or wrong key before it reads the body."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import LiveServer
from tests.security.edge_server import edge_server


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    with edge_server(database_url, redis_url) as live:
        yield live


def first_answer_line(server: LiveServer, head: bytes) -> bytes:
    """Send a request head announcing 15 MiB, and none of the body; the status line."""
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as conn:
        conn.sendall(head + b'{"regions": [')
        try:
            return conn.recv(4096).split(b"\r\n", 1)[0]
        except TimeoutError:
            return b"(no answer: the server waits for the body)"


@pytest.mark.parametrize(
    "authorization", [b"", b"Authorization: Bearer olk_0123456789ab_guess\r\n"]
)
def test_an_unauthenticated_upload_is_refused_before_its_body_arrives(
    server: LiveServer, authorization: bytes
) -> None:
    head = (
        b"POST /admin/catalog HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
        b"Content-Length: 15728640\r\n" + authorization + b"\r\n"
    )
    assert first_answer_line(server, head) == b"HTTP/1.1 401 Unauthorized"


def test_an_authenticated_upload_is_read_as_before(server: LiveServer) -> None:
    with server.admin() as admin:
        answer = admin.post("/admin/catalog", json={"regions": []})
    assert answer.status_code == 200, answer.text
