"""Charts drawn on the server as SVG: stacked bars per day and plain horizontal bars.

SVG written here needs no script and no network (users and the machine may be offline), prints and screenshots as
it shows, and reads the same in every browser. Every label goes through ``escape``: topic, publisher and source
names come from the web.
"""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup, escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")
STATUS_COLOURS = {"ok": "#59a14f", "not_modified": "#76b7b2", "error": "#e15759", "running": "#edc948"}
_WIDTH, _HEIGHT, _LEFT, _BOTTOM, _TOP = 760, 220, 40, 34, 8


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def stacked_bars(title: str, days: list[date], series: dict[str, dict[str, int]],
                 colours: dict[str, str] | None = None) -> Markup:
    """One bar per day, one coloured segment per series (``series[name][iso day] = count``), a legend below.

    Each segment carries a ``<title>`` (shown on hover) naming the day, the series and the count."""
    names = list(series)
    colours = colours or {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    totals = [sum(series[name].get(day.isoformat(), 0) for name in names) for day in days]
    top = _nice_top(max(totals, default=0))
    plot_w, plot_h = _WIDTH - _LEFT - 10, _HEIGHT - _BOTTOM - _TOP
    step = plot_w / max(len(days), 1)
    bar_w = max(step * 0.8, 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {_HEIGHT + 24 * _legend_rows(names)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    parts += _axis(top, plot_h)
    for index, day in enumerate(days):
        x = _LEFT + index * step + (step - bar_w) / 2
        y = _TOP + plot_h
        for name in names:
            count = series[name].get(day.isoformat(), 0)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{colours.get(name, "#999")}"><title>{day.isoformat()} · {escape(name)}: '
                         f'{count}</title></rect>')
    parts += _day_labels(days, step)
    parts += _legend(names, colours, _HEIGHT + 4)
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(title: str, rows: list[tuple[str, int, str]], colour: str = "#e15759") -> Markup:
    """One bar per ``(label, value, hover text)``, longest first as given."""
    height = 24 * len(rows) + 10
    top = max((value for _, value, _ in rows), default=0) or 1
    label_w = 220
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{escape(title)}</title>']
    for index, (label, value, hover) in enumerate(rows):
        y = 5 + index * 24
        w = (_WIDTH - label_w - 60) * value / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{escape(label)}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="18" fill="{colour}">'
                     f'<title>{escape(hover)}</title></rect>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_top(value: int) -> int:
    """The axis top: the highest bar rounded up to 2, 4, 6, 10, 20, 40, 60, 100... so its half is a round number."""
    scale = 1
    while True:
        for step in (2, 4, 6, 10):
            if value <= step * scale:
                return step * scale
        scale *= 10


def _axis(top: int, plot_h: float) -> list[str]:
    parts = []
    for fraction in (0, 0.5, 1):
        y = _TOP + plot_h * (1 - fraction)
        value = int(top * fraction)
        parts.append(f'<line x1="{_LEFT}" x2="{_WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{value}</text>')
    return parts


def _day_labels(days: list[date], step: float) -> list[str]:
    every = max(1, round(len(days) / 8))
    return [f'<text x="{_LEFT + i * step + step / 2:.1f}" y="{_HEIGHT - _BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11">{day.strftime("%m-%d")}</text>'
            for i, day in enumerate(days) if i % every == 0 or i == len(days) - 1]


def _legend_rows(names: list[str]) -> int:
    return (len(names) + 3) // 4


def _legend(names: list[str], colours: dict[str, str], y0: float) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        x = _LEFT + (index % 4) * 180
        y = y0 + (index // 4) * 24
        shown = name if len(name) <= 22 else name[:21] + "…"
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colours.get(name, "#999")}"/>'
                     f'<text x="{x + 16}" y="{y + 11}" font-size="12">{escape(shown)}</text>')
    return parts
