"""A progress bar on stderr and the summary table of operations, faults and checks."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from tests.simulation.model import FAULTS, Model

WIDTH = 30


def progress_bar(count: int | None, minutes: float | None) -> Callable[[int, Model], None]:
    started = time.monotonic()

    def show(done: int, model: Model) -> None:
        elapsed = time.monotonic() - started
        if minutes:
            share = min(elapsed / (minutes * 60), 1.0)
        elif count:
            share = done / count
        else:
            share = 0.0
        filled = int(share * WIDTH)
        bar = "#" * filled + "." * (WIDTH - filled)
        faults = sum(model.faults.values())
        line = f"\r[{bar}] {done} ops, {faults} faults, {len(model.orders)} orders, {elapsed:.0f} s"
        print(line, end="", file=sys.stderr, flush=True)

    return show


def summary(model: Model, operations: int, seconds: float) -> str:
    rows = [f"{operations} operations in {seconds:.0f} s, {len(model.orders)} orders placed"]
    rows.append("")
    rows.append(f"{'operation / outcome':<40} {'count':>7}")
    for name, n in sorted(model.outcomes.items()):
        rows.append(f"{name:<40} {n:>7}")
    rows.append("")
    rows.append(f"{'fault':<40} {'count':>7}")
    for name in FAULTS:
        rows.append(f"{name:<40} {model.faults.get(name, 0):>7}")
    rows.append("")
    rows.append(f"{'check (passed)':<40} {'count':>7}")
    for name, n in model.checks.items():
        rows.append(f"{name:<40} {n:>7}")
    return "\n".join(rows)
