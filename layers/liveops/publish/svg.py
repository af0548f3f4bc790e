"""Small inline SVG charts (line and horizontal bar) for the static dashboard.

Output is plain SVG markup to embed in HTML: no scripts, no style attributes (the page's CSP
allows only its own hashed <style> block; classes carry the colours), every text escaped. Charts
scale with their container through `viewBox`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 600
HEIGHT = 220
# chart text is 17 units high (the page's CSS): about 10 px once a chart shrinks to a phone's width
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 70, 10, 14, 30
SERIES_CLASSES = ("s0", "s1", "s2", "s3", "s4", "s5")
Formatter = Callable[[float], str]
MISSING = "\u2013"  # an en dash: no value


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[str, float | None]]  # (x label, e.g. an ISO day; value or None for a gap)


def number(value: float | None) -> str:
    """Compact human figure: 1234 -> 1.23k, 0.4567 -> 0.457."""
    if value is None or not math.isfinite(value):
        return MISSING
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    if value == int(value):
        return str(int(value))
    return f"{value:.3g}"


def percent(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value * 100:.1f}%"


def _c(value: float) -> str:
    # one decimal is below a pixel at any size the page shows, and keeps the markup small
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(series: Sequence[Series], title: str, fmt: Formatter = number) -> str:
    """Lines over a shared x axis (the union of the series' x labels, in order); a None value
    breaks its line. Returns "" when there is nothing to draw."""
    xs: list[str] = sorted({x for s in series for x, _ in s.points})
    values = [v for s in series for _, v in s.points if v is not None and math.isfinite(v)]
    if not xs or not values:
        return ""
    low, high = min(0.0, min(values)), max(values)
    if high == low:
        high = low + (abs(low) or 1.0)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    index = {x: i for i, x in enumerate(xs)}
    step = plot_w / max(len(xs) - 1, 1)

    def x_of(x: str) -> float:
        return PAD_LEFT + index[x] * step if len(xs) > 1 else PAD_LEFT + plot_w / 2

    def y_of(v: float) -> float:
        return PAD_TOP + plot_h * (1 - (v - low) / (high - low))

    parts = [_open(title), _grid(low, high, y_of, fmt)]
    parts.append(
        f'<text class="ax" x="{PAD_LEFT}" y="{HEIGHT - 8}">{escape(xs[0][:10])}</text>'
        f'<text class="ax" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end">'
        f"{escape(xs[-1][:10])}</text>"
    )
    for number_, s in enumerate(series):
        css = SERIES_CLASSES[number_ % len(SERIES_CLASSES)]
        path: list[str] = []
        pen_up = True
        for x, v in s.points:
            if v is None or not math.isfinite(v):
                pen_up = True
                continue
            path.append(f"{'M' if pen_up else 'L'}{_c(x_of(x))} {_c(y_of(v))}")
            pen_up = False
        if not path:
            continue
        label = escape(s.label)
        if len(path) == 1:  # a single point has no line: draw a dot
            x_, y_ = path[0][1:].split(" ")
            parts.append(
                f'<circle class="{css} dot" cx="{x_}" cy="{y_}" r="3"><title>{label}</title></circle>'
            )
        else:
            parts.append(f'<path class="{css} ln" d="{"".join(path)}"><title>{label}</title></path>')
    parts.append("</svg>")
    return "".join(parts)


def _open(title: str, height: int = HEIGHT) -> str:
    label = escape(title)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{label}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
    )


def _grid(low: float, high: float, y_of: Callable[[float], float], fmt: Formatter) -> str:
    lines = []
    for fraction in (0.0, 0.5, 1.0):
        value = low + (high - low) * fraction
        y = _c(y_of(value))
        lines.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y}" y2="{y}"/>'
            f'<text class="ax" x="{PAD_LEFT - 4}" y="{y}" dy="6" text-anchor="end">'
            f"{escape(fmt(value))}</text>"
        )
    return "".join(lines)


def bar_chart(
    bars: Sequence[tuple[str, float]], title: str, fmt: Formatter = number, note: Sequence[str] = ()
) -> str:
    """Horizontal bars, one row each, labelled with their name and value (`note`: an optional
    second label per bar, e.g. a drop-off). Returns "" when there are no bars."""
    if not bars:
        return ""
    row = 30
    height = row * len(bars) + 6
    label_w = 190
    top = max((value for _, value in bars), default=0.0) or 1.0
    plot_w = WIDTH - label_w - 230  # room for the value and its note after the longest bar
    parts = [_open(title, height)]
    for i, (name, value) in enumerate(bars):
        y = 3 + i * row
        width = max(plot_w * max(value, 0.0) / top, 1.0)
        shown = name if len(name) <= 18 else name[:17] + "…"
        extra = f" {note[i]}" if i < len(note) and note[i] else ""
        parts.append(
            f'<text class="lb" x="{label_w - 6}" y="{y + 21}" text-anchor="end">{escape(shown)}'
            f"<title>{escape(name)}</title></text>"
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{_c(width)}" height="{row - 6}"/>'
            f'<text class="ax" x="{_c(label_w + width + 6)}" y="{y + 21}">{escape(fmt(value) + extra)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
