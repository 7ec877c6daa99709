"""``nunis-ingest status``: per-athlete health that survives a broken athlete or warehouse.

Each athlete's block is built on its own: an unreadable ``config.json``, ``state.json`` or
``token.json`` shows up as that athlete's ``error`` (one line, with the fix) while the
others show normally. The warehouse is asked once per athlete for a row count and the last
run; when it is unavailable (locked by another process, missing, unreachable) the counts
degrade to ``unavailable: <why>`` and the object-store half of the report still shows. After
the first warehouse failure it is not asked again: a lock wait per athlete would multiply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nunis_ingest.core.keys import athlete_key
from nunis_ingest.core.plan import VERIFY_INTERVAL_SECONDS, verify_due
from nunis_ingest.drivers.cli.errors import describe
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.tokens import scope_notice

if TYPE_CHECKING:
    from nunis_ingest.ports import Presence, Warehouse
    from nunis_ingest.runtime import Runtime

TEXT_FIELDS = (
    "health",
    "activities",
    "expected_rows",
    "deletion_checks",
    "cursor",
    "last_success_at",
    "last_run",
    "last_error",
    "read_usage",
    "enrichment",
    "detail_rows",
    "scope",
)


@dataclass
class WarehouseProbe:
    """The warehouse, opened on first use; after one failure, the reason for every athlete."""

    open_warehouse: Callable[[], Warehouse]
    problem: str | None = None
    _warehouse: Warehouse | None = field(default=None, repr=False)

    def ask(self, question: Callable[[Warehouse], Any]) -> Any:
        """``question(warehouse)``, or ``None`` once the warehouse proved unavailable."""
        if self.problem is not None:
            return None
        try:
            if self._warehouse is None:
                self._warehouse = self.open_warehouse()
            return question(self._warehouse)
        except Exception as exc:  # any failure of the warehouse degrades, never aborts
            self.problem = describe(exc).line
            return None


def collect(rt: Runtime) -> tuple[list[dict[str, Any]], str | None]:
    """Every athlete's status, and the warehouse problem if it was unavailable."""
    repo = AthleteRepo(rt.store)
    probe = WarehouseProbe(lambda: rt.warehouse)
    share = rt.settings.enrich_read_share
    try:
        presence: Presence | None = rt.presence()
    except Exception:  # a free signal: unknown when it fails
        presence = None
    items = [
        athlete_status(repo, probe, athlete_id, share, presence=presence)
        for athlete_id in repo.list_ids()
    ]
    if probe.problem is not None:
        for item in items:
            item["warehouse_error"] = probe.problem
    return items, probe.problem


def athlete_status(
    repo: AthleteRepo,
    probe: WarehouseProbe,
    athlete_id: int,
    share: float = 0.5,
    *,
    presence: Presence | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "athlete_id": athlete_id,
        "label": "",
        "health": "ok",
        "enabled": None,
        "needs_reauth": None,
        "activities": None,
        "expected_rows": None,
        "deletion_checks": None,
        "cursor": None,
        "last_success_at": None,
        "last_run": None,
        "last_error": None,
        "read_usage": None,
        "enrichment": None,
        "enrich_queue": None,
        "enrich_requests": None,
        "enrich_eta_seconds": None,
        "detail_rows": None,
        "scope": None,
        "enrich_parked": None,
        "error": None,
        "warehouse_error": None,
    }
    problems: list[str] = []
    config = state = None
    try:
        config = repo.load_config(athlete_id)
        item.update(label=config.label, enabled=config.enabled)
    except Exception as exc:
        problems.append(describe(exc).line)
    try:
        state, _ = repo.load_state(athlete_id)
        cursor = datetime.fromtimestamp(state.cursor, UTC).isoformat() if state.cursor else None
        item.update(
            needs_reauth=state.needs_reauth,
            cursor=cursor,
            last_success_at=state.last_success_at,
            last_run=state.last_run_id,
            read_usage=state.last_read_usage,
            expected_rows=state.rows,
            deletion_checks=len(state.suspects),
            last_error=(
                f"{state.last_error_class}: {state.last_error_message}"
                if state.last_error_class
                else None
            ),
        )
    except Exception as exc:
        problems.append(describe(exc).line)
    try:
        token = repo.load_token(athlete_id)  # validated; only its scope is shown
        item["scope"] = scope_notice(token, athlete_id) or token.scope
    except Exception as exc:
        line = describe(exc).line
        key = athlete_key(athlete_id, "token.json")
        problems.append(line if key in line else f"{key}: {line}")
    if config is not None and state is not None:
        item.update(_enrichment(config, state, share))
    count = probe.ask(lambda w: w.count_activities(athlete_id))
    if config is not None and (config.details or config.streams):
        details = probe.ask(lambda w: w.count_rows("activity_details", athlete_id))
        points = probe.ask(lambda w: w.count_rows("activity_streams", athlete_id))
        if details is not None:
            item["detail_rows"] = f"{details} activities with details, {points} stream points"
    runs = probe.ask(lambda w: w.fetch_runs(athlete_id, limit=1))
    item["activities"] = count
    if runs:
        item["last_run"] = describe_run(runs[0])
    if problems:
        item["error"] = " | ".join(problems)
    now = time.time() if now is None else now
    heals = state is not None and verify_due(state, "new", now, presence)
    item["health"] = _health(item["error"], config, state, count, heals=heals, aid=athlete_id)
    return item


def _enrichment(config: Any, state: Any, share: float) -> dict[str, Any]:
    """Queue length, the requests it needs and the time it takes at the current budget."""
    from nunis_ingest.core import enrichment as eq
    from nunis_ingest.core.ratelimit import RateLimitUsage

    kinds = eq.wanted(config.details, config.streams)
    usage = None
    if state.last_read_usage:
        known = {
            k: v for k, v in state.last_read_usage.items() if k in RateLimitUsage.__annotations__
        }
        usage = RateLimitUsage(**known)
    queue = eq.restrict(state.enrich, kinds)
    requests = eq.cost(queue)
    eta = eq.eta_seconds(requests, usage, share)
    parked = {i: why for i, why in eq.parked(state.enrich_failed).items() if i in queue}
    per = f"{len(kinds)} request{'s' if len(kinds) != 1 else ''} per new activity"
    asked = ", ".join(
        f"{name} {'on' if on else 'off'}"
        for name, on in (("details", config.details), ("streams", config.streams))
    )
    text = f"{asked} ({per})"
    if queue:
        text += (
            f"; queue {len(queue)} activities, {requests} requests, "
            f"about {_duration(eta)} at {share:.0%} of the read limits"
        )
    elif kinds:
        text += "; queue empty"
    backing_off = len([i for i in state.enrich_failed if i in queue]) - len(parked)
    if backing_off:
        text += f"; {backing_off} retried later after a failed fetch"
    if parked:
        first = min(parked)
        text += (
            f"; {len(parked)} parked after repeated failures (retried weekly), e.g. "
            f"activity {first}: {parked[first]}"
        )
    return {
        "enrichment": text,
        "enrich_queue": len(queue),
        "enrich_requests": requests,
        "enrich_eta_seconds": round(eta) if eta != float("inf") else None,
        "enrich_parked": {str(i): why for i, why in sorted(parked.items())} or None,
    }


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "never (no read budget)"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _health(
    error: str | None,
    config: Any,
    state: Any,
    count: int | None,
    *,
    heals: bool = True,
    aid: int = 0,
) -> str:
    if error is not None:
        return "broken: see error"
    if state is not None and state.rows is not None and count is not None and count < state.rows:
        held = f"the warehouse holds {count} of the {state.rows} rows the state expects: "
        if heals:  # the same rule the run applies (plan.verify_due)
            return held + "the next run heals it with a full load"
        at = (state.verified_at or 0) + VERIFY_INTERVAL_SECONDS
        when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M")
        return (
            held + f"the first run after {when} UTC heals it; to heal it now run "
            f"`nunis-ingest sync --athlete {aid} --mode all`"
        )
    if state is not None and state.needs_reauth:
        return "needs re-authorisation: run `nunis-ingest auth`"
    if config is not None and not config.enabled:
        return "disabled"
    if state is not None and state.last_error_class == "BudgetDeferred":
        return "waiting for the app's shared read budget (resumes after the reset)"
    if state is not None and state.pending:
        if state.pending.get("mode") == "new":
            return "catching up a backlog (resumes on the next run)"
        return "full refresh in progress (resumes on the next run)"
    if state is not None and state.last_error_class == "TruncatedListing":
        return "last full listing was truncated: nothing deleted, the next one re-checks"
    if state is not None and state.last_error_class == "UnverifiedListing":
        return (
            f"last full listing showed fewer activities than held: {len(state.suspects)} "
            "deletion checks left, made by the next runs"
        )
    if state is not None and state.last_error_class:
        return f"last run failed ({state.last_error_class})"
    return "ok"


def budget_line(rt: Runtime, now: float) -> str:
    """The app-wide read ledger (``budget/ledger.py``): reads used of the limits, resets."""
    try:
        ledger = rt.budget.snapshot(now)
    except Exception as exc:  # status degrades, never aborts
        return f"read budget: unavailable: {describe(exc).line}"
    reset = datetime.fromtimestamp(ledger.resets_at, UTC).strftime("%H:%M")
    return (
        f"read budget (whole app): {ledger.used_15min}/{ledger.limit_15min} this 15 min "
        f"(resets {reset} UTC), {ledger.used_daily}/{ledger.limit_daily} today "
        "(resets 00:00 UTC)"
    )


def describe_run(run: dict[str, Any]) -> str:
    return (
        f"{run['run_id']} {run['mode']} {run['outcome']} "
        f"+{run['inserted']} ~{run['updated']} -{run['deleted']}"
    )


def render(items: list[dict[str, Any]], warehouse_problem: str | None) -> list[str]:
    """The human report, one block per athlete."""
    lines: list[str] = []
    if not items:
        lines.append("No athletes configured.")
    for item in items:
        lines.append(f"athlete {item['athlete_id']} {item['label']}".rstrip())
        if item["error"]:
            lines.append(f"  {'error':<16}{item['error']}")
        for key in TEXT_FIELDS:
            value = item[key]
            if key == "activities" and warehouse_problem is not None:
                value = f"unavailable: {warehouse_problem}"
            lines.append(f"  {key:<16}{value if value is not None else '-'}")
    return lines
