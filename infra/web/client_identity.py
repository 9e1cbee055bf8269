"""Who is calling: the real client address behind trusted proxies, and whom limits count.

``X-Forwarded-For`` is believed only from a peer in ``TRUSTED_PROXIES`` (CIDRs; empty by
default, so not even loopback is trusted). The client is then the right-most address in
the header that is not itself a trusted proxy: everything left of it was written by the
client and may be forged. ``scope["client"]`` is rewritten to that address, so the
request log, the rate limits and the app all see the same client; the TCP peer stays
in ``scope[PEER]``.

Run uvicorn with ``proxy_headers=False`` (``orderledger serve`` and ``dev`` do, see
:data:`UVICORN_OPTIONS`): uvicorn's own default trusts forwarded headers from
127.0.0.1, which would let a local proxy's caller choose its address.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

from infra.web.asgi import ASGIApp, Receive, Scope, Send

PEER = "orderledger.peer"  # the TCP peer's address, whatever the forwarded headers say
CALLER = "orderledger.caller"  # the Caller the limits counted (set by the rate limit)

# What `orderledger serve` / `dev` hand to uvicorn: forwarded headers are ours to judge.
UVICORN_OPTIONS: dict[str, Any] = {"proxy_headers": False, "forwarded_allow_ips": ""}


class TrustedProxies:
    def __init__(self, cidrs: Iterable[str]) -> None:
        self._networks = [ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip()]

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __contains__(self, address: object) -> bool:
        parsed = _parse(str(address))
        return parsed is not None and any(
            parsed.version == net.version and parsed in net for net in self._networks
        )


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.split(":", 1)[0]
    try:
        return ip_address(text)
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str | None, trusted: TrustedProxies) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy that says otherwise."""
    if not forwarded_for or peer not in trusted:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            # Garbage is the client's own writing: the last proxy's peer is all we know.
            return peer
        if hop not in trusted:
            return str(parsed)
    return str(_parse(hops[0])) if hops else peer


class ClientAddress:
    """Rewrites ``scope["client"]`` to the real client (outermost middleware)."""

    def __init__(self, app: ASGIApp, trusted: Callable[[], TrustedProxies]) -> None:
        self.app = app
        self._trusted = trusted
        self._cached: TrustedProxies | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            if self._cached is None:
                self._cached = self._trusted()
            peer, port = scope.get("client") or ("unknown", 0)
            scope[PEER] = peer
            forwarded = _joined(scope, b"x-forwarded-for")
            client = client_address(peer, forwarded, self._cached)
            if client != peer:
                scope["client"] = (client, 0)
                proto = _joined(scope, b"x-forwarded-proto")
                if proto and proto.split(",")[-1].strip() in ("http", "https"):
                    scope["scheme"] = proto.split(",")[-1].strip()
            else:
                scope["client"] = (peer, port)
        await self.app(scope, receive, send)


def _joined(scope: Scope, name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name]
    return ",".join(values) if values else None


@dataclass(frozen=True)
class Caller:
    """Whom a rate limit counts: ``key`` names the bucket.

    A "storefront" caller (recognised by a credential) gets RATE_LIMIT_STOREFRONT_FACTOR
    times the per-client allowances; a "client" is an address.
    """

    key: str
    kind: str = "client"


# A credential-based identity: the caller it proves, or None when the request has none.
# #16's publishable keys plug in here (see Identities.recognise).
CredentialHook = Callable[[Scope], Awaitable[Caller | None]]


class Identities:
    """The caller of a request: the first credential hook that knows it, else its address.

    A storefront's server creates carts for every shopper from one address; once it is
    recognised by its credential (the publishable key) it is counted on its own, with
    ``RATE_LIMIT_STOREFRONT_FACTOR`` times the per-client allowances. The hook must
    verify the credential (a forged key must not earn the larger allowance) and should
    answer from a cache: it runs before every limited write.
    """

    def __init__(self) -> None:
        self._hooks: list[CredentialHook] = []

    def recognise(self, hook: CredentialHook) -> None:
        self._hooks.append(hook)

    async def of(self, scope: Scope) -> Caller:
        for hook in self._hooks:
            caller = await hook(scope)
            if caller is not None:
                return caller
        return Caller(f"ip:{address_key((scope.get('client') or ('unknown', 0))[0])}")


def address_key(address: str) -> str:
    """An IPv4 address as it is; an IPv6 one by its /64 (one subscriber holds a whole /64)."""
    parsed = _parse(address)
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is None:
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed.ipv4_mapped if isinstance(parsed, IPv6Address) else parsed or address)
