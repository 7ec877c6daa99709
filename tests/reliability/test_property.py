"""Property: whatever Strava does and whatever fails, a final complete `all` converges.

A hypothesis state machine drives random Strava-side changes (create at any start date,
edit, including names holding half an emoji (a lone UTF-16 surrogate), delete, revoke and
re-authorise), polls in both modes with injected faults and duplicate deliveries, and
clock jumps (which rotate tokens). Invariants:

- every poll ends in the right decision: an ack (return) or a retriable raise; a
  permanent error only for a revoked athlete (a spurious 401 or a skewed clock is not one);
- a row leaves the warehouse only when Strava confirms the activity is gone: after every
  poll, each activity Strava still serves that was loaded before is still loaded, even
  when the athlete deletes another activity while the listing pages through;
- a fault-free `new` catches every create and edit whose start date is inside the
  lookback window (deletions wait for the next `all`);
- a webhook event (live or deleted activity, at most one transient 401, 404 or 503)
  leaves the row equal to Strava's summary, or no row, and ``known`` in step with it;
  a forged deauthorization with one spurious 401 purges nothing;
- at the end, after re-authorising everyone and a complete `all`, the warehouse equals
  the sandbox's truth for every athlete, with no duplicate, and every token works.

Examples: 25 by default; ``NUNIS_PROPERTY_EXAMPLES=500`` for the long run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as s
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from nunis_ingest.core.token import Token
from nunis_ingest.core.transform import content_hash, start_epoch
from nunis_ingest.core.webhook_event import QueuedEvent, StravaEvent
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.webhook.process import process
from strava_sandbox.testing import SandboxControl
from tests.reliability.conftest import (
    LISTING,
    Pipeline,
    assert_converged,
    assert_token_works,
    register,
    state_of,
)

EXAMPLES = int(os.environ.get("NUNIS_PROPERTY_EXAMPLES", "25"))
DAY = 86400
LOOKBACK_DAYS = 7

FAULTS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "429": {"kind": "status", "status": 429, "after": 1, "times": 1},
    "500-forever": {"kind": "status", "status": 500, "after": 1},
    "503-once": {"kind": "status", "status": 503, "times": 1},
    "drop": {"kind": "drop", "after": 1, "times": 1},
    "malformed": {"kind": "malformed", "times": 1},
    "short-pages": {"kind": "short_page", "size": 3},
    "401-once": {"kind": "status", "status": 401, "times": 1},
    "empty-page": {"kind": "short_page", "size": 0, "after": 1, "times": 1},
}

EVENT_FAULTS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "401-once": {"kind": "status", "status": 401, "times": 1},
    "404-once": {"kind": "status", "status": 404, "times": 1},
    "503-once": {"kind": "status", "status": 503, "times": 1},
}


class Pipeline_(RuleBasedStateMachine):
    base_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.sandbox = SandboxControl(self.base_url)
        self.sandbox.reset(athletes=2, activities=8)
        self.tmp = tempfile.mkdtemp(prefix="nunis-prop-")
        app = self.sandbox.app()
        env = {
            "NUNIS_BACKEND": "local",
            "NUNIS_DATA_DIR": self.tmp,
            "NUNIS_STRAVA_BASE_URL": self.sandbox.base_url,
            "STRAVA_CLIENT_ID": str(app["client_id"]),
            "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
            "NUNIS_LOG_FORMAT": "console",
        }
        self.app = app
        self.rt = Runtime(load_settings(env))
        self.pipe = Pipeline(self.rt, self.sandbox)
        self.ids: list[int] = []
        self.revoked: set[int] = set()
        self.deleted: dict[int, list[int]] = {}
        self.events = 0

    @initialize()
    def register_athletes(self) -> None:
        for athlete in self.sandbox.athletes():
            self.ids.append(register(self.rt, athlete, lookback_days=LOOKBACK_DAYS))

    def _pick(self, data: s.DataObject) -> int:
        return data.draw(s.sampled_from(self.ids), label="athlete")

    def _activity(self, data: s.DataObject) -> dict[str, Any] | None:
        athlete = self._pick(data)
        activities = self.sandbox.truth(athlete)
        return data.draw(s.sampled_from(activities), label="activity") if activities else None

    # --- Strava-side changes -------------------------------------------------------

    @rule(
        data=s.data(),
        days_ago=s.one_of(s.integers(0, 40), s.integers(-3 * 365, -1)),  # device clocks lie
        seconds=s.integers(60, DAY - 1),
        only_me=s.booleans(),
    )
    def create(self, data: s.DataObject, days_ago: int, seconds: int, only_me: bool) -> None:
        start = int(self.sandbox.clock()) - days_ago * DAY - seconds
        visibility = "only_me" if only_me else "everyone"
        self.sandbox.add_activity(self._pick(data), start_date=start, visibility=visibility)

    @rule(data=s.data(), name=s.text("abcé🏃 \ud83d", min_size=1, max_size=12))  # half an emoji too
    def edit(self, data: s.DataObject, name: str) -> None:
        activity = self._activity(data)
        if activity is not None:
            self.sandbox.patch_activity(activity["id"], name=name)

    @rule(data=s.data())
    def delete(self, data: s.DataObject) -> None:
        activity = self._activity(data)
        if activity is not None:
            self.sandbox.delete_activity(activity["id"])
            owner = int(activity["athlete"]["id"])
            self.deleted.setdefault(owner, []).append(int(activity["id"]))

    @rule(data=s.data())
    def revoke(self, data: s.DataObject) -> None:
        athlete = self._pick(data)
        self.sandbox.revoke(athlete)
        self.revoked.add(athlete)

    @precondition(lambda self: bool(self.revoked))
    @rule(data=s.data())
    def reauthorise(self, data: s.DataObject) -> None:
        self._reauthorise(data.draw(s.sampled_from(sorted(self.revoked)), label="athlete"))

    @rule(hours=s.sampled_from([0.3, 5.5, 7.0, 26.0]))
    def time_passes(self, hours: float) -> None:
        self.sandbox.advance_clock(hours * 3600)

    @rule(skew=s.sampled_from([-7200.0, -600.0, 0.0, 900.0]))
    def our_clock_drifts(self, skew: float) -> None:
        self.pipe.skew = skew

    @rule(data=s.data(), mode=s.sampled_from(["new", "all"]))
    def delete_while_listing(self, data: s.DataObject, mode: str) -> None:
        """The athlete deletes an activity while a listing of pages of 3 is under way."""
        athlete = self._pick(data)
        victims = sorted(self.sandbox.truth(athlete), key=lambda a: a["start_date"])
        if len(victims) < 4:
            return
        victim = data.draw(s.sampled_from(victims), label="deleted meanwhile")
        done: list[bool] = []

        def on_page(pages: int, seen: int) -> None:
            if pages == 1 and not done:
                done.append(True)
                self.sandbox.delete_activity(victim["id"])

        self.sandbox.add_fault(method="GET", path=LISTING, kind="short_page", size=3)
        self.pipe.on_page = on_page
        try:
            self._poll_checked(athlete, mode, 1)
        finally:
            self.pipe.on_page = None
            self.sandbox.clear_faults()

    # --- polls ------------------------------------------------------------------

    @rule(
        data=s.data(),
        mode=s.sampled_from(["new", "all"]),
        fault=s.sampled_from(sorted(FAULTS)),
        deliveries=s.integers(1, 2),
    )
    def poll(self, data: s.DataObject, mode: str, fault: str, deliveries: int) -> None:
        athlete = self._pick(data)
        spec = FAULTS[fault]
        if spec:
            self.sandbox.add_fault(method="GET", path=LISTING, **spec)
        before = state_of(self.rt, athlete)
        outcomes = self._poll_checked(athlete, mode, deliveries)
        self.sandbox.clear_faults()
        first = outcomes[0].report
        if (
            spec is None
            and mode == "new"
            and before.pending is None
            and before.cursor is not None
            and athlete not in self.revoked
            and first is not None
            and first.outcome == "success"
        ):
            self._check_window(athlete, before.cursor - LOOKBACK_DAYS * DAY)

    def _poll_checked(self, athlete: int, mode: str, deliveries: int) -> list[Any]:
        loaded = set(self.rt.warehouse.fetch_activity_hashes(athlete))
        outcomes = [self.pipe.run(athlete, mode, force=True) for _ in range(deliveries)]
        for outcome in outcomes:
            if outcome.error is not None and not outcome.error.retriable:
                assert athlete in self.revoked, f"permanent failure: {outcome.error}"
        live = {int(a["id"]) for a in self.sandbox.truth(athlete)}
        kept = set(self.rt.warehouse.fetch_activity_hashes(athlete))
        lost = (loaded & live) - kept
        assert not lost, f"live activities left the warehouse: {sorted(lost)}"
        return outcomes

    # --- webhook events interleaved with the polls ----------------------------------

    @rule(
        data=s.data(),
        aspect=s.sampled_from(["create", "update", "delete"]),
        fault=s.sampled_from(sorted(EVENT_FAULTS)),
        gone=s.booleans(),
    )
    def webhook_event(self, data: s.DataObject, aspect: str, fault: str, gone: bool) -> None:
        """An event for a live or a deleted activity, with at most one transient fault:
        the row and the sync state agree with Strava afterwards."""
        athlete = self._pick(data)
        if athlete in self.revoked:
            return
        if gone and self.deleted.get(athlete):
            activity_id = data.draw(s.sampled_from(self.deleted[athlete]), label="deleted")
        else:
            activity = self._activity_of(athlete, data)
            if activity is None:
                return
            activity_id = int(activity["id"])
        spec = EVENT_FAULTS[fault]
        if spec:
            self.sandbox.add_fault(method="GET", path=f"/api/v3/activities/{activity_id}", **spec)
        self.events += 1
        event = StravaEvent(
            "activity",
            activity_id,
            aspect,
            athlete,
            1,
            int(self.sandbox.clock()),
            {"title": str(self.events)},
        )
        process([QueuedEvent(event, time.time())], self.pipe.context())
        self.sandbox.clear_faults()
        truth = {int(a["id"]): a for a in self.sandbox.truth(athlete)}
        stored = self.rt.warehouse.fetch_activity_hashes(athlete)
        state = state_of(self.rt, athlete)
        if activity_id not in truth:
            assert activity_id not in stored
            assert activity_id not in state.known
            return
        digest = content_hash(truth[activity_id])
        assert stored.get(activity_id) == digest, "the row is not Strava's summary"
        start = start_epoch(truth[activity_id])
        if state.cursor is not None and start is not None:
            inside = start >= state.cursor - LOOKBACK_DAYS * DAY
            assert (state.known.get(activity_id) == (digest, start)) == inside

    @rule(data=s.data())
    def forged_deauthorization(self, data: s.DataObject) -> None:
        """Anyone can post one; with one spurious 401 it still purges nothing."""
        athlete = self._pick(data)
        if athlete in self.revoked:
            return
        rows = self.rt.warehouse.count_activities(athlete)
        self.sandbox.add_fault(
            kind="status", method="GET", path="/api/v3/athlete", status=401, times=1
        )
        event = StravaEvent("athlete", athlete, "update", athlete, 1, 0, {"authorized": "false"})
        outcomes = process([QueuedEvent(event, time.time())], self.pipe.context())
        self.sandbox.clear_faults()
        assert [o.action for o in outcomes] == ["ignored"]
        assert self.rt.warehouse.count_activities(athlete) == rows
        assert AthleteRepo(self.rt.store).load_config(athlete).enabled
        assert_token_works(self.rt, self.sandbox, athlete)

    def _activity_of(self, athlete: int, data: s.DataObject) -> dict[str, Any] | None:
        activities = self.sandbox.truth(athlete)
        return data.draw(s.sampled_from(activities), label="activity") if activities else None

    def _check_window(self, athlete: int, after: int) -> None:
        """`new` alone catches every create and edit that started inside the window."""
        stored = self.rt.warehouse.fetch_activity_hashes(athlete)
        for activity in self.sandbox.truth(athlete):
            if (start_epoch(activity) or 0) > after:
                assert stored.get(int(activity["id"])) == content_hash(activity)

    def _reauthorise(self, athlete: int) -> None:
        """What `nunis-ingest auth` does: authorise, exchange the code, clear needs_reauth."""
        redirect = requests.get(
            f"{self.sandbox.base_url}/oauth/authorize",
            params={
                "client_id": self.app["client_id"],
                "redirect_uri": "http://127.0.0.1:9/cb",
                "scope": "read,activity:read_all",
                "athlete_id": athlete,
                "state": "x",
            },
            allow_redirects=False,
            timeout=10,
        )
        code = parse_qs(urlparse(redirect.headers["Location"]).query)["code"][0]
        answer = requests.post(
            f"{self.sandbox.base_url}/oauth/token",
            data={
                "client_id": self.app["client_id"],
                "client_secret": self.app["client_secret"],
                "grant_type": "authorization_code",
                "code": code,
            },
            timeout=10,
        ).json()
        repo = AthleteRepo(self.rt.store)
        repo.save_token(
            athlete,
            Token(
                answer["access_token"],
                answer["refresh_token"],
                int(answer["expires_at"]),
                "read,activity:read_all",
                athlete,
            ),
        )
        state, generation = repo.load_state(athlete)
        if state.needs_reauth:
            from dataclasses import replace

            repo.save_state(athlete, replace(state, needs_reauth=False), generation)
        self.revoked.discard(athlete)

    def teardown(self) -> None:
        try:
            if not self.ids:
                return
            self.sandbox.clear_faults()
            for athlete in sorted(self.revoked):
                self._reauthorise(athlete)
            self.sandbox.advance_clock(DAY)  # fresh rate-limit windows
            for athlete in self.ids:
                self._final_all(athlete)
                assert_converged(self.rt, self.sandbox, athlete)
                assert_token_works(self.rt, self.sandbox, athlete)
        finally:
            close = getattr(self.rt.warehouse, "close", None)
            if close:
                close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _final_all(self, athlete: int) -> None:
        """A complete `all`: one that started fresh (a resumed one reflects each part as of
        when it was listed, so changes made meanwhile wait for the next one)."""
        for _ in range(3):
            resumed = state_of(self.rt, athlete).pending is not None
            outcome = self.pipe.run(athlete, "all", force=True)
            assert outcome.error is None, outcome.error
            assert outcome.report is not None
            if outcome.report.outcome == "success" and not resumed:
                return
        raise AssertionError("no complete `all` in three attempts")


@pytest.fixture
def machine(sandbox_server: Any) -> type[Pipeline_]:
    Pipeline_.base_url = sandbox_server.base_url
    return Pipeline_


@pytest.mark.timeout(max(300, EXAMPLES * 4))  # the long run must not hit the default cap
def test_warehouse_converges_to_strava_under_random_changes_and_faults(
    machine: type[Pipeline_], sandbox_server: Any
) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=12,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        SandboxControl(sandbox_server.base_url).reset()
