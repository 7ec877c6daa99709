"""Pure: every change of an athlete's state other than a run's settlement, by name.

``core.settle`` settles a poll (``settle``), an enrichment drain (``settle_drain``) and
webhook writes (``settle_events``); the state changes that happen outside those are the
transitions below. Each takes a ``SyncState`` and returns the next one; none does I/O.
``usecases.athletes.save_settlement`` is the only function that writes ``state.json``,
and every state it writes comes from one of these functions or from ``core.settle``.
"""

from __future__ import annotations

from dataclasses import replace

from nunis_ingest.core.state import SyncState


def after_failure(
    state: SyncState,
    *,
    run_id: str,
    error_class: str,
    message: str,
    retriable: bool,
    needs_reauth: bool,
    usage: dict[str, int] | None,
) -> SyncState:
    """A run that raised. A retriable failure of a run that already settled (it saved its
    resume point before raising) keeps that settlement; anything else records the error
    (never a token: the message comes from ``errors``, which redacts) and whether the
    athlete must re-authorise."""
    if retriable and state.last_run_id == run_id:
        return state
    return replace(
        state,
        last_run_id=run_id,
        last_error_class=error_class,
        last_error_message=message[:500],
        needs_reauth=state.needs_reauth or needs_reauth,
        last_read_usage=usage or state.last_read_usage,
    )


def reauthorised(state: SyncState) -> SyncState:
    """A fresh token from the athlete (``auth``, ``athlete add``, onboarding): the old
    verdict and error no longer hold."""
    return replace(state, needs_reauth=False, last_error_class=None, last_error_message=None)


def schema_current(state: SyncState, version: int) -> SyncState:
    """The rows are built with ``version`` (after a rebuild, or nothing to rebuild)."""
    return replace(state, schema_version=version, rebuild_blocked=None)


def rebuild_blocked(state: SyncState, key: str) -> SyncState:
    """A schema rebuild stopped at a damaged archive object: retried once it is gone."""
    return replace(state, rebuild_blocked=key)


def replayed(state: SyncState) -> SyncState:
    """After a replay from the archive: ``known`` forgotten (a ``new`` poll rewrites its
    window, restoring anything the replay could not) and the row count verified next run."""
    return replace(state, known={}, rows=None, verified_at=None)
