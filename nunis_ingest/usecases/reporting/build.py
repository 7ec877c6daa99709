"""Build the training report: run every query, draw the charts, write the HTML (and PNGs).

``write_report(warehouse, store, athlete_id, out)`` is the whole use case (the CLI and
the demo call it); ``build_html(source, params, state)`` is its part without files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.state import SyncState
from nunis_ingest.usecases.reporting import charts, query
from nunis_ingest.usecases.reporting.html import Section, page

DEFAULT_DAYS = 365
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReportParams:
    athlete_id: int
    since: date
    until: date
    max_hr: int | None = None
    """Zones from this maximum heart rate; None: the athlete's observed maximum."""

    @classmethod
    def last_year(cls, athlete_id: int, today: date | None = None, **kw: Any) -> ReportParams:
        until = today or datetime.now(UTC).date()
        return cls(athlete_id, until - timedelta(days=DEFAULT_DAYS), until, **kw)

    def values(self, max_hr: int) -> dict[str, int | date]:
        return {
            "athlete": self.athlete_id,
            "since": self.since,
            "until": self.until,
            "max_hr": max_hr,
        }


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


@dataclass
class Report:
    html: str
    sections: list[Section]
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in queries and in rendering."""


def _note(rows: list[Any] | None, missing: str, empty: str) -> str:
    return missing if rows is None else empty


def resolve_max_hr(source: query.Source, params: ReportParams) -> int | None:
    if params.max_hr:
        return params.max_hr
    rows = query.run(source, "observed_max_hr", params.values(0))
    return int(rows[0]["max_hr"]) if rows and rows[0]["max_hr"] else None


def sections(source: query.Source, params: ReportParams) -> list[Section]:
    max_hr = resolve_max_hr(source, params)
    values = params.values(max_hr or 0)

    def get(name: str) -> list[dict[str, Any]] | None:
        return query.run(source, name, values)

    nothing = f"No activities between {params.since} and {params.until}."
    weekly, daily, monthly, runs = get("weekly"), get("daily"), get("monthly"), get("runs")
    efforts = get("best_efforts")
    zones = get("hr_zones") if max_hr else None
    first, last = month_index(params.since), month_index(params.until)
    return [
        Section("weekly", "Weekly distance and moving time", charts.weekly(weekly or []), nothing),
        Section("calendar", "Training days", charts.calendar(daily or []), nothing),
        Section(
            "monthly",
            "Monthly totals against the same month last year",
            charts.monthly(monthly or [], first, last),
            nothing,
        ),
        Section("runs", "Longest and fastest runs", charts.runs_table(runs or []), "No runs."),
        Section(
            "best_efforts",
            "Best efforts over time",
            charts.best_efforts(efforts or []),
            _note(
                efforts,
                "No best efforts: activity details are not loaded (activity_best_efforts).",
                "No best efforts in this period (activity details hold none yet).",
            ),
        ),
        Section(
            "hr_zones",
            "Heart-rate zone time per week",
            charts.hr_zones(zones or [], max_hr or 0),
            "No heart-rate streams: streams are not loaded for this athlete (activity_streams)."
            if not max_hr
            else "No heart-rate samples in this period.",
        ),
    ]


def _when(text: Any) -> str:
    if not text:
        return UNKNOWN
    try:
        moment = datetime.fromisoformat(str(text).replace(" ", "T"))
    except ValueError:
        return str(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _queue(state: SyncState | None) -> str:
    if state is None:
        return UNKNOWN
    from nunis_ingest.core import enrichment

    queue = state.enrich
    return f"{len(queue)} activities ({enrichment.cost(queue)} requests)"


def _budget(state: SyncState | None) -> str:
    usage = state.last_read_usage if state is not None else None
    if not usage:
        return UNKNOWN
    known = set(RateLimitUsage.__dataclass_fields__)
    limits = RateLimitUsage(**{k: v for k, v in usage.items() if k in known})
    left15, left_day = limits.read_remaining()
    parts = []
    for label, left, limit in (
        ("15 min", left15, limits.read_limit_15min or limits.limit_15min),
        ("daily", left_day, limits.read_limit_daily or limits.limit_daily),
    ):
        shown = UNKNOWN if left is None else f"{left}" + (f" of {limit}" if limit else "")
        parts.append(f"{label}: {shown}")
    return "read requests left at the last run: " + ", ".join(parts)


def freshness(
    source: query.Source, params: ReportParams, state: SyncState | None, state_problem: str
) -> list[tuple[str, str]]:
    values = params.values(0)
    last = query.run(source, "last_run", values) or []
    success = query.run(source, "last_success", values) or []
    pending = query.run(source, "without_details", values)
    last_success = success[0]["last_success_at"] if success else None
    if not last_success and state is not None:
        last_success = state.last_success_at
    run = last[0] if last else None
    shown_run = (
        f"{_when(run['finished_at'])} ({run['outcome']}, mode {run['mode']})" if run else UNKNOWN
    )
    return [
        ("Last successful sync", _when(last_success)),
        ("Last run", shown_run),
        ("Runs recorded", str(success[0]["runs"]) if success else UNKNOWN),
        ("Enrichment queue (state)", _queue(state) if not state_problem else UNKNOWN),
        ("Activities without details", str(pending[0]["activities"]) if pending else UNKNOWN),
        ("Read budget", _budget(state) if not state_problem else UNKNOWN),
        ("State", state_problem or ("read" if state is not None else "none yet")),
    ]


def build(
    source: query.Source,
    params: ReportParams,
    state: SyncState | None = None,
    state_problem: str = "",
) -> Report:
    started = time.perf_counter()
    parts = sections(source, params)
    fresh = freshness(source, params, state, state_problem)
    queried = time.perf_counter()
    totals = query.run(source, "summary", params.values(0)) or [{}]
    t = totals[0]
    subtitle = (
        f"Athlete {params.athlete_id}, {params.since} to {params.until}: "
        f"{t.get('activities', 0)} activities, {float(t.get('distance') or 0) / 1000:.0f} km, "
        f"{float(t.get('moving_time') or 0) / 3600:.0f} h moving."
    )
    html = page("Training report", subtitle, parts, fresh)
    done = time.perf_counter()
    return Report(html, parts, {"queries": queried - started, "render": done - queried})


def write_png(report: Report, folder: Path) -> list[Path]:
    """Each drawn figure as ``<folder>/<key>.png`` (plotly + kaleido, one browser for all)."""
    import plotly.io as pio

    drawn = [s for s in report.sections if s.figure is not None]
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{s.key}.png" for s in drawn]
    if drawn:
        pio.write_images([s.figure for s in drawn], paths, width=1100)
    return paths


def load_state(store: Any, athlete_id: int) -> tuple[SyncState | None, str]:
    """The athlete's state, or None and a one-line reason it could not be read."""
    from nunis_ingest.usecases.athletes import AthleteRepo

    try:
        return AthleteRepo(store).load_state(athlete_id)[0], ""
    except Exception as exc:  # a broken state.json must not stop the report
        return None, f"unreadable: {type(exc).__name__}"


def write_report(
    source: query.Source,
    store: Any,
    params: ReportParams,
    out: Path,
    png_dir: Path | None = None,
) -> list[Path]:
    """Write the HTML report from ``source`` (and PNGs into ``png_dir``); returns every
    path written."""
    state, problem = load_state(store, params.athlete_id)
    report = build(source, params, state, problem)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.html, encoding="utf-8")
    written = [out]
    if png_dir is not None:
        written += write_png(report, png_dir)
    return written
