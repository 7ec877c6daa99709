"""Rebuild an athlete's rows from the archive once, when ``schema.SCHEMA_VERSION`` rises.

A newer version (a column added, a meaning changed) rebuilds the rows before the next
run lists anything, with no Strava request (``replay``). A damaged archive object stops
the rebuild before it writes anything; the run goes on (the athlete is not blocked), the
object is named in a warning and in ``state.rebuild_blocked``, and the rebuild is tried
again once it is gone.
"""

from __future__ import annotations

import logging

from nunis_ingest.context import SyncContext
from nunis_ingest.core.run_report import RunReport
from nunis_ingest.core.schema import SCHEMA_VERSION
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.transitions import rebuild_blocked, replayed, schema_current
from nunis_ingest.errors import ArchiveDamaged
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo, save_settlement

log = logging.getLogger(__name__)


def rebuild_if_schema_changed(
    ctx: SyncContext,
    repo: AthleteRepo,
    report: RunReport,
    config: AthleteConfig,
    state: SyncState,
    generation: int,
) -> tuple[SyncState, int]:
    """The state (and its generation) once the athlete's rows match this code's schema."""
    athlete_id = report.athlete_id
    built = state.schema_version or 1
    if built >= SCHEMA_VERSION or state.cursor is None:
        if state.schema_version == SCHEMA_VERSION:
            return state, generation
        state = schema_current(state, SCHEMA_VERSION)
        return state, save_settlement(repo, athlete_id, state, generation)
    from nunis_ingest.usecases.replay import replay

    blocked = state.rebuild_blocked
    if blocked is not None and ctx.store.get(blocked) is not None:
        _warn(
            report,
            f"athlete {athlete_id}: rows still built with schema version {built}: the "
            f"rebuild waits for the damaged archive object {blocked} to be restored or "
            "moved to quarantine/",
        )
        return state, generation
    log.warning(
        "athlete %d: rows were built with schema version %d, this code has %d; "
        "rebuilding them from the archive",
        athlete_id,
        built,
        SCHEMA_VERSION,
    )
    ctx.warehouse.ensure_schema()
    try:
        replay(
            ctx.store,
            ctx.warehouse,
            athlete_id,
            run_id=report.run_id,
            details=config.details,
            streams=config.streams,
            rewrite=True,
        )
    except ArchiveDamaged as exc:
        _warn(report, f"athlete {athlete_id}: the schema rebuild stopped: {exc}")
        state = rebuild_blocked(state, exc.key)
        return state, save_settlement(repo, athlete_id, state, generation)
    state = schema_current(replayed(state), SCHEMA_VERSION)
    return state, save_settlement(repo, athlete_id, state, generation)


def _warn(report: RunReport, text: str) -> None:
    log.warning(text)
    report.warnings.append(text)
