"""Charts for the tab pages, drawn as SVG on the server: no script, nothing from elsewhere.

Colours are classes styled in tab.css with Fluent's tokens, so each chart follows the Teams theme (light,
dark, high contrast). Every chart is an image with a name and a description (`role="img"`, `<title>`,
`<desc>`), and the page shows its figures as text next to it as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

SPARK_WIDTH, SPARK_HEIGHT = 120, 28
MATRIX_SIZE, MATRIX_MARGIN = 320, 36


def _svg(width: int, height: int, title: str, description: str, body: str, css: str) -> Markup:
    return Markup(
        f'<svg class="chart {css}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>{body}</svg>"
    )


def sparkline(values: Sequence[float | None], title: str, description: str, top: float | None = None) -> Markup:
    """A line over the months, scaled to `top` or else its own highest value; a month without a figure breaks the
    line."""
    known = [v for v in values if v is not None]
    top = top or max(known, default=0) or 1
    step = (SPARK_WIDTH - 4) / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            segments.append([])
            continue
        x, y = 2 + index * step, SPARK_HEIGHT - 3 - (SPARK_HEIGHT - 6) * value / top
        segments[-1].append(f"{x:.1f},{y:.1f}")
    body = f'<line class="axis" x1="2" y1="{SPARK_HEIGHT - 2}" x2="{SPARK_WIDTH - 2}" y2="{SPARK_HEIGHT - 2}"/>'
    body += "".join(f'<polyline class="line" points="{" ".join(s)}"/>' for s in segments if len(s) > 1)
    body += "".join(
        f'<circle class="dot" cx="{s[0].split(",")[0]}" cy="{s[0].split(",")[1]}" r="1.5"/>'
        for s in segments
        if len(s) == 1
    )
    return _svg(SPARK_WIDTH, SPARK_HEIGHT, title, description, body, "sparkline")


@dataclass(frozen=True)
class MatrixPoint:
    label: str
    attractiveness: float  # 0..1: how attractive the customer is to us
    position: float  # 0..1: how strong we are with it


def portfolio_matrix(points: Sequence[MatrixPoint], title: str, x_label: str, y_label: str) -> Markup:
    """Attractiveness (up) against our position (right), split into four quadrants at the middle."""
    inner = MATRIX_SIZE - 2 * MATRIX_MARGIN
    left, bottom, mid = MATRIX_MARGIN, MATRIX_SIZE - MATRIX_MARGIN, MATRIX_MARGIN + inner / 2
    body = (
        f'<rect class="frame" x="{left}" y="{MATRIX_MARGIN}" width="{inner}" height="{inner}"/>'
        f'<line class="axis" x1="{mid}" y1="{MATRIX_MARGIN}" x2="{mid}" y2="{bottom}"/>'
        f'<line class="axis" x1="{left}" y1="{mid}" x2="{left + inner}" y2="{mid}"/>'
        f'<text class="label" x="{mid}" y="{MATRIX_SIZE - 10}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="label" x="12" y="{mid}" text-anchor="middle" transform="rotate(-90 12 {mid})">'
        f"{escape(y_label)}</text>"
    )
    described = []
    for point in points:
        x = left + inner * min(max(point.position, 0.0), 1.0)
        y = bottom - inner * min(max(point.attractiveness, 0.0), 1.0)
        body += f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="4"><title>{escape(point.label)}</title></circle>'
        described.append(f"{point.label}: {x_label} {point.position:.0%}, {y_label} {point.attractiveness:.0%}")
    return _svg(MATRIX_SIZE, MATRIX_SIZE, title, "; ".join(described), body, "matrix")
