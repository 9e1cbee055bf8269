"""What every benchmark of ``make bench`` shares: its database, the machine, medians, figures.

A *figure* is one measured value next to the baseline measured in the same run
(same process, same store, same server settings), each the median of repeated
runs, with their ratio and the target it is held to (if any). Every benchmark
writes its figures to ``bench/results-<name>.json``; ``bench.all`` merges them.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql
from rich.console import Console

from infra.database import conninfo, with_database

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Our own Redis database index: a benchmark may empty it, never any other.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"

console = Console(stderr=True)


def server_url() -> str:
    """The PostgreSQL server (DATABASE_URL's, else the local one); benches make their own db."""
    return os.environ.get("DATABASE_URL") or DEFAULT_URL


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL


def results_path(name: str) -> Path:
    return BENCH / f"results-{name}.json"


def drop_database(server: str, name: str) -> None:
    """Drop the benchmark's database ``name`` on ``server`` (if it is there)."""
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def recreate_database(server: str, name: str) -> str:
    """The benchmark's database ``name`` on ``server``, dropped and created empty; its URL."""
    drop_database(server, name)
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server, name)


@contextmanager
def bench_database(name: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database ``orderledger_bench_<name>`` (dropped afterwards); yields its URL."""
    # BENCH_DB_SUFFIX keeps benchmarks run side by side on one server apart.
    database = f"orderledger_bench_{name}{os.environ.get('BENCH_DB_SUFFIX', '')}"
    server = server_url()
    url = recreate_database(server, database)
    try:
        yield url
    finally:
        if not keep:
            drop_database(server, database)


# --- statistics ---------------------------------------------------------------------------


def load_arguments(
    prog: str,
    description: str | None,
    *,
    seconds: float,
    repeats: int = 3,
    store_orders: int,
    keep: bool = True,
) -> argparse.ArgumentParser:
    """The arguments every HTTP load benchmark takes: the driver's clients, the measured
    seconds and runs, the orders in the store, and (where it has one) --keep."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--concurrency", type=int, default=16, help="driver workers (16)")
    parser.add_argument(
        "--seconds", type=float, default=seconds, help=f"measured seconds per run ({seconds:g})"
    )
    parser.add_argument(
        "--repeats", type=int, default=repeats, help=f"runs; the median counts ({repeats})"
    )
    parser.add_argument(
        "--store-orders",
        type=int,
        default=store_orders,
        help=f"orders in the store beforehand ({store_orders})",
    )
    if keep:
        parser.add_argument("--keep", action="store_true", help="keep the bench database")
    return parser


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of ``values``; NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


@contextmanager
def phase(what: str) -> Iterator[None]:
    console.log(f"{what} …")
    started = time.perf_counter()
    yield
    console.log(f"{what}: {time.perf_counter() - started:.1f} s")


# --- figures ------------------------------------------------------------------------------


def figure(
    bench: str,
    name: str,
    runs: Sequence[float],
    unit: str,
    *,
    baseline: str | None = None,
    baseline_runs: Sequence[float] = (),
    target: str | None = None,
    met: bool | None = None,
    note: str = "",
    ratio: float | None = None,
) -> dict[str, Any]:
    """One row of the table: the median of ``runs`` beside the median of its baseline's runs.

    ``ratio`` is value / baseline unless given (e.g. when the baseline is a floor).
    """
    value = median(runs)
    base = median(baseline_runs) if baseline_runs else None
    if ratio is None and base:
        ratio = value / base
    return {
        "bench": bench,
        "name": name,
        "value": value,
        "unit": unit,
        "runs": list(runs),
        "baseline": baseline,
        "baseline_value": base,
        "baseline_runs": list(baseline_runs),
        "ratio": ratio,
        "target": target,
        "met": met,
        "note": note,
    }


# --- the machine --------------------------------------------------------------------------


def _meminfo_total() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Where the figures were taken (cores, memory, versions, load when we began)."""
    with psycopg.connect(conninfo(server_url()), autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    postgres = str(row[0]) if row else "?"
    try:
        client = redis.Redis.from_url(redis_url())
        redis_version = str(client.info("server")["redis_version"])
        client.close()
    except redis.RedisError:
        redis_version = "unavailable"
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": round(_meminfo_total() / 2**30, 1),
        "python": sys.version.split()[0],
        "postgres": postgres,
        "redis": redis_version,
        "eventsourcing": version("eventsourcing"),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write_results(
    name: str, host: dict[str, Any], figures: list[dict[str, Any]], **details: Any
) -> Path:
    """``bench/results-<name>.json``: the machine (``machine()`` taken when the bench began),
    the figures and whatever else explains them."""
    path = results_path(name)
    payload = {
        "bench": name,
        "machine": host,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "figures": figures,
        **details,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    console.log(f"figures written to {path.relative_to(ROOT)}")
    return path
