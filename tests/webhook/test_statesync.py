"""The webhook's edits of ``state.json``: what the next poll will filter, and a lost
compare-and-swap re-read and re-applied (real local object store)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.core.state import SyncState
from nunis_ingest.errors import PreconditionFailed
from nunis_ingest.ports import WriteResult
from nunis_ingest.usecases.athletes import SAVE_ATTEMPTS, AthleteRepo
from nunis_ingest.usecases.webhook import statesync

DAY = 86400
CURSOR = 1_800_000_000
A = 1000000


def remember(state: SyncState, activity_id: int, digest: str, start: int | None) -> SyncState:
    return statesync.loaded(activity_id, digest, start, WriteResult(updated=1), 7 * DAY, CURSOR)(
        state
    )


def test_remember_keeps_what_the_next_poll_lists_and_never_moves_the_cursor() -> None:
    state = SyncState(cursor=CURSOR, known={1: ("old", CURSOR - DAY)})
    inside = remember(state, 1, "new", CURSOR - DAY)
    newer = remember(state, 2, "h2", CURSOR + DAY)
    outside = remember(state, 1, "new", CURSOR - 8 * DAY)
    undated = remember(state, 1, "new", None)
    assert inside.known == {1: ("new", CURSOR - DAY)}
    assert newer.known == {1: ("old", CURSOR - DAY), 2: ("h2", CURSOR + DAY)}
    assert newer.cursor == CURSOR
    assert outside.known == {}
    assert undated.known == {}
    fresh = SyncState()  # no full load yet: the next poll lists everything anyway
    assert remember(fresh, 1, "h", CURSOR) == fresh


class _Racing(LocalObjectStore):
    """Another writer saves state.json between our read and our write, ``races`` times."""

    def __init__(self, root: Path, races: int) -> None:
        super().__init__(root)
        self.races = races

    def put(self, key: str, data: bytes, *, if_generation: int | None = None) -> int:
        if key.endswith("state.json") and if_generation is not None and self.races:
            self.races -= 1
            repo = AthleteRepo(LocalObjectStore(self.root))
            state, generation = repo.load_state(A)
            repo.save_state(A, replace(state, last_run_id=f"other-{self.races}"), generation)
        return super().put(key, data, if_generation=if_generation)


def _seeded(tmp_path: Path, races: int) -> AthleteRepo:
    store = _Racing(tmp_path, races)
    repo = AthleteRepo(LocalObjectStore(tmp_path))
    repo.save_state(A, SyncState(cursor=CURSOR, known={9: ("h9", CURSOR)}), 0)
    return AthleteRepo(store)


def test_a_lost_compare_and_swap_is_re_read_and_both_writes_survive(tmp_path: Path) -> None:
    repo = _seeded(tmp_path, races=2)
    statesync.apply(
        repo, A, statesync.loaded(1, "h1", CURSOR, WriteResult(inserted=1), 7 * DAY, CURSOR)
    )
    state, _ = repo.load_state(A)
    assert state.known == {9: ("h9", CURSOR), 1: ("h1", CURSOR)}
    assert state.last_run_id == "other-0"  # the other writer's change is kept
    statesync.apply(repo, A, statesync.deleted(9, 7 * DAY, CURSOR))
    assert repo.load_state(A)[0].known == {1: ("h1", CURSOR)}


def test_a_state_that_keeps_changing_gives_up_with_a_retriable_error(tmp_path: Path) -> None:
    repo = _seeded(tmp_path, races=SAVE_ATTEMPTS)
    with pytest.raises(PreconditionFailed):
        statesync.apply(
            repo, A, statesync.loaded(1, "h1", CURSOR, WriteResult(inserted=1), 7 * DAY, CURSOR)
        )
    assert 1 not in repo.load_state(A)[0].known
