"""Plotly figures from the report's rows (``query.run``), one function per figure.

Pure: rows in, ``plotly.graph_objects.Figure`` out (or None when there is nothing to
draw, so the page shows a note instead of an empty chart). Plotly because its HTML
carries plotly.js inline (the page opens with no network) and the same figure object
also renders to PNG (kaleido), so the page and the images cannot drift apart.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from nunis_ingest.usecases.reporting.figures import ZONE_UPPER_PCT

Rows = list[dict[str, Any]]
PALETTE = qualitative.Plotly
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LOWER = (0, *ZONE_UPPER_PCT[:-1])
ZONE_NAMES = (
    *(f"Z{n} {lo}-{hi}%" for n, (lo, hi) in enumerate(zip(_LOWER, ZONE_UPPER_PCT, strict=True), 1)),
    f"Z{len(ZONE_UPPER_PCT) + 1} {ZONE_UPPER_PCT[-1]}%+",
)
_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
    "height": 420,
}


def month_start(month_index: int) -> date:
    return date(month_index // 12, month_index % 12 + 1, 1)


def pace_text(seconds_per_km: float) -> str:
    minutes, seconds = divmod(round(seconds_per_km), 60)
    return f"{minutes}:{seconds:02d} /km"


def duration_text(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def weekly(rows: Rows) -> go.Figure | None:
    """Stacked bars per sport: distance (km) above, moving time (h) below."""
    if not rows:
        return None
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=("Distance (km)", "Moving time (h)"),
    )  # fmt: skip
    for n, sport in enumerate(sorted({r["sport"] for r in rows})):
        mine = [r for r in rows if r["sport"] == sport]
        weeks = [r["week"] for r in mine]
        color = PALETTE[n % len(PALETTE)]
        group = {"legendgroup": sport, "name": sport, "marker": {"color": color}}
        fig.add_trace(go.Bar(x=weeks, y=[r["distance"] / 1000 for r in mine], **group), 1, 1)
        hours = [r["moving_time"] / 3600 for r in mine]
        fig.add_trace(go.Bar(x=weeks, y=hours, showlegend=False, **group), 2, 1)
    fig.update_layout(_LAYOUT, barmode="stack", height=560, title="Weekly distance and time")
    return fig


def calendar(rows: Rows) -> go.Figure | None:
    """A heatmap of training days: one column per week, one row per weekday, minutes."""
    if not rows:
        return None
    by_day = {r["day"]: r for r in rows}
    first = min(by_day) - timedelta(days=min(by_day).weekday())
    weeks = [first + timedelta(weeks=i) for i in range((max(by_day) - first).days // 7 + 1)]
    z: list[list[float | None]] = [[None] * len(weeks) for _ in WEEKDAYS]
    text: list[list[str]] = [[""] * len(weeks) for _ in WEEKDAYS]
    for day, r in by_day.items():
        col, row = (day - first).days // 7, day.weekday()
        z[row][col] = round(r["moving_time"] / 60, 1)
        text[row][col] = (
            f"{day.isoformat()}: {r['activities']} activities, {r['distance'] / 1000:.1f} km"
        )
    heat = go.Heatmap(
        x=weeks, y=list(WEEKDAYS), z=z, text=text, hoverinfo="text", colorscale="Greens",
        xgap=2, ygap=2, colorbar={"title": {"text": "min"}},
    )  # fmt: skip
    fig = go.Figure(heat)
    fig.update_layout(_LAYOUT, height=260, title="Training days (moving minutes)")
    fig.update_yaxes(autorange="reversed")
    return fig


def monthly(rows: Rows, first_month: int, last_month: int) -> go.Figure | None:
    """Distance per month next to the same month a year earlier (every month shown)."""
    if not rows:
        return None
    by_month = {r["month_index"]: r for r in rows}
    months = list(range(first_month, last_month + 1))
    labels = [month_start(m).strftime("%b %Y") for m in months]

    def series(key: str) -> list[float]:
        return [by_month.get(m, {}).get(key, 0) / 1000 for m in months]

    fig = go.Figure(
        [
            go.Bar(x=labels, y=series("distance_last_year"), name="a year earlier"),
            go.Bar(x=labels, y=series("distance"), name="this period"),
        ]
    )
    fig.update_layout(_LAYOUT, barmode="group", title="Monthly distance (km) vs last year")
    return fig


def runs_table(rows: Rows) -> go.Figure | None:
    """Two tables: the longest runs and the fastest runs (moving pace)."""
    if not rows:
        return None
    fig = make_subplots(
        rows=1, cols=2, specs=[[{"type": "table"}, {"type": "table"}]],
        subplot_titles=("Longest runs", "Fastest runs (5 km or more)"), horizontal_spacing=0.03,
    )  # fmt: skip
    for col, key in ((1, "longest_rank"), (2, "fastest_rank")):
        ranked = sorted(
            (r for r in rows if r[key] is not None and r[key] <= 10), key=lambda r: r[key]
        )
        cells = [
            [str(r[key]) for r in ranked],
            [r["day"].isoformat() for r in ranked],
            [str(r["name"] or "") for r in ranked],
            [f"{r['distance'] / 1000:.2f}" for r in ranked],
            [pace_text(r["moving_time"] / (r["distance"] / 1000)) for r in ranked],
        ]
        header = ["#", "date", "name", "km", "pace"]
        table = go.Table(
            header={"values": header}, cells={"values": cells}, columnwidth=[1, 3, 6, 2, 3]
        )
        fig.add_trace(table, 1, col)
    fig.update_layout(_LAYOUT, height=420, title="Longest and fastest runs")
    return fig


def best_efforts(rows: Rows) -> go.Figure | None:
    """Monthly best pace per effort distance (1k, 5k, ...): lines over time."""
    if not rows:
        return None
    fig = go.Figure()
    names = sorted({(r["distance"], r["name"]) for r in rows})
    for distance, name in names:
        mine = sorted((r for r in rows if r["name"] == name), key=lambda r: r["month_index"])
        paces = [r["best_time"] / (distance / 1000) / 60 for r in mine]
        hover = [f"{name}: {duration_text(r['best_time'])}" for r in mine]
        fig.add_trace(
            go.Scatter(
                x=[month_start(r["month_index"]) for r in mine],
                y=paces,
                name=name,
                mode="lines+markers",
                text=hover,
                hoverinfo="x+text",
            )
        )
    fig.update_layout(_LAYOUT, title="Best efforts: monthly best pace (min/km)")
    fig.update_yaxes(autorange="reversed", title={"text": "min/km (faster up)"})
    return fig


def hr_zones(rows: Rows, max_hr: int) -> go.Figure | None:
    """Minutes per week in each heart-rate zone, stacked."""
    if not rows:
        return None
    minutes: dict[int, dict[date, float]] = defaultdict(dict)
    for r in rows:
        minutes[int(r["zone"])][r["week"]] = r["seconds"] / 60
    weeks = sorted({r["week"] for r in rows})
    fig = go.Figure(
        [
            go.Bar(x=weeks, y=[minutes[z].get(w, 0) for w in weeks], name=ZONE_NAMES[z - 1])
            for z in range(1, len(ZONE_NAMES) + 1)
            if minutes[z]
        ]
    )
    title = f"Heart-rate zones per week (minutes; max HR {max_hr})"
    fig.update_layout(_LAYOUT, barmode="stack", title=title)
    return fig
