"""Every benchmark, one after the other, in one table: ``make bench``.

    python -m bench.all [--only write,http,...] [--render] [--markdown]

Runs each benchmark as its own process (``python -m bench.<module>``; each also
runs alone with ``make bench-<name>``), then merges the ``bench/results-*.json``
they wrote during this run into ``bench/results.json``: the machine, how each
benchmark went, and every figure with its baseline (measured in the same run),
their ratio and target. A benchmark that failed or wrote nothing is reported as
such, never filled in from an older file. ``--render`` prints the table of the
last ``bench/results.json`` again without running anything; ``--markdown`` prints
it as Markdown (as in the README).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import BENCH, ROOT, console, figure, machine, results_path
from bench.report import markdown, print_table

RESULTS = BENCH / "results.json"
# name → (module, extra arguments, longest it may take in seconds)
BENCHES: dict[str, tuple[str, list[str], int]] = {
    "write": ("bench.write_path", [], 600),
    "http": ("bench.http_checkout", [], 900),
    "reads": ("bench.reads", [], 900),
    "lag": ("bench.lag", [], 900),
    "growth": ("bench.growth", [], 1_800),
    "projections": ("bench.projections", [], 1_800),
    "audit": ("bench.audit", ["--output", str(results_path("audit"))], 1_800),
    "capture": ("bench.capture", [], 900),
    "console": ("bench.console", [], 600),
    "reconcile": ("bench.reconcile", [], 900),
}


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.all", description=__doc__)
    parser.add_argument(
        "--only",
        type=lambda text: text.split(","),
        default=list(BENCHES),
        help=f"comma-separated subset of {','.join(BENCHES)}",
    )
    parser.add_argument("--render", action="store_true", help="print the last results again")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    return parser.parse_args(argv)


# --- the figures of the benchmarks that keep their own JSON shape ---------------------------


def _projections(data: dict[str, Any]) -> list[dict[str, Any]]:
    s = data["summary"]
    store = data["store"]
    same = s["rebuild_rate_per_view"]["storefront_orders"]
    check = data.get("verify", {})
    equal = "" if not check else "; rebuilt == built live" if check["equal"] else "; REBUILT ≠ LIVE"
    where = f"{store['events']:,} events, one run (bench.projections){equal}"
    return [
        figure(
            "projections",
            "rebuild storefront_orders",
            [same],
            "ev/s",
            baseline="eventsourcing ProjectionRunner, same view, same log",
            baseline_runs=[s["stock_runner_rate"]],
            target=f"ratio ≥ {s['target_rebuild_vs_stock']:g}",
            met=s["met_rebuild_vs_stock"],
            note=where,
        ),
        figure(
            "projections",
            "rebuild all views, one pass",
            [s["rebuild_rate_all_views_one_pass"]],
            "ev/s",
            baseline="raw read + decode of the log",
            baseline_runs=[s["raw_decode_rate"]],
            target=f"ratio ≥ {s['target_rebuild_vs_raw_decode']:g}",
            met=s["met_rebuild_vs_raw_decode"],
            note=where,
        ),
    ]


def _audit(data: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.audit import TARGET

    run = data["runs"][-1]
    raw, verify = run["raw"], run["verify"]
    events = verify["events"]
    rate, base = events / verify["seconds"], events / raw["raw_seconds"]
    return [
        figure(
            "audit",
            "audit verify",
            [rate],
            "ev/s",
            baseline="raw read + decode of the log",
            baseline_runs=[base],
            target=f"ratio ≥ {TARGET:g}",
            met=rate / base >= TARGET,
            note=f"{events:,} events, best of runs (bench.audit); "
            f"{verify['violations']} violations; peak RSS {verify['peak_rss'] / 2**20:,.0f} MiB",
        )
    ]


def _capture(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [r for r in data["summary"] if r["figure"] == "p99"]
    figures = []
    for row in rows:
        if row["path"] != "Redis timers":
            continue
        regime = row["run"].rsplit(" ", 1)[0]
        sweeper = next(r for r in rows if r["run"] == f"{regime} sweeper")
        figures.append(
            figure(
                "capture",
                f"due → captured p99, {row['regime']}",
                [row["seconds"]],
                "s",
                baseline=f"{sweeper['path']}, same orders",
                baseline_runs=[sweeper["seconds"]],
                target=f"≤ {row['target']:g} s",
                met=row["ok"],
                note=f"one run (bench.capture); sweeper-only target ≤ {sweeper['target']:g} s: "
                f"{'met' if sweeper['ok'] else 'not met'}",
            )
        )
    return figures


ADAPTERS = {"projections": _projections, "audit": _audit, "capture": _capture}


def _figures_of(name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    if name in ADAPTERS:
        return ADAPTERS[name](data)
    figures: list[dict[str, Any]] = data["figures"]
    return figures


# --- the run --------------------------------------------------------------------------------


def _run(name: str) -> dict[str, Any]:
    module, extra, timeout = BENCHES[name]
    path = results_path(name)
    before = path.stat().st_mtime if path.exists() else None
    console.rule(f"[bold]{name}[/]: python -m {module}")
    started = time.perf_counter()
    try:
        code = subprocess.run(
            [sys.executable, "-m", module, *extra], cwd=ROOT, timeout=timeout
        ).returncode
    except subprocess.TimeoutExpired:
        code = -1
    outcome: dict[str, Any] = {
        "module": module,
        "exit_code": code,
        "seconds": round(time.perf_counter() - started, 1),
        "figures": [],
    }
    fresh = path.exists() and (before is None or path.stat().st_mtime > before)
    if not fresh:
        outcome["error"] = "wrote no results" if code == 0 else f"failed (exit {code})"
        return outcome
    if code != 0:
        outcome["warning"] = f"exited {code} after writing its figures (see its output above)"
    try:
        outcome["figures"] = _figures_of(name, json.loads(path.read_text()))
    except (KeyError, ValueError, StopIteration) as error:
        outcome["error"] = f"unreadable {path.name}: {error!r}"
    return outcome


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if not args.render:
        unknown = set(args.only) - set(BENCHES)
        if unknown:
            raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))}")
        host = machine()
        started = time.perf_counter()
        outcomes = {name: _run(name) for name in BENCHES if name in args.only}
        merged = {
            "machine": host,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "total_seconds": round(time.perf_counter() - started, 1),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "benches": {
                name: {k: v for k, v in o.items() if k != "figures"} for name, o in outcomes.items()
            },
            "figures": [f for o in outcomes.values() for f in o["figures"]],
        }
        RESULTS.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    merged = json.loads(Path(RESULTS).read_text())
    host = merged["machine"]
    title = (
        f"orderledger benchmarks — {host['cores']} cores ({host['cpu']}), "
        f"{host['memory_gib']} GiB, Python {host['python']}, PostgreSQL {host['postgres']}, "
        f"Redis {host['redis']}, {host['date'][:10]}"
    )
    if args.markdown:
        print(markdown(merged["figures"]))
    else:
        print_table(merged["figures"], title=title)
    for name, bench in merged["benches"].items():
        if "error" in bench:
            console.log(f"[red]{name}: {bench['error']}[/]")
        elif "warning" in bench:
            console.log(f"[yellow]{name}: {bench['warning']}[/]")
    console.log(f"all benchmarks: {merged['total_seconds']:.0f} s; {RESULTS.relative_to(ROOT)}")
    return 1 if any("error" in b for b in merged["benches"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
