"""Fuzz every stored file and payload at its trust boundary (hypothesis over bytes and
structures): each parser answers with a value of the documented shape or the one error
that names the object, never anything else; and the rules built on them cannot block an
athlete for longer than one interval (docs/reliability.md).

Objects: archive pages, responses and tombstones (``archived``), ``state.json`` and its
checkpoint (``state``, ``plan``), ``lease.json`` (``lease``), ``app/budget.json``
(``budget.rules``), ``webhook.json`` (``webhook.marks``), ``config.json`` and
``token.json``, webhook events, and the enrichment queue's failure records.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core import enrichment as eq
from nunis_ingest.core.keys import archive_enrich_key, archive_page_key
from nunis_ingest.core.plan import make_plan
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.state import SyncState, dump_state, load_state
from nunis_ingest.core.token import Token
from nunis_ingest.core.webhook_event import InvalidEvent, StravaEvent, parse_event
from nunis_ingest.errors import ArchiveDamaged, ConfigError, LeaseHeld
from nunis_ingest.usecases import archived
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.lease import MAX_LEASE_SECONDS, Lease, parse_holder
from nunis_ingest.usecases.webhook.marks import load_marks
from tests.unit.strategies import json_bytes, json_values, stored_bytes

NOW = 1_800_000_000
ATHLETE = 42
KEY = "archive/strava/athlete=42/date=2027-01-15/20270115T080000Z-0a1b2c3d/page-00001.json"


def attempt(call: Any, error: type[Exception]) -> tuple[Any, Any]:
    """``(value, None)``, or ``(None, the error)`` when ``call`` raises ``error``: a fuzzed
    parser may answer either, and each answer has its own assertions."""
    try:
        return call(), None
    except error as exc:
        return None, exc


fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- archive objects --------------------------------------------------------------------


@fuzz
@given(data=stored_bytes | st.none())
def test_an_archived_page_is_a_list_of_this_athletes_activities_or_named_damage(data):
    items, failed = attempt(lambda: archived.page_items(KEY, data, ATHLETE), ArchiveDamaged)
    if failed is not None:
        assert failed.key == KEY
        assert KEY in str(failed)
        return
    assert isinstance(items, list)
    for item in items:
        assert isinstance(item, dict)
        owner = (
            (item.get("athlete") or {}).get("id") if isinstance(item.get("athlete"), dict) else None
        )
        assert not isinstance(owner, int) or isinstance(owner, bool) or owner == ATHLETE


@fuzz
@given(data=stored_bytes, activity_id=st.integers(1, 2**63 - 1))
def test_a_tombstone_counts_only_when_its_body_names_its_own_id(data, activity_id):
    confirmed, failed = attempt(lambda: archived.tombstone(KEY, data, activity_id), ArchiveDamaged)
    if failed is not None:
        assert KEY in str(failed)
        return
    doc = json.loads(data)
    assert doc["id"] == activity_id
    assert doc["confirmed_at"] == confirmed >= 0


def test_a_damage_message_never_quotes_the_objects_content():
    secret = b'{"token": "s3cr3t-' + b"x" * 50 + b'"'
    with pytest.raises(ArchiveDamaged) as info:
        archived.json_object(KEY, secret)
    assert b"s3cr3t" not in str(info.value).encode()


# --- state.json and its checkpoint ------------------------------------------------------------


@fuzz
@given(data=stored_bytes)
def test_any_state_file_loads_or_is_named_corrupt(data):
    state, failed = attempt(lambda: load_state(data, athlete_id=ATHLETE), ConfigError)
    if failed is not None:
        assert f"athletes/{ATHLETE}/state.json" in str(failed)
        return
    assert isinstance(state, SyncState)
    assert load_state(dump_state(state)) == state


@settings(max_examples=40, deadline=None)
@given(data=stored_bytes)
def test_a_corrupt_state_never_stops_the_sync_path(tmp_path_factory, data):
    store = LocalObjectStore(tmp_path_factory.mktemp("store"))
    key = f"athletes/{ATHLETE}/state.json"
    store.put(key, data)
    _, plain = attempt(lambda: load_state(data, athlete_id=ATHLETE), ConfigError)
    newer = plain is not None and "newer than this code" in str(plain)
    loaded, failed = attempt(
        lambda: AthleteRepo(store).load_state(ATHLETE, repair=True), ConfigError
    )
    if failed is not None:
        assert newer, failed  # only a newer version's state is left alone (never overwritten)
        return
    state, generation = loaded
    assert generation == store.get(key).generation
    assert isinstance(state, SyncState)


extreme = st.integers(-(2**70), 2**70) | st.sampled_from([0, -1, 2**31, 2**33, 10**20])


@fuzz
@given(cursor=extreme, start=extreme, queued=extreme, retry=extreme, verified=extreme)
def test_a_state_that_loads_holds_only_dates_a_run_can_use(cursor, start, queued, retry, verified):
    doc = {
        "version": 1,
        "cursor": cursor,
        "verified_at": verified,
        "known": {"5": ["h", start]},
        "enrich": {"5": [start, "ds", queued]},
        "enrich_failed": {"5": [1, retry, "500"]},
    }
    state, failed = attempt(lambda: load_state(json.dumps(doc).encode()), ConfigError)
    if failed is not None:
        return  # corrupt: the sync path sets it aside (test above)
    for activity_id, (first, _, stamp) in state.enrich.items():
        archive_enrich_key(ATHLETE, activity_id, "detail", stamp)  # raises on a bad stamp
        datetime.fromtimestamp(first, UTC)
    for when in (state.cursor, state.verified_at, *(r for _, r, _ in state.enrich_failed.values())):
        datetime.fromtimestamp(when or 0, UTC)
    plan = make_plan(
        athlete_id=ATHLETE, run_id="r", now=NOW, requested="new", state=state, lookback_days=0
    )
    assert plan.after is None or 0 <= plan.after <= NOW + 86400


checkpoints = st.fixed_dictionaries(
    {"mode": st.just("all")},
    optional={
        "run_id": st.sampled_from(["../..", "r0", "20270115T080000Z-0a1b2c3d", ""]) | json_values,
        "started_at": st.sampled_from([NOW - 60.0, math.inf, math.nan, -1.0, 1e300]) | json_values,
        "pages": st.lists(st.sampled_from([KEY, "../../etc/passwd", "a/page-00001.json"]))
        | json_values,
        "before": st.none() | st.integers(-(2**70), 2**70) | json_values,
        "page": st.integers(-5, 10**7) | json_values,
        "keyset": json_values,
        "digests": st.lists(st.sampled_from(["0" * 64, "f" * 64, "x"])) | json_values,
    },
) | st.dictionaries(st.text(max_size=8), json_values, max_size=6)


@fuzz
@given(pending=checkpoints)
def test_any_checkpoint_resumes_only_this_athletes_pages_or_is_dropped(pending):
    state = SyncState(cursor=NOW - 86400, rows=3, verified_at=NOW, pending=pending)
    plan = make_plan(
        athlete_id=ATHLETE, run_id="r", now=NOW, requested="new", state=state, lookback_days=7
    )
    if plan.replay or plan.why.startswith("resuming"):
        run, started = plan.archive_run_id, plan.archive_started_at
        assert plan.replay == tuple(
            archive_page_key(ATHLETE, run, started, n) for n in range(1, len(plan.replay) + 1)
        )
        assert all(".." not in key for key in plan.replay)
        assert plan.page >= 1
    if plan.mode == "new":
        assert plan.after is not None
        assert 0 <= plan.after <= NOW + 86400


@pytest.mark.parametrize("digests", [None, 0, False, "abc", {"a": 1}, ["0" * 64] * 2, []])
def test_a_checkpoint_whose_digests_are_not_one_per_page_is_dropped(digests):
    run = "20270115T080000Z-0a1b2c3d"
    started = datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()
    page = archive_page_key(ATHLETE, run, started, 1)
    pending = {"mode": "all", "run_id": run, "started_at": started, "pages": [page]}
    state = SyncState(cursor=NOW - 86400, rows=3, verified_at=NOW)
    valid = make_plan(
        athlete_id=ATHLETE, run_id="r", now=NOW, requested="new", lookback_days=7,
        state=replace(state, pending=pending | {"digests": ["0" * 64]}),
    )  # fmt: skip
    assert valid.replay == (page,), "the sample checkpoint must be a usable one"
    plan = make_plan(
        athlete_id=ATHLETE, run_id="r", now=NOW, requested="new", lookback_days=7,
        state=replace(state, pending=pending | {"digests": digests}),
    )  # fmt: skip
    assert plan.replay == ()
    assert "checkpoint" in plan.warning


@pytest.mark.parametrize(
    ("numbers", "started_ago"), [((1, 3), 900), ((2, 4), 900), ((1, 2), 3 * 86400)]
)
def test_a_checkpoint_with_a_gap_or_older_than_two_days_is_dropped(numbers, started_ago):
    run = "20270115T074500Z-0a1b2c3d"
    started = NOW - started_ago
    keys = [archive_page_key(ATHLETE, run, started, n) for n in numbers]
    pending = {"mode": "all", "run_id": run, "started_at": started, "pages": keys}
    state = SyncState(cursor=NOW - 86400, rows=3, verified_at=NOW)
    plan = make_plan(
        athlete_id=ATHLETE, run_id="r", now=NOW, requested="new", lookback_days=7,
        state=replace(state, pending=pending | {"digests": ["0" * 64] * len(keys)}),
    )  # fmt: skip
    assert plan.replay == ()
    assert "checkpoint" in plan.warning


# --- lease.json ---------------------------------------------------------------------------


@fuzz
@given(data=stored_bytes | json_bytes.map(lambda b: b'{"expires_at": ' + b[:30] + b"}"))
def test_no_stored_lease_blocks_longer_than_any_run_holds_one(data):
    held = parse_holder(data, NOW, MAX_LEASE_SECONDS)
    assert held.expires_at <= NOW + MAX_LEASE_SECONDS + 60
    assert math.isfinite(held.expires_at)


@settings(max_examples=30, deadline=None)
@given(data=stored_bytes)
def test_acquiring_over_any_stored_lease_waits_at_most_one_lease(tmp_path_factory, data):
    store = LocalObjectStore(tmp_path_factory.mktemp("store"))
    store.put(f"athletes/{ATHLETE}/lease.json", data)
    try:
        Lease(store, ATHLETE, "me", NOW, 600).acquire()
    except LeaseHeld:
        later = NOW + MAX_LEASE_SECONDS + 61
        Lease(store, ATHLETE, "me", later, 600).acquire()  # by then it is ours


# --- app/budget.json ------------------------------------------------------------------------


ledger_docs = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "window_start": st.sampled_from([rules.window_of(NOW), 0, 2**40]) | st.integers(0, 2**62),
        "used_15min": st.integers(0, 2**62),
        "used_daily": st.integers(0, 2**62),
        "limit_15min": st.integers(0, 2**62),
        "limit_daily": st.integers(0, 2**62),
    },
    optional={
        "by_athlete": st.dictionaries(st.integers(1, 5).map(str), st.integers(0, 2**62)),
        "waiting": st.dictionaries(st.integers(1, 500).map(str), st.integers(0, 2**62)),
        "confirmed": st.integers(-(2**62), 2**62),
        "probed": st.integers(-(2**62), 2**62),
    },
).map(lambda d: json.dumps(d).encode())


@fuzz
@given(
    data=ledger_docs | stored_bytes,
    kind=st.sampled_from(rules.KINDS),
    athlete=st.integers(1, 5),
    headroom=st.tuples(st.integers(0, 200), st.integers(0, 2000)),
)
def test_no_stored_ledger_blocks_a_read_beyond_the_next_window(data, kind, athlete, headroom):
    room = rules.Headroom(*headroom)
    ledger = rules.load(data, NOW)
    now = float(NOW)
    verdict = rules.decide(ledger, now, athlete, kind, room)
    if not verdict.allowed:
        assert verdict.until is not None
        assert verdict.until <= ledger.resets_at
        now = float(ledger.resets_at)  # the next window: one read at least (Strava says 0)
        verdict = rules.decide(ledger, now, athlete, kind, room)
    assert verdict.allowed, verdict
    if verdict.why == "probe":
        ledger = rules.probing(ledger, now)
    strava = RateLimitUsage(
        read_usage_15min=1, read_usage_daily=7, read_limit_15min=600, read_limit_daily=30000
    )
    learnt = rules.observe(ledger, strava, now, athlete)
    assert (learnt.limit_15min, learnt.limit_daily) == (600, 30000), "the limit is re-learnt"
    # Strava's own daily count replaces a carried one (this window's count still holds)
    assert learnt.used_daily == max(7, learnt.used_15min)
    assert learnt.used_15min <= max(1, rules.roll(ledger, now).used_15min)


# --- webhook.json and events --------------------------------------------------------------


@fuzz
@given(data=stored_bytes, event_time=st.integers(0, 2**63 - 1))
def test_no_stored_or_forged_tombstone_outlives_the_moment_it_was_confirmed(
    tmp_path_factory, data, event_time
):
    store = LocalObjectStore(tmp_path_factory.mktemp("store"))
    store.put(f"athletes/{ATHLETE}/webhook.json", data)
    marks = load_marks(store, ATHLETE)
    marks.record_delete(7, event_time, NOW)
    marks.prune(NOW, NOW)
    assert all(t <= NOW for t in marks.deleted.values())
    assert all(float(f["at"]) <= NOW + 60 for f in marks.fetched.values())
    created = StravaEvent("activity", 7, "create", ATHLETE, 1, NOW + 1)
    assert marks.covered(7, created, NOW + 2) == "", "a later create was swallowed"


@fuzz
@given(doc=json_values)
def test_any_event_body_is_an_event_or_invalid(doc):
    try:
        event = parse_event(doc)
    except InvalidEvent:
        return
    assert 0 <= event.event_time <= 2**63 - 1


@fuzz
@given(data=stored_bytes)
def test_config_and_token_files_load_or_name_the_fix(data):
    for load in (lambda: AthleteConfig.from_json(data, ATHLETE), lambda: Token.from_json(data)):
        _, failed = attempt(load, ConfigError)
        assert failed is None or "Fix:" in str(failed)


@pytest.mark.parametrize("expires_at", ["9" * 400, "1e400", "-1", "253402300800"])
def test_a_token_expiry_no_clock_can_reach_names_the_fix(expires_at):
    data = f'{{"access_token": "a", "refresh_token": "r", "expires_at": {expires_at}}}'.encode()
    with pytest.raises(ConfigError, match="expires_at"):
        Token.from_json(data).expires_at - 1.5  # what needs_refresh does with it


# --- the enrichment queue ------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 30),
    failing=st.sets(st.integers(0, 29), max_size=10),
    capacity=st.integers(2, 12),
    stamps=st.dictionaries(st.integers(0, 29), st.integers(-(2**40), 2**40), max_size=5),
)
def test_failing_entries_never_starve_the_queue(n, failing, capacity, stamps):
    """A model drain every 15 minutes, newest first, ``capacity`` requests a run, stopping
    after two failures in a row (as ``enrich.Enricher``): every entry that can succeed
    does within a day, whatever fails forever and whatever stamps the state held."""
    queue: eq.Queue = {i: (1000 + i, "d", 0) for i in range(n)}
    failures: eq.Failures = {i: (1, t, "stored") for i, t in stamps.items() if i < n}
    now = NOW
    for _ in range(96):  # one day of 15-minute runs
        spent = in_a_row = 0
        for item in eq.due(queue, failures, now):
            if spent >= capacity:
                break
            spent += 1
            if item.activity_id in failing:
                failures = eq.failed(failures, item.activity_id, now, "500")
                in_a_row += 1
                if in_a_row >= 2:
                    break
                continue
            in_a_row = 0
            eq.done(queue, item.activity_id, item.kinds)
            failures.pop(item.activity_id, None)
        now += 900
    assert set(queue) <= failing, f"entries starved behind failing ones: {set(queue) - failing}"
    assert all(failures[i][0] <= 8 for i in queue), "a failing entry is tried too often"
    assume(failing & set(range(n)))
    assert any(i in eq.parked(failures) for i in queue) or all(
        failures[i][0] < eq.PARK_AFTER for i in queue
    )
