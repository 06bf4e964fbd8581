"""The results chart of a decision: the primary metric's difference from control, day by day.

A small self-contained SVG (no plotting library): one line per variant for the cumulative
estimate, its confidence sequence as a band, and zero. Embedded in the decision's markdown
artifact as a data URI, so the Prefect UI shows it with no file or server behind it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 40
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def trajectory_svg(points: Sequence[dict[str, Any]], *, title: str) -> str:
    """The chart as an SVG document (empty string when there is nothing to draw)."""
    days = sorted({str(p["day"]) for p in points})
    variants = sorted({str(p["variant"]) for p in points})
    if not days:
        return ""
    values = [float(v) for p in points for v in (p["lower"], p["upper"], p["estimate"])] + [0.0]
    low, high = min(values), max(values)
    if high - low < 1e-12:
        high, low = high + 1.0, low - 1.0
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad

    def x(day: str) -> float:
        span = max(1, len(days) - 1)
        return LEFT + (WIDTH - LEFT - RIGHT) * days.index(day) / span

    def y(value: float) -> float:
        return float(TOP + (HEIGHT - TOP - BOTTOM) * (high - value) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{LEFT}" y="16" font-size="13">{_escape(title)}</text>',
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#888" stroke-dasharray="4 3"/>',
    ]
    for tick in (low + pad, 0.0, high - pad):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:+.3g}</text>'
        )
    for day, anchor in ((days[0], "start"), (days[len(days) // 2], "middle"), (days[-1], "end")):
        parts.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - 22}" text-anchor="{anchor}">{day}</text>'
        )
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 6}">difference from control (absolute), with its confidence sequence</text>'
    )
    for index, variant in enumerate(variants):
        colour = COLOURS[index % len(COLOURS)]
        mine = sorted((p for p in points if p["variant"] == variant), key=lambda p: str(p["day"]))
        upper = " ".join(f"{x(str(p['day'])):.1f},{y(p['upper']):.1f}" for p in mine)
        lower = " ".join(f"{x(str(p['day'])):.1f},{y(p['lower']):.1f}" for p in reversed(mine))
        line = " ".join(f"{x(str(p['day'])):.1f},{y(p['estimate']):.1f}" for p in mine)
        parts.append(
            f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.15" stroke="none"/>'
        )
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(
            f'<text x="{WIDTH - RIGHT}" y="{TOP + 14 * (index + 1)}" text-anchor="end" fill="{colour}">{_escape(variant)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def data_uri(svg: str) -> str:
    """The SVG as a ``data:`` URI for a markdown image."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
