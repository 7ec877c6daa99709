"""The real pipeline over real HTTP against strava_sandbox, with crashes injected at the ports.

A crash is a ``Crash`` (a BaseException, like the SIGKILL of a function instance): no
``except Exception`` in the pipeline can swallow it, and after it fires the "process" is
dead: every later store or warehouse call raises too, so nothing (not even the lease
release) runs after the chosen point, exactly as when the instance is killed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import requests

from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.token import Token
from nunis_ingest.core.transform import content_hash
from nunis_ingest.errors import NunisError, decide
from nunis_ingest.ports import (
    Listed,
    ObjectStore,
    Row,
    StagedBatch,
    Stored,
    Warehouse,
    WriteResult,
)
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.sync import RunReport, SyncContext, run_sync

LISTING = "/api/v3/athlete/activities"


class Crash(BaseException):
    """The function instance died here."""


@dataclass
class Tap:
    """Shared event log of store, warehouse and HTTP calls, and the crash trigger."""

    crash_when: Callable[[str, str], bool] = lambda op, key: False
    events: list[tuple[str, str]] = field(default_factory=list)
    dead: bool = False

    def hit(self, op: str, key: str) -> None:
        if self.dead:
            raise Crash(f"dead process called {op} {key}")
        self.events.append((op, key))
        if self.crash_when(op, key):
            self.dead = True
            raise Crash(f"crash at {op} {key}")


class TapStore:
    def __init__(self, inner: ObjectStore, tap: Tap) -> None:
        self.inner, self.tap = inner, tap

    def get(self, key: str) -> Stored | None:
        self.tap.hit("get", key)
        return self.inner.get(key)

    def put(self, key: str, data: bytes, *, if_generation: int | None = None) -> int:
        self.tap.hit("put", key)
        return self.inner.put(key, data, if_generation=if_generation)

    def delete(self, key: str, *, if_generation: int | None = None) -> bool:
        self.tap.hit("delete", key)
        return self.inner.delete(key, if_generation=if_generation)

    def list(self, prefix: str) -> Iterator[str]:
        self.tap.hit("list", prefix)
        return self.inner.list(prefix)


class TapStoreAfterPut(TapStore):
    """Like TapStore, but also reports "put-done" once a write is durable."""

    def put(self, key: str, data: bytes, *, if_generation: int | None = None) -> int:
        generation = super().put(key, data, if_generation=if_generation)
        self.tap.hit("put-done", key)
        return generation


class TapBatch:
    def __init__(self, inner: StagedBatch, tap: Tap) -> None:
        self.inner, self.tap = inner, tap

    def add(self, rows: Sequence[Row]) -> None:
        self.tap.hit("stage", str(len(rows)))
        self.inner.add(rows)

    def add_activities(self, items: Sequence[Listed], seen_at: datetime) -> None:
        self.tap.hit("stage", str(len(items)))
        self.inner.add_activities(items, seen_at)

    def commit(self, *, replace: bool, max_delete_share: float | None = None) -> WriteResult:
        self.tap.hit("commit", "")
        result = self.inner.commit(replace=replace, max_delete_share=max_delete_share)
        self.tap.hit("commit-done", "")
        return result

    def discard(self) -> None:
        if not self.tap.dead:
            self.inner.discard()


class TapWarehouse:
    def __init__(self, inner: Warehouse, tap: Tap) -> None:
        self.inner, self.tap = inner, tap
        self.operations = inner.operations

    def stage(self, athlete_id: int, run_id: str) -> StagedBatch:
        return TapBatch(self.inner.stage(athlete_id, run_id), self.tap)

    def record_run(self, run: Row) -> None:
        self.tap.hit("record_run", "")
        self.inner.record_run(run)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class TapSession(requests.Session):
    def __init__(self, tap: Tap) -> None:
        super().__init__()
        self.tap = tap

    def request(self, method: str | bytes, url: str | bytes, *a: Any, **kw: Any) -> Any:  # type: ignore[override]
        path = str(url).split("://", 1)[-1].partition("/")[2]
        self.tap.hit("http", "/" + path)
        return super().request(method, url, *a, **kw)


@dataclass
class Outcome:
    """What main.ingest would do: "ack" (return) or "retry" (raise)."""

    decision: str
    report: RunReport | None = None
    error: NunisError | None = None


class Pipeline:
    """Runs syncs like the function does, with the sandbox clock and optional crashes."""

    def __init__(self, rt: Runtime, sandbox: Any) -> None:
        self.rt, self.sandbox = rt, sandbox
        self.tap = Tap()
        self.monotonic: Callable[[], float] | None = None
        self.skew = 0.0  # our clock minus Strava's: clocks lie
        self.on_page: Callable[[int, int], None] | None = None

    def context(self, tap: Tap | None = None) -> SyncContext:
        ctx = self.rt.context(on_page=self.on_page)
        ctx.now = lambda: self.sandbox.clock() + self.skew
        ctx.sleep = lambda seconds: None  # backoff is exercised, not waited out
        if self.monotonic is not None:
            ctx.monotonic = self.monotonic
        if tap is not None:
            ctx.store = TapStoreAfterPut(ctx.store, tap)
            ctx.warehouse = TapWarehouse(ctx.warehouse, tap)
            ctx.session = TapSession(tap)
        return ctx

    def run(
        self, athlete_id: int, mode: str = "new", *, tap: Tap | None = None, **kw: Any
    ) -> Outcome:
        request = SyncRequest(athlete_id=athlete_id, mode=mode, trigger="test", **kw)  # type: ignore[arg-type]
        try:
            report = run_sync(request, self.context(tap))
        except NunisError as exc:  # the one mapping main.ingest, the CLI and the worker use
            return Outcome("retry" if decide(exc, mode=mode).retry else "ack", error=exc)
        return Outcome("ack", report=report)

    def crash(self, athlete_id: int, mode: str, when: Callable[[str, str], bool]) -> Tap:
        tap = Tap(crash_when=when)
        with pytest.raises(Crash):
            self.run(athlete_id, mode, tap=tap)
        return tap


@pytest.fixture
def make_rt(sandbox: Any, tmp_path: Any) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(**env: str) -> Runtime:
        app = sandbox.app()
        base = {
            "NUNIS_BACKEND": "local",
            "NUNIS_DATA_DIR": str(tmp_path / "data"),
            "NUNIS_STRAVA_BASE_URL": sandbox.base_url,
            "STRAVA_CLIENT_ID": str(app["client_id"]),
            "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
            "NUNIS_LOG_FORMAT": "console",
        }
        runtime = Runtime(load_settings(base | env))
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        close = getattr(runtime.warehouse, "close", None)
        if close:
            close()


@pytest.fixture
def rt(make_rt: Callable[..., Runtime]) -> Runtime:
    return make_rt()


@pytest.fixture
def pipe(rt: Runtime, sandbox: Any) -> Pipeline:
    return Pipeline(rt, sandbox)


def register(rt: Runtime, athlete: dict[str, Any], **config: Any) -> int:
    """Store a sandbox athlete's current token and a config, as `athlete add` would."""
    athlete_id = int(athlete["id"])
    repo = AthleteRepo(rt.store)
    token = Token(
        access_token=athlete["access_token"],
        refresh_token=athlete["refresh_token"],
        expires_at=int(athlete["expires_at"]),
        scope=athlete.get("scope"),
        athlete_id=athlete_id,
    )
    repo.save_token(athlete_id, token)
    repo.save_config(AthleteConfig(athlete_id, **config))
    return athlete_id


def new_athlete(sandbox: Any, rt: Runtime, activities: int, **config: Any) -> int:
    """A fresh sandbox athlete with ``activities``, registered with ``config``."""
    return register(rt, sandbox.create_athlete(activities=activities), **config)


def warehouse_rows(rt: Runtime, athlete_id: int) -> list[tuple[int, str]]:
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        rows = con.execute(
            "select id, content_hash from activities where athlete_id = ? order by id", [athlete_id]
        ).fetchall()
    return [(int(i), str(h)) for i, h in rows]


def assert_converged(rt: Runtime, sandbox: Any, athlete_id: int, *, only_me: bool = True) -> None:
    """The warehouse holds exactly Strava's truth: same ids, same content, no duplicate."""
    want = {
        int(a["id"]): content_hash(a)
        for a in sandbox.truth(athlete_id)
        if only_me or a.get("visibility") != "only_me"
    }
    rows = warehouse_rows(rt, athlete_id)
    ids = [i for i, _ in rows]
    assert len(ids) == len(set(ids)), "duplicate activity rows"
    assert set(ids) == set(want), (
        f"missing {sorted(set(want) - set(ids))[:5]}, extra {sorted(set(ids) - set(want))[:5]}"
    )
    assert dict(rows) == want, "some rows differ from Strava's current version"


def assert_token_works(rt: Runtime, sandbox: Any, athlete_id: int) -> None:
    """The stored token is the athlete's live one: the API accepts it and it refreshes."""
    token = AthleteRepo(rt.store).load_token(athlete_id)
    live = {int(a["id"]): a for a in sandbox.athletes()}[athlete_id]
    assert token.refresh_token == live["refresh_token"], "the stored refresh token is stale"
    answer = requests.get(
        f"{sandbox.base_url}/api/v3/athlete",
        headers={"Authorization": f"Bearer {token.access_token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def listing_requests(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests_log()["requests"] if r["path"] == LISTING]


def state_of(rt: Runtime, athlete_id: int) -> Any:
    return AthleteRepo(rt.store).load_state(athlete_id)[0]
