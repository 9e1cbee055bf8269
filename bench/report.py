"""The one table: every figure beside its baseline, their ratio, and the target (rich or Markdown)."""

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH_TITLES = {
    "write": "write path",
    "http": "HTTP checkout",
    "reads": "storefront reads",
    "lag": "live lag",
    "growth": "growth",
    "projections": "rebuild",
    "audit": "audit verify",
    "capture": "capture",
}


def number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    size = abs(value)
    if size >= 100:
        text = f"{value:,.0f}"
    elif size >= 10:
        text = f"{value:.1f}"
    elif size >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()


def ratio_text(ratio: float | None) -> str:
    return "—" if ratio is None or math.isnan(ratio) else f"{ratio:.2f}×"


def met_text(met: bool | None, *, markup: bool = True) -> str:
    if met is None:
        return "—"
    if not markup:
        return "met" if met else "**not met**"
    return "[green]met[/]" if met else "[red]not met[/]"


def _rows(figures: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            BENCH_TITLES.get(f["bench"], f["bench"]),
            f["name"],
            number(f["value"], f["unit"]),
            f["baseline"] or "—",
            number(f["baseline_value"], f.get("baseline_unit") or f["unit"])
            if f["baseline"]
            else "—",
            ratio_text(f["ratio"]),
            f["target"] or "—",
        ]
        for f in figures
    ]


def table(figures: Sequence[dict[str, Any]], *, title: str, notes: bool = True) -> Table:
    out = Table(title=title, show_lines=False)
    for column in ("bench", "figure", "median", "baseline (same run)", "baseline", "ratio"):
        out.add_column(
            column, justify="right" if column in ("median", "baseline", "ratio") else "left"
        )
    out.add_column("target")
    out.add_column("")
    if notes:
        out.add_column("note", max_width=60)
    for f, row in zip(figures, _rows(figures), strict=True):
        cells = [*row, met_text(f["met"])]
        if notes:
            cells.append(f.get("note", ""))
        out.add_row(*cells)
    return out


def print_table(figures: Sequence[dict[str, Any]], *, title: str, width: int = 200) -> None:
    Console(width=width).print(table(figures, title=title))


def markdown(figures: Sequence[dict[str, Any]]) -> str:
    """The same table as Markdown (for the README); notes go below it, numbered."""
    head = ["bench", "figure", "median", "baseline (same run)", "baseline", "ratio", "target", ""]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    footnotes = []
    for f, row in zip(figures, _rows(figures), strict=True):
        name = row[1]
        if f.get("note"):
            footnotes.append(f["note"])
            name += f" [{len(footnotes)}]"
        cells = [row[0], name, *row[2:], met_text(f["met"], markup=False)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines += [f"{n}. {note}" for n, note in enumerate(footnotes, 1)]
    return "\n".join(lines) + "\n"
