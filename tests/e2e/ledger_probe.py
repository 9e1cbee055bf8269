"""Reading the ledger's own state from end-to-end tests while the worker runs beside them."""

from __future__ import annotations

import time

from commands.process_manager import FOLLOWER
from tests.e2e.conftest import LiveServer

SETTLE_SECONDS = 10.0


def settled_head(server: LiveServer) -> int:
    """The ledger's head once the process manager has followed it.

    The live server's worker writes events of its own (a capture is scheduled after an
    authorization), so "nothing was written" is only meaningful from a settled head.
    """
    ledger = server.container.ledger
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        # The position first, then the head. The process manager saves a page's
        # decisions together with the page's last position, which is the head as it
        # was just before: read the other way round, a head read before that commit
        # and a position read after it would look settled while the decision is new.
        followed = ledger.followed_up_to(FOLLOWER)
        head = ledger.head
        if head == followed:
            return head
        assert time.monotonic() < deadline, "the process manager did not catch up"
        time.sleep(0.02)
