"""Used onboarding nonces, recorded with a create-only write so a state works once,
across every instance that shares the object store.

The key carries the state's issue time, so records can be swept without reading them:
once a state is older than ``state.MAX_AGE_SECONDS`` (plus the clock skew allowed) it is
refused as expired anyway, and its record is no longer needed.
"""

from __future__ import annotations

import json
import logging

from nunis_ingest.errors import PreconditionFailed
from nunis_ingest.onboard.state import CLOCK_SKEW_SECONDS, MAX_AGE_SECONDS, State
from nunis_ingest.ports import CREATE_ONLY, ObjectStore

log = logging.getLogger("nunis_ingest.onboard")

NONCES_PREFIX = "onboard/nonces/"
SWEEP_LIMIT = 100


def nonce_key(state: State) -> str:
    """The state has passed ``state.check_state`` (digits and URL-safe characters only)."""
    return f"{NONCES_PREFIX}{state.issued_at:012d}-{state.nonce}.json"


def claim(store: ObjectStore, state: State, now: float) -> bool:
    """True the first time ``state`` is claimed; False for a replay. Sweeps stale records."""
    try:
        store.put(
            nonce_key(state),
            json.dumps({"used_at": int(now)}).encode(),
            if_generation=CREATE_ONLY,
        )
    except PreconditionFailed:
        return False
    sweep(store, now)
    return True


def sweep(store: ObjectStore, now: float, limit: int = SWEEP_LIMIT) -> int:
    """Delete up to ``limit`` records of states too old to be accepted; return how many.
    Best effort: a failure is logged, never raised (the athlete's callback succeeded)."""
    cutoff = now - MAX_AGE_SECONDS - CLOCK_SKEW_SECONDS
    deleted = 0
    try:
        for key in store.list(NONCES_PREFIX):
            issued = key.removeprefix(NONCES_PREFIX).partition("-")[0]
            if not issued.isdigit() or int(issued) >= cutoff:
                break  # keys sort by issue time: the rest are younger
            store.delete(key)
            deleted += 1
            if deleted >= limit:
                break
    except Exception as exc:
        log.warning("onboarding: sweeping old nonce records failed: %s", type(exc).__name__)
    return deleted
