"""Trend charts drawn as inline SVG (no plotting dependency): one line per series over time.

Only numbers and escaped labels reach the markup, so the result is safe to embed as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 180
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 12, 12, 28
COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea")

Point = tuple[datetime, float]


def _scale(points: Sequence[Point], t0: float, t1: float, top: float) -> list[tuple[float, float]]:
    span_t = (t1 - t0) or 1.0
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    return [
        (
            PAD_LEFT + (at.timestamp() - t0) / span_t * inner_w,
            PAD_TOP + inner_h - (value / top) * inner_h,
        )
        for at, value in points
    ]


def _axes(top: float, t0: datetime, t1: datetime, unit: str) -> list[str]:
    bottom = HEIGHT - PAD_BOTTOM
    return [
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{bottom}" stroke="#888"/>',
        f'<line x1="{PAD_LEFT}" y1="{bottom}" x2="{WIDTH - PAD_RIGHT}" y2="{bottom}" '
        'stroke="#888"/>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 10}" text-anchor="end" font-size="10">'
        f"{top:.1f} {escape(unit)}</text>",
        f'<text x="{PAD_LEFT - 4}" y="{bottom}" text-anchor="end" font-size="10">0</text>',
        f'<text x="{PAD_LEFT}" y="{HEIGHT - 8}" font-size="10">{t0:%Y-%m-%d %H:%M}</text>',
        f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end" font-size="10">'
        f"{t1:%Y-%m-%d %H:%M} UTC</text>",
    ]


def line_chart(title: str, series: dict[str, Sequence[Point]], unit: str = "ms") -> SafeString:
    """An SVG line chart of ``series`` (name → points), sharing one time axis and one scale."""
    points = [point for values in series.values() for point in values]
    if not points:
        return mark_safe(f"<p>{escape(title)}: no data.</p>")  # noqa: S308 (escaped)
    t0 = min(at for at, _ in points)
    t1 = max(at for at, _ in points)
    top = max(value for _, value in points) or 1.0
    parts = _axes(top, t0, t1, unit)
    for index, (name, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        xy = _scale(values, t0.timestamp(), t1.timestamp(), top)
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>'
        )
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>' for x, y in xy)
        parts.append(
            f'<text x="{PAD_LEFT + 8 + index * 90}" y="{PAD_TOP + 10}" font-size="11" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )
    return mark_safe(svg)  # noqa: S308 (numbers and escaped text only)
