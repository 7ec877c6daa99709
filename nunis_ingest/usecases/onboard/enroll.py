"""Applying a hand-over (``handover.py``): the athlete's token, config and first load.

Runs where the bucket is readable: in the ingest function for a ``{"kind": "enroll"}``
message, or in ``onboard serve`` itself on the local backend. The token is checked with
Strava first (``GET /athlete`` must answer the athlete the hand-over names: the onboarding
account that writes hand-overs must not be able to swap anyone's token), then saved, a new
athlete gets an enabled config, and **an athlete the operator disabled stays disabled**:
their token is kept (so re-enabling needs no new connection), nothing is loaded, and the
log says how to re-enable them (``nunis-ingest athlete enable``). A "needs
re-authorisation" mark is cleared: the token is fresh.

The first full load then runs in the ingest function's own invocation (``apply_and_load``),
or in a background thread of ``onboard serve`` (``apply_here``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from nunis_ingest.adapters.strava.client import StravaClient
from nunis_ingest.adapters.strava.oauth import OAuthClient
from nunis_ingest.core.enrolment import Enrolment, InvalidHandover
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.ownership import require_self
from nunis_ingest.core.token import Token, needs_refresh
from nunis_ingest.core.transitions import reauthorised
from nunis_ingest.errors import AthleteNotConfigured, MalformedMessage
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo, update_state
from nunis_ingest.usecases.onboard import handover

if TYPE_CHECKING:
    from nunis_ingest.context import SyncContext
    from nunis_ingest.core.run_report import RunReport

log = logging.getLogger("nunis_ingest.onboard")

_threads: list[threading.Thread] = []


@dataclass(frozen=True)
class Applied:
    athlete_id: int
    is_new: bool
    enabled: bool


def apply_handover(ctx: SyncContext, enrolment: Enrolment) -> Applied | None:
    """Save what the hand-over holds and delete it; ``None`` when it is gone already (a
    redelivered message: applied before). The token replaces the stored one only once
    Strava says it is this athlete's (``owned``): the hand-over is written by the
    onboarding account, which must not be able to swap any athlete's token."""
    repo = AthleteRepo(ctx.store)
    stored = repo.store.get(enrolment.key)
    if stored is None:
        return None
    athlete_id = enrolment.athlete_id
    try:
        token, label = handover.read(stored.data, athlete_id)
    except InvalidHandover as exc:
        raise MalformedMessage(
            f"Athlete {athlete_id}: {exc} ({enrolment.key}).",
            athlete_id=athlete_id,
            action="send the athlete a new invite; the object is left for inspection.",
        ) from None
    token = owned(ctx, token, athlete_id, enrolment.key)
    repo.save_token(athlete_id, token)
    try:
        old: AthleteConfig | None = repo.load_config(athlete_id)
    except AthleteNotConfigured:
        old = None
    if old is None:
        repo.save_config(AthleteConfig(athlete_id, label=label))
    update_state(repo, athlete_id, reauthorised)
    repo.store.delete(enrolment.key)
    return Applied(athlete_id, is_new=old is None, enabled=old is None or old.enabled)


def owned(ctx: SyncContext, token: Token, athlete_id: int, key: str) -> Token:
    """``token`` (refreshed when due) once ``GET /athlete`` answers ``athlete_id`` with it;
    ``TokenMismatch`` (nothing saved, the hand-over left for inspection) otherwise."""
    if needs_refresh(token, ctx.now()):
        token = OAuthClient.for_app(ctx.session, ctx.settings).refresh(token)
    client = StravaClient(
        ctx.session,
        base_url=ctx.settings.strava_base_url,
        access_token=token.access_token,
        timeout=ctx.settings.http_timeout_seconds,
    )
    require_self(
        client.get_athlete(),
        athlete_id,
        holder=f"The token in the hand-over {key}",
        outcome="the stored token was not replaced",
        action="send the athlete a new invite; the object is left for inspection "
        "(check who can write onboard/enrolments/).",
    )
    return replace(token, athlete_id=athlete_id)


def _disabled(athlete_id: int) -> None:
    log.info(
        "athlete %d connected again but is disabled: token kept, nothing loaded "
        "(`nunis-ingest athlete enable %d` turns them back on)",
        athlete_id,
        athlete_id,
        extra={"json_fields": {"athlete_id": athlete_id, "kind": "onboard"}},
    )


def apply_and_load(ctx: SyncContext, enrolment: Enrolment) -> RunReport | None:
    """The ingest function's answer to an enrolment message: apply it, then run the first
    full load here if the athlete is enabled (``None`` when they are not)."""
    from nunis_ingest.usecases.sync import run_sync

    repo = AthleteRepo(ctx.store)
    applied = apply_handover(ctx, enrolment)
    enabled = applied.enabled if applied else repo.load_config(enrolment.athlete_id).enabled
    if not enabled:
        _disabled(enrolment.athlete_id)
        return None
    request = SyncRequest(athlete_id=enrolment.athlete_id, mode="all", trigger="onboard")
    return run_sync(request, ctx)


def apply_here(ctx: SyncContext, enrolment: Enrolment) -> str:
    """``onboard serve``: apply at once and start the first load in the background; the
    word for the confirmation page."""
    applied = apply_handover(ctx, enrolment)
    if applied is None or not applied.enabled:
        _disabled(enrolment.athlete_id)
        return "paused"
    thread = threading.Thread(
        target=_run_inline,
        args=(ctx, enrolment.athlete_id),
        name=f"onboard-{enrolment.athlete_id}",
        daemon=True,
    )
    _threads.append(thread)
    thread.start()
    return "started"


def _run_inline(ctx: SyncContext, athlete_id: int) -> None:
    from nunis_ingest.usecases.sync import run_sync

    try:
        report = run_sync(SyncRequest(athlete_id=athlete_id, mode="all", trigger="onboard"), ctx)
        log.info("athlete %d: first load: %s", athlete_id, report.summary())
    except Exception as exc:  # a thread has no caller to raise to
        log.error("athlete %d: the first load failed: %s", athlete_id, exc)


def wait_for_loads(timeout: float = 60.0) -> None:
    """Join the inline first loads (``onboard serve`` on exit, tests)."""
    while _threads:
        _threads.pop().join(timeout)
