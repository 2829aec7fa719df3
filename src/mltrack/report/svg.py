"""Tiny inline-SVG plots for the HTML reports: line charts, scatter/strip plots, time axes.

Written by hand rather than pulled from a plotting library so the page stays self-contained
(no CDN, no fonts, no scripts) and small: callers pass at most a few hundred points per plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from mltrack.report.html_base import esc

PALETTE = ("#2f6fdf", "#e0672b", "#2aa876", "#b23ad1", "#d4a017", "#16a2b8", "#c2185b", "#6d7a8c")
W, H = 520, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44


@dataclass
class Axis:
    lo: float
    hi: float
    log: bool = False
    time: bool = False  # values are epoch ms
    categories: Sequence[str] = field(default_factory=tuple)

    def norm(self, value: float) -> float:
        lo, hi, v = self.lo, self.hi, value
        if self.log:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(max(value, 1e-300))
        return 0.5 if hi == lo else (v - lo) / (hi - lo)

    def ticks(self) -> list[tuple[float, str]]:
        if self.categories:
            return [(i, c) for i, c in enumerate(self.categories)]
        if self.log:
            first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            return [(10.0 ** e, f"1e{e}") for e in range(first, last + 1) if self.lo <= 10.0 ** e <= self.hi]
        if self.time:
            return [(v, datetime.fromtimestamp(v / 1000, timezone.utc).strftime("%Y-%m-%d"))
                    for v in _nice_ticks(self.lo, self.hi, 4)]
        return [(v, _fmt(v)) for v in _nice_ticks(self.lo, self.hi, 5)]


def axis_for(values: Sequence[float], *, log: bool = False, time: bool = False, pad: float = 0.05) -> Axis:
    lo, hi = min(values), max(values)
    if log and lo > 0:
        return Axis(lo / 1.3, hi * 1.3, log=True)
    span = (hi - lo) or abs(hi) or 1.0
    return Axis(lo - span * pad, hi + span * pad, time=time)


def category_axis(categories: Sequence[str]) -> Axis:
    return Axis(-0.5, len(categories) - 0.5, categories=tuple(categories))


def _nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.01:
        return f"{value:.2g}"
    return f"{value:.3g}"


class Plot:
    """One SVG chart: `x`/`y` axes, then marks, then `render()`."""

    def __init__(self, x: Axis, y: Axis, *, title: str, x_label: str, y_label: str) -> None:
        self.x, self.y, self.title, self.x_label, self.y_label = x, y, title, x_label, y_label
        self.marks: list[str] = []
        self.legend: list[tuple[str, str]] = []

    def px(self, value: float) -> float:
        return LEFT + self.x.norm(value) * (W - LEFT - RIGHT)

    def py(self, value: float) -> float:
        return H - BOTTOM - self.y.norm(value) * (H - TOP - BOTTOM)

    def line(self, points: Sequence[tuple[float, float]], color: str, label: str | None = None) -> None:
        if not points:
            return
        path = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in points)
        self.marks.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{path}"/>')
        if label:
            self.legend.append((label, color))

    def dots(self, points: Sequence[tuple[float, float]], color: str, *, r: float = 2.6,
             label: str | None = None, opacity: float = 0.65) -> None:
        self.marks.append("".join(
            f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="{r}" fill="{color}" fill-opacity="{opacity}"/>'
            for x, y in points))
        if label:
            self.legend.append((label, color))

    def vline(self, x: float, label: str, color: str = "#9aa3b5") -> None:
        xp = self.px(x)
        self.marks.append(
            f'<line x1="{xp:.1f}" x2="{xp:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="{color}" '
            f'stroke-dasharray="4 3"/><text x="{xp + 3:.1f}" y="{TOP + 10}" font-size="10" fill="#4a5263">'
            f"{esc(label)}</text>")

    def render(self) -> str:
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
                 f'role="img" aria-label="{esc(self.title)}" font-family="system-ui,sans-serif">',
                 f'<rect width="{W}" height="{H}" fill="#fff"/>',
                 f'<text x="{LEFT}" y="16" font-size="13" font-weight="600" fill="#1d2330">{esc(self.title)}</text>']
        for value, text in self.y.ticks():
            yp = self.py(value)
            parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{yp:.1f}" y2="{yp:.1f}" stroke="#eef1f6"/>'
                         f'<text x="{LEFT - 6}" y="{yp + 3:.1f}" font-size="10" text-anchor="end" fill="#5b6478">'
                         f"{esc(text)}</text>")
        for value, text in self.x.ticks():
            xp = self.px(value)
            parts.append(f'<line x1="{xp:.1f}" x2="{xp:.1f}" y1="{H - BOTTOM}" y2="{H - BOTTOM + 4}" stroke="#5b6478"/>'
                         f'<text x="{xp:.1f}" y="{H - BOTTOM + 15}" font-size="10" text-anchor="middle" '
                         f'fill="#5b6478">{esc(text)}</text>')
        parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" '
                     f'fill="none" stroke="#c5ccd8"/>')
        parts.extend(self.marks)
        parts.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" font-size="11" text-anchor="middle" '
                     f'fill="#1d2330">{esc(self.x_label)}</text>')
        parts.append(f'<text transform="translate(14 {(TOP + H - BOTTOM) / 2}) rotate(-90)" font-size="11" '
                     f'text-anchor="middle" fill="#1d2330">{esc(self.y_label)}</text>')
        if self.legend:  # a white box so the legend stays readable over the lines
            parts.append(f'<rect x="{W - RIGHT - 154}" y="{TOP + 1}" width="152" height="{len(self.legend[:8]) * 13 + 4}" '
                         f'fill="#fff" fill-opacity="0.85"/>')
        for index, (label, color) in enumerate(self.legend[:8]):
            y = TOP + 8 + index * 13
            parts.append(f'<rect x="{W - RIGHT - 150}" y="{y - 7}" width="9" height="9" fill="{color}"/>'
                         f'<text x="{W - RIGHT - 137}" y="{y + 1}" font-size="10" fill="#1d2330">{esc(label[:24])}</text>')
        parts.append("</svg>")
        return "".join(parts)
