"""Fixtures for end-to-end runs: the real pipeline, over real HTTP, against the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.token import Token
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.sync import RunReport, run_sync


@pytest.fixture
def app_env(sandbox, tmp_path) -> dict[str, str]:
    app = sandbox.app()
    return {
        "NUNIS_BACKEND": "local",
        "NUNIS_DATA_DIR": str(tmp_path / "data"),
        "NUNIS_STRAVA_BASE_URL": sandbox.base_url,
        "STRAVA_CLIENT_ID": str(app["client_id"]),
        "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
        "NUNIS_LOG_FORMAT": "console",
    }


@pytest.fixture
def rt(app_env) -> Runtime:
    runtime = Runtime(load_settings(app_env))
    yield runtime
    close = getattr(runtime.warehouse, "close", None)
    if close:
        close()


def register(rt: Runtime, athlete: dict[str, Any], **config: Any) -> int:
    """Store a sandbox athlete's current token and a config, as `athlete add` would."""
    athlete_id = int(athlete["id"])
    repo = AthleteRepo(rt.store)
    repo.save_token(
        athlete_id,
        Token(
            access_token=athlete["access_token"],
            refresh_token=athlete["refresh_token"],
            expires_at=int(athlete["expires_at"]),
            scope=athlete.get("scope"),
        ),
    )
    repo.save_config(AthleteConfig(athlete_id, **config))
    return athlete_id


@pytest.fixture
def sync(rt, sandbox) -> Callable[..., RunReport]:
    """Run one sync with the sandbox's clock as the pipeline's wall clock."""

    def run(athlete_id: int, mode: str = "new", **kw: Any) -> RunReport:
        ctx = rt.context()
        ctx.now = sandbox.clock
        return run_sync(SyncRequest(athlete_id=athlete_id, mode=mode, trigger="test", **kw), ctx)

    return run


def truth(sandbox, athlete_id: int) -> dict[int, dict[str, Any]]:
    return {int(a["id"]): a for a in sandbox.truth(athlete_id)}


def loaded(rt: Runtime, athlete_id: int) -> set[int]:
    return set(rt.warehouse.fetch_activity_hashes(athlete_id))
