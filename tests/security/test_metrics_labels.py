"""Finding 1: made-up HTTP methods must not become metric labels; /metrics is not public."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.stripe_emulator import free_port
from tests.e2e.conftest import LiveServer
from tests.security.edge_server import edge_server


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    with edge_server(database_url, redis_url) as live:
        yield live


def request_series(text: str) -> set[str]:
    """The label sets of the request counter."""
    prefix = "orderledger_http_requests_total{"
    return {line.split("}")[0] for line in text.splitlines() if line.startswith(prefix)}


def test_made_up_methods_add_no_series_to_metrics(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        before = request_series(client.get("/metrics").text)
        for n in range(60):
            client.request(f"X{n:02d}{'A' * 500}", "/health")
            client.request(f"Y{n:02d}", f"/no/such/path/{n}")
        after = client.get("/metrics").text
    assert "X00" not in after and "Y00" not in after
    assert 'method="other"' in after
    # 120 distinct methods on 61 paths: a few series (other × route × status), not 120.
    new = request_series(after) - before
    assert 1 <= len(new) <= 4, new
    assert 'route="unmatched"' in after and "/no/such/path" not in after


def test_metrics_answer_loopback_only_by_default_and_never_through_a_proxy(
    server: LiveServer,
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        direct = client.get("/metrics")
        proxied = client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert direct.status_code == 200
    assert proxied.status_code == 403 and proxied.json()["error"] == "MetricsNotExposed"
    assert "orderledger_http" not in proxied.text


def test_metrics_behind_a_token_want_that_token(database_url: str, redis_url: str) -> None:
    with (
        edge_server(database_url, redis_url, metrics_token="scrape-me-0123456789") as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
    ):
        anonymous = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        good = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
    assert anonymous.status_code == 401 and wrong.status_code == 401
    assert good.status_code == 200 and "orderledger_http_requests_total" in good.text


def test_metrics_on_their_own_port_leave_the_api_port(database_url: str, redis_url: str) -> None:
    port = free_port()
    with edge_server(database_url, redis_url, metrics_port=port) as live:
        with httpx.Client(base_url=live.url, timeout=30) as client:
            client.get("/health")
            on_api = client.get("/metrics")
        on_own_port = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
    assert on_api.status_code == 404
    assert on_own_port.status_code == 200
    assert 'orderledger_http_requests_total{method="GET",route="/health"' in on_own_port.text
