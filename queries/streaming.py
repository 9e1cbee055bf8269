"""For reads that stream the whole log (``audit verify``, view rebuilds)."""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_passes = 0  # passes running now, in any thread
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often for a while.

    A pass over the log allocates millions of short-lived objects (events, rows),
    freed by reference counting, while it keeps long-lived state (a verify's state
    per order). Collecting every 700 allocations cost a rebuild about a tenth of its
    time, and made ``audit verify`` slower per event the more orders it holds
    (8 -> 15 us per event from 10^4 to 10^6 events; 9-10 us at both with this).

    The thresholds are the process's: the first pass to start raises them and the
    last to end puts them back, so passes that overlap (in threads, or nested) never
    leave them raised.
    """
    global _passes, _saved
    with _lock:
        if _passes == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], 100_000), *_saved[1:])
        _passes += 1
    try:
        yield
    finally:
        with _lock:
            _passes -= 1
            if _passes == 0:
                gc.set_threshold(*_saved)
