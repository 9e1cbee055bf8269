"""localstripe with its store indexed by object type, for benchmarks of many objects.

    python -m bench.indexed_localstripe --port N [--parent PID]

localstripe finds every list's members by scanning its whole store, and a charge's
``refunds`` (read by every PaymentIntent it exports) is such a list: each answer
costs time in proportion to everything made so far, and seeding 10,000 captured
PaymentIntents slowed from ~95/s to ~30/s by the 2,000th. Here the store keeps
its objects per type as well, so a list reads only its own type. Answers are the
same, in the same order (insertion order per type, as the scan found them).
"""

import argparse
import os
import socket
import subprocess
import sys
import time
from typing import Any

from infra.stripe_emulator import RunningEmulator, free_port


def index_the_store() -> None:
    from localstripe import resources
    from localstripe.errors import UserError

    by_kind: dict[str, dict[str, Any]] = {}
    store_type = type(resources.store)
    plain_set, plain_del = store_type.__setitem__, store_type.__delitem__

    def setitem(self: Any, key: str, value: Any) -> None:
        plain_set(self, key, value)
        by_kind.setdefault(key.split(":", 1)[0], {})[key] = value

    def delitem(self: Any, key: str) -> None:
        plain_del(self, key)
        by_kind.get(key.split(":", 1)[0], {}).pop(key, None)

    store_type.__setitem__ = setitem
    store_type.__delitem__ = delitem

    def list_all(
        cls: Any, /, url: Any, limit: Any = None, starting_after: Any = None, **kwargs: Any
    ) -> Any:
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
        li = resources.List(url, limit=limit, starting_after=starting_after)
        li._list = list(by_kind.get(cls.object, {}).values())
        return li

    setattr(resources.StripeObject, "_api_list_all", classmethod(list_all))  # noqa: B010


def start(timeout: float = 30.0) -> RunningEmulator:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.indexed_localstripe",
            "--port",
            str(port),
            "--parent",
            str(os.getpid()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return RunningEmulator(process=process, port=port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the indexed localstripe did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int)
    args = parser.parse_args()
    index_the_store()
    from infra.stripe_emulator import serve

    serve(args.port, args.parent)


if __name__ == "__main__":
    main()
