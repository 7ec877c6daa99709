"""Used onboarding nonces, recorded with a create-only write so a state works once,
across every instance that shares the object store."""

from __future__ import annotations

import json

from nunis_ingest.errors import PreconditionFailed
from nunis_ingest.ports import CREATE_ONLY, ObjectStore

NONCES_PREFIX = "onboard/nonces/"


def nonce_key(nonce: str) -> str:
    """The nonce has already passed ``state.check_state`` (URL-safe characters only)."""
    return f"{NONCES_PREFIX}{nonce}.json"


def claim(store: ObjectStore, nonce: str, now: float) -> bool:
    """True the first time ``nonce`` is claimed; False for a replay."""
    try:
        store.put(
            nonce_key(nonce), json.dumps({"used_at": int(now)}).encode(), if_generation=CREATE_ONLY
        )
    except PreconditionFailed:
        return False
    return True
