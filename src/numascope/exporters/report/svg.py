"""Line charts as inline SVG: remote share (0..100%) over the capture's seconds.

Hand-written SVG keeps the HTML report one file with no scripts or fonts to
fetch, so it opens the same on an air-gapped laptop as in a browser.
"""

from __future__ import annotations

from html import escape

from numascope.exporters.report.model import Series

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 170, 12, 28
PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def _segments(points: tuple[tuple[float, float | None], ...]) -> list[list[tuple[float, float]]]:
    # A gap (no traffic in that interval) breaks the line rather than drawing 0%.
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in points:
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((t, v))
    return [r for r in runs if r]


def line_chart(title: str, series: tuple[Series, ...]) -> str:
    """An SVG element with one line per series (a dot where a run is one point)."""
    span = max((t for s in series for t, _ in s.points), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + plot_w * t / span

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#999"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{tick:.0%}</text>"
        )
    parts.append(
        f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="11">0 s</text>'
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">'
        f"{span:.0f} s</text>"
    )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        for run in _segments(s.points):
            if len(run) == 1:
                t, v = run[0]
                parts.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>')
            else:
                coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
                parts.append(
                    f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'
                )
        ly = TOP + 14 + 16 * i
        parts.append(
            f'<rect x="{WIDTH - RIGHT + 10}" y="{ly - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{WIDTH - RIGHT + 26}" y="{ly}" font-size="11">{escape(s.label[:24])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
