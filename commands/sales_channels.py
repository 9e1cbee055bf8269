"""Who may use which sales channel: the one place that decides it.

A storefront names its channel in the cart's body. Public channels may be named by
anyone; a channel that is not public (B2B, internal stock) only by a caller whose
credential unlocks it: the Medusa surface passes the channels its publishable key names
as ``ChannelAccess(unlocked=...)``; the native body is anonymous.
"""

from dataclasses import dataclass, field

from commands.catalog import SalesChannel


@dataclass(frozen=True)
class ChannelAccess:
    """The non-public channels the caller's credential opens (none for an anonymous body)."""

    unlocked: frozenset[str] = field(default_factory=frozenset)


ANONYMOUS = ChannelAccess()


def may_use_sales_channel(channel: SalesChannel, access: ChannelAccess = ANONYMOUS) -> bool:
    """Whether this caller may start a cart in ``channel``."""
    return channel.public or channel.id in access.unlocked
