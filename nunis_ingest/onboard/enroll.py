"""After a good callback: store the athlete's token, enable them, start their first load.

The first load is a ``{"athlete_id": id, "mode": "all"}`` message on the function's own
ingest topic (``NUNIS_INGEST_TOPIC``) when one is set, which is how the deployment runs
it. With no topic on the local backend it runs in a background thread of this process
(the local webhook worker only reads webhook events, so the local queue file is no use
here). On gcp without a topic nothing is started: the next scheduled poll loads them.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from nunis_ingest.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.errors import AthleteNotConfigured
from nunis_ingest.events import SyncRequest
from nunis_ingest.strava.oauth import Token

if TYPE_CHECKING:
    from nunis_ingest.ports import Queue
    from nunis_ingest.runtime import Runtime

log = logging.getLogger("nunis_ingest.onboard")

_threads: list[threading.Thread] = []


def enroll(repo: AthleteRepo, athlete_id: int, token: Token, label: str) -> bool:
    """Save the token, then an enabled config (kept settings if they had one); clear a
    "needs re-authorisation" mark. True when the athlete is new to this deployment."""
    repo.save_token(athlete_id, token)
    try:
        old: AthleteConfig | None = repo.load_config(athlete_id)
    except AthleteNotConfigured:
        old = None
    config = AthleteConfig(athlete_id, label=label) if old is None else replace(old, enabled=True)
    repo.save_config(config)
    state, generation = repo.load_state(athlete_id)
    if state.needs_reauth or state.last_error_class:
        repo.save_state(
            athlete_id,
            replace(state, needs_reauth=False, last_error_class=None, last_error_message=None),
            generation,
        )
    return old is None


def first_load_message(athlete_id: int) -> bytes:
    return json.dumps({"athlete_id": athlete_id, "mode": "all"}).encode()


def start_first_load(rt: Runtime, athlete_id: int, publisher: Queue | None) -> str:
    """Start the athlete's full load; return how, in words for the confirmation page."""
    if publisher is not None:
        publisher.put(first_load_message(athlete_id), attributes={"athlete_id": str(athlete_id)})
        return "queued"
    if rt.settings.backend == "local":
        thread = threading.Thread(
            target=_run_inline, args=(rt, athlete_id), name=f"onboard-{athlete_id}", daemon=True
        )
        _threads.append(thread)
        thread.start()
        return "started"
    log.warning(
        "athlete %d onboarded; no NUNIS_INGEST_TOPIC, so the next scheduled run loads them",
        athlete_id,
    )
    return "scheduled"


def _run_inline(rt: Runtime, athlete_id: int) -> None:
    from nunis_ingest.sync import run_sync

    try:
        report = run_sync(
            SyncRequest(athlete_id=athlete_id, mode="all", trigger="onboard"), rt.context()
        )
        log.info("athlete %d: first load: %s", athlete_id, report.summary())
    except Exception as exc:  # a thread has no caller to raise to
        log.error("athlete %d: the first load failed: %s", athlete_id, exc)


def wait_for_loads(timeout: float = 60.0) -> None:
    """Join the inline first loads (``onboard serve`` on exit, tests)."""
    while _threads:
        _threads.pop().join(timeout)
