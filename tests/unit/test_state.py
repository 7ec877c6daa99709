from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core.fetched import Fetched, Seen
from nunis_ingest.core.plan import make_plan
from nunis_ingest.core.settle import settle
from nunis_ingest.core.state import STATE_VERSION, SyncState, dump_state, load_state
from nunis_ingest.errors import ConfigError
from tests.unit.strategies import json_values

DAY = 86400
FIX = "the next sync sets athletes/42/state.json aside and starts over with a full load"


def sample() -> SyncState:
    return SyncState(
        cursor=1_700_000_000,
        known={12345678987654321: ("ab" * 32, 1_699_999_000), 7: ("cd" * 32, 1_700_000_000)},
        last_run_id="20260501T120000Z-abcd1234",
        last_success_at="2026-05-01T12:00:05+00:00",
        last_error_class="StravaRateLimited",
        last_error_message="429 ünïcode",
        needs_reauth=True,
        last_read_usage={"15min": 42, "daily": 310},
        pending={"mode": "all", "pages": ["a", "b"], "started_at": 1.5},
    )


# --- serialisation -------------------------------------------------------------------


def test_fresh_state() -> None:
    state = load_state(None)
    assert state == SyncState()
    assert state.version == STATE_VERSION == 1
    assert state.cursor is None
    assert state.known == {}
    assert state.needs_reauth is False


def test_round_trip_example() -> None:
    state = sample()
    data = dump_state(state)
    assert load_state(data) == state
    assert dump_state(load_state(data)) == data


def test_dump_format() -> None:
    data = dump_state(sample())
    doc = json.loads(data)
    assert list(doc) == sorted(doc)
    assert doc["version"] == 1
    assert doc["known"]["12345678987654321"] == ["ab" * 32, 1_699_999_000]
    data.decode("ascii")  # ASCII only: safe for any store


def test_fresh_round_trip() -> None:
    assert load_state(dump_state(SyncState())) == SyncState()


def test_future_version() -> None:
    with pytest.raises(ConfigError) as info:
        load_state(b'{"version": 2, "cursor": 5}', athlete_id=42)
    text = str(info.value)
    assert "version 2" in text
    assert "upgrade" in text
    assert "delete athletes/42/state.json to start over with a full load" in text


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"version": 1, "cursor": ', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b"{}", "'version'"),
        (b'{"version": 0}', "'version'"),
        (b'{"version": "1"}', "'version'"),
        (b'{"version": 1, "cursor": "5"}', "'cursor'"),
        (b'{"version": 1, "cursor": true}', "'cursor'"),
        (b'{"version": 1, "known": []}', "'known'"),
        (b'{"version": 1, "known": {"x1": ["h", 1]}}', "'known'"),
        (b'{"version": 1, "known": {"1": ["h"]}}', "'known'"),
        (b'{"version": 1, "known": {"1": ["h", "1"]}}', "start_epoch"),
        (b'{"version": 1, "needs_reauth": "no"}', "'needs_reauth'"),
        (b'{"version": 1, "last_read_usage": {"a": "1"}}', "'last_read_usage'"),
        (b'{"version": 1, "pending": [1]}', "'pending'"),
        (b'{"version": 1, "last_run_id": 5}', "'last_run_id'"),
    ],
)
def test_corrupt_state(data: bytes, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_state(data, athlete_id=42)
    text = str(info.value)
    assert problem in text
    assert FIX in text
    assert "athletes/42/state.json" in text


def test_corrupt_message_does_not_echo_content() -> None:
    content = b'{"version": 1, "last_error_message": "' + b"s3cr3t" * 100 + b'" oops'
    with pytest.raises(ConfigError) as info:
        load_state(content)
    assert "s3cr3t" not in str(info.value)
    assert "athletes/<id>/state.json" in str(info.value)


def test_unknown_keys_ignored() -> None:
    assert load_state(b'{"version": 1, "cursor": 5, "later": 1}') == SyncState(cursor=5)


# --- properties ------------------------------------------------------------------------

ids = st.integers(min_value=1, max_value=2**63 - 1)
epochs = st.integers(min_value=0, max_value=4_000_000_000)
hashes = st.text(alphabet="0123456789abcdef", min_size=1, max_size=64)
optional_text = st.none() | st.text(max_size=30)

states = st.builds(
    SyncState,
    cursor=st.none() | epochs,
    known=st.dictionaries(ids, st.tuples(hashes, epochs), max_size=10),
    last_run_id=optional_text,
    last_success_at=optional_text,
    last_error_class=optional_text,
    last_error_message=optional_text,
    needs_reauth=st.booleans(),
    last_read_usage=st.none() | st.dictionaries(st.text(max_size=8), st.integers(), max_size=4),
    pending=st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    suspects=st.lists(ids, max_size=5, unique=True).map(sorted),
    rows=st.none() | st.integers(min_value=0, max_value=10**9),
    verified_at=st.none() | epochs,
)
seen_items = st.lists(st.tuples(ids, hashes, st.none() | epochs), max_size=30)


@given(states)
def test_dump_load_round_trip(state: SyncState) -> None:
    data = dump_state(state)
    assert load_state(data) == state
    assert dump_state(load_state(data)) == data


@given(st.binary(max_size=200))
def test_load_arbitrary_bytes_is_state_or_config_error(data: bytes) -> None:
    try:
        load_state(data)
    except ConfigError as error:
        message = str(error)
        assert "state.json" in message


@given(json_values)
def test_load_arbitrary_json_is_state_or_config_error(value: Any) -> None:
    try:
        load_state(json.dumps({"version": 1, "known": value, "cursor": value}).encode())
    except ConfigError as error:
        message = str(error)
        assert "state.json" in message


NOW = 4_100_000_000  # after every generated start: the clock-skew cap is tested elsewhere


@given(st.lists(seen_items, min_size=1, max_size=5), st.integers(min_value=0, max_value=10**6))
def test_successive_new_polls_keep_the_window_bounded_and_the_cursor_monotone(
    batches: list[list[tuple[int, str, int | None]]], lookback: int
) -> None:
    """``settle`` over complete polls: what the next poll filters is exactly what it will
    list again, the cursor never moves back, and the input state is never modified."""
    state = SyncState(cursor=0, rows=0, verified_at=NOW)
    for batch in batches:
        plan = make_plan(
            athlete_id=1, run_id="r", now=NOW, requested="new", state=state, lookback_days=0
        )
        plan = replace(plan, lookback=lookback)
        seen = Seen(lookback)
        for activity_id, digest, start in batch:
            seen.see(activity_id, digest, start)
        before = copy.deepcopy(state)
        new = settle(plan, state, Fetched(seen, complete=True), NOW).state
        assert state == before  # pure
        starts = [s for _, _, s in batch if s is not None]
        assert new.cursor is not None
        assert state.cursor is not None
        assert new.cursor >= state.cursor
        if starts:
            assert new.cursor >= max(starts)
        floor = new.cursor - lookback
        assert all(floor <= s <= new.cursor for _, s in new.known.values())
        last = {i: (h, s) for i, h, s in batch if s is not None}
        for activity_id, (digest, start) in last.items():
            if start >= floor:
                assert new.known[activity_id] == (digest, start)
            else:
                assert activity_id not in new.known
        state = new
