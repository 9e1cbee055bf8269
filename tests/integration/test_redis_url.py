from __future__ import annotations

import pytest
import redis

pytestmark = pytest.mark.integration


def test_session_redis_is_database_15_and_starts_empty(redis_url: str) -> None:
    assert redis_url.endswith("/15")
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("orderledger:fixture-check", "1", ex=5)
        assert client.get("orderledger:fixture-check") == b"1"
    finally:
        client.delete("orderledger:fixture-check")
        client.close()
