"""python -m tests.simulation --seed N --operations N --minutes M [--replay FILE]

Runs the simulation against DATABASE_URL's PostgreSQL (a throwaway database), prints a
progress bar and a summary table; on a failure prints the seed and the shortest operation
log that still fails (written to a file ``--replay`` reads), and exits 1.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

from tests.simulation.model import Model, Op, parse_op
from tests.simulation.report import progress_bar, summary
from tests.simulation.run import execute, from_seed, replaying, shrink


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh one")
    parser.add_argument("--operations", type=int, default=None)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--replay", type=Path, default=None, help="an operation log to run")
    parser.add_argument("--shrink-minutes", type=float, default=10.0)
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("DATABASE_URL must name a PostgreSQL server on 127.0.0.1", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    if args.operations is None and args.minutes is None and args.replay is None:
        args.operations = 300
    print(f"simulation seed {seed}", flush=True)
    started = time.monotonic()
    if args.replay is not None:
        log = [parse_op(t) for t in args.replay.read_text().split()]
        outcome = execute(database_url, seed, replaying(log), progress_bar(len(log), None))
    else:
        outcome = execute(
            database_url,
            seed,
            from_seed(seed, args.operations, args.minutes),
            progress_bar(args.operations, args.minutes),
        )
    print(file=sys.stderr)
    print(summary(outcome.model, len(outcome.log), time.monotonic() - started))
    if outcome.ok:
        return 0
    print(f"\nFAILED (seed {seed}) after {len(outcome.log)} operations:\n{outcome.failure}")
    shortest = shrink(database_url, seed, outcome.log, args.shrink_minutes * 60)
    print_failure(seed, shortest)
    return 1


def print_failure(seed: int, log: list[Op]) -> None:
    path = Path(f"simulation-{seed}.ops")
    path.write_text(" ".join(str(op) for op in log) + "\n")
    print(f"shortest failing log ({len(log)} operations), seed {seed}:")
    print("  " + " ".join(str(op) for op in log))
    print(f"replay: python -m tests.simulation --seed {seed} --replay {path}")


__all__ = ["Model", "main"]

if __name__ == "__main__":
    sys.exit(main())
