"""The customer's access token for an order.

Derived from a server-side key and the order id, so whichever trigger placed the
order (webhook or storefront), ``complete`` can hand the same token to the
customer; only its hash is kept in the order's events.
"""

import base64
import hashlib
import hmac
from uuid import UUID


def access_token_for(key: bytes, order_id: UUID) -> str:
    digest = hmac.new(key, b"order-token:" + order_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, expected_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), expected_hash)
