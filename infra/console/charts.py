"""The money timeline of an order as inline SVG, drawn on the server (no script, no build).

Three step lines (authorized, captured, refunded) over the order's money movements from the
audit replay; every movement is one step, in time order, labelled with its time.
"""

from markupsafe import Markup, escape

from domain.money import Money
from queries.audit.replay import OrderHistory

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 50, 20, 50
SERIES = (  # (name, colour, width): a wide pale band under the lines where they meet
    ("authorized", "#1f77b4", 7),
    ("captured", "#2ca02c", 2.5),
    ("refunded", "#d62728", 2.5),
)


def _label(amount: int, currency: str) -> str:
    return Money(amount, currency).to_major() if currency else str(amount)


def money_timeline(history: OrderHistory) -> Markup:
    """An ``<svg>`` of the running totals after each money movement (empty if none)."""
    steps = [entry for entry in history.entries if entry.movement is not None]
    if not steps:
        return Markup("")
    currency = history.currency
    top = max(max(e.running.authorized, e.running.captured, e.running.refunded) for e in steps)
    top = max(top, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(len(steps) - 1, 1)

    def x(i: int) -> float:
        return LEFT + plot_w * i / span if len(steps) > 1 else LEFT + plot_w / 2

    def y(amount: int) -> float:
        return TOP + plot_h * (1 - amount / top)

    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="timeline-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="timeline-title">Money timeline: authorized, captured and refunded '
        f"after each of {len(steps)} movement(s), in {escape(currency.upper())}</title>",
    ]
    for fraction in (0, 0.5, 1):
        level = round(top * fraction)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y(level) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{escape(_label(level, currency))}</text>"
        )
    for name, colour, width in SERIES:
        points: list[str] = []
        for i, entry in enumerate(steps):
            value = getattr(entry.running, name)
            if points:  # a step: hold the previous value until this movement
                points.append(f"{x(i):.1f},{points[-1].split(',')[1]}")
            points.append(f"{x(i):.1f},{y(value):.1f}")
        parts.append(
            f'<polyline class="series-{name}" fill="none" stroke="{colour}" stroke-width="{width}" '
            f'stroke-opacity="{0.45 if width > 3 else 1}" points="{" ".join(points)}"/>'
        )
        for i, entry in enumerate(steps):
            value = getattr(entry.running, name)
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(name)} {escape(_label(value, currency))} after "
                f"{escape(entry.movement.kind if entry.movement else '')}</title></circle>"
            )
    for i, entry in enumerate(steps):
        kind = entry.movement.kind if entry.movement else ""
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11">{escape(kind)}</text>'
            f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 30}" text-anchor="middle" '
            f'font-size="10" fill="#555">{entry.at.strftime("%H:%M:%S")}</text>'
        )
    for n, (name, colour, _) in enumerate(SERIES):
        parts.append(
            f'<rect x="{LEFT + n * 120}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{LEFT + n * 120 + 14}" y="{HEIGHT - 5}" font-size="11">{name}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
