"""Keep ``athletes/<id>/state.json`` in step with every row the webhook path writes.

The transitions are ``settle.settle_events`` (pure, shared with the poll's ``settle``);
this module reads, applies and saves them by compare-and-swap.

The poll writes a listed activity unless ``known`` holds its content hash, so:

- after a webhook load, ``known`` gets ``(content_hash, start_epoch)`` of the row written
  (the summary representation, the same hash the listing gives) when the activity starts
  inside the window the next ``new`` poll lists (``cursor - lookback``); the poll then
  counts it unchanged and writes nothing;
- after a webhook delete, the id is forgotten, so if the activity is in fact alive (a
  later listing shows it) the poll writes it again.

Decisions: the cursor is never moved, neither backwards nor forwards. It means "the poll
listed everything up to here"; a webhook event proves one activity, not the listing, and
moving the cursor forward would shrink the next poll's window past activities whose
events were lost. An entry newer than the cursor is still inside the next window, so it
filters the next poll as well; that poll then moves the cursor itself. Without a cursor
(no full load finished yet) the state is left alone: the next poll lists everything and
ignores ``known``. Saved by compare-and-swap; a lost race re-reads and re-applies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nunis_ingest.core.enrichment import Item
from nunis_ingest.core.settle import settle_events
from nunis_ingest.core.state import SyncState
from nunis_ingest.ports import WriteResult
from nunis_ingest.usecases.athletes import AthleteRepo, update_state

Change = Callable[[SyncState], SyncState]


def loaded(
    activity_id: int,
    digest: str,
    start: int | None,
    result: WriteResult,
    lookback: int,
    now: float,
    queued: Sequence[Item] = (),
) -> Change:
    return lambda state: settle_events(
        state,
        loaded=[(activity_id, digest, start)],
        deleted=[],
        result=result,
        lookback=lookback,
        now=now,
        queued=queued,
    )


def loaded_many(
    loaded: Sequence[tuple[int, str, int | None]],
    result: WriteResult,
    lookback: int,
    now: float,
    queued: Sequence[Item] = (),
) -> Change:
    """``loaded`` for a batch: (id, content hash, start) of every row one commit wrote."""
    return lambda state: settle_events(
        state,
        loaded=loaded,
        deleted=[],
        result=result,
        lookback=lookback,
        now=now,
        queued=queued,
    )


def deleted(activity_id: int, lookback: int, now: float) -> Change:
    return lambda state: settle_events(
        state,
        loaded=[],
        deleted=[activity_id],
        result=WriteResult(deleted=1),
        lookback=lookback,
        now=now,
    )


def apply(repo: AthleteRepo, athlete_id: int, change: Change) -> None:
    """Read, change and save the state (``athletes.update_state``: compare-and-swap, a
    lost race re-reads and re-applies)."""
    update_state(repo, athlete_id, change)
