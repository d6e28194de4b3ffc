"""Small charts drawn on the server as inline SVG: no JavaScript, no chart library, readable
without colour (every bar is labelled with its value)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # what is written beside the bar (the value, formatted for people)
    href: str = ""
    tone: str = ""


def horizontal_bars(bars: list[Bar], *, width: int = 560, row: int = 26, label_width: int = 170) -> str:
    """One labelled bar per row, longest = full width."""
    if not bars:
        return '<p class="muted">Nothing yet.</p>'
    top = max((b.value for b in bars), default=0) or 1
    track = width - label_width - 90
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {row * len(bars) + 4}" width="100%" '
        f'aria-label="{escape(", ".join(f"{b.label}: {b.text}" for b in bars))}">'
    ]
    for i, bar in enumerate(bars):
        y = i * row + 2
        length = max(2, round(track * bar.value / top)) if bar.value else 0
        label = escape(bar.label)
        if bar.href:
            label = f'<a href="{escape(bar.href)}">{label}</a>'
        baseline = f"{y + row * 0.65:.1f}"
        parts.append(
            f'<text x="{label_width - 8}" y="{baseline}" text-anchor="end" class="chart-label">{label}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{length}" height="{row - 10}" rx="3" '
            f'class="chart-bar {escape(bar.tone)}"/>'
            f'<text x="{label_width + length + 6}" y="{baseline}" class="chart-value">'
            f"{escape(bar.text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def columns(values: list[tuple[str, float]], *, width: int = 560, height: int = 140) -> str:
    """A column per period (e.g. per day), with the first and last period named below."""
    if not values:
        return '<p class="muted">Nothing yet.</p>'
    top = max(v for _, v in values) or 1
    step = width / len(values)
    plot = height - 22
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="{escape(", ".join(f"{label}: {value:g}" for label, value in values))}">'
    ]
    for i, (label, value) in enumerate(values):
        h = round(plot * value / top) if value else 0
        parts.append(
            f'<rect x="{i * step + 1:.1f}" y="{plot - h}" width="{max(step - 2, 1):.1f}" height="{h}" '
            f'class="chart-bar"><title>{escape(label)}: {value:g}</title></rect>'
        )
    parts.append(f'<text x="0" y="{height - 4}" class="chart-label">{escape(values[0][0])}</text>')
    last = escape(values[-1][0])
    parts.append(f'<text x="{width}" y="{height - 4}" text-anchor="end" class="chart-label">{last}</text>')
    parts.append("</svg>")
    return "".join(parts)
