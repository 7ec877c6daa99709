"""The hand-over of a new athlete's token from the onboarding page to the ingest function.

The page runs on an account that may only *create* objects under ``onboard/``: it cannot
read or overwrite any athlete's token or config. So it writes the token it received to a
fresh object, ``onboard/enrolments/<athlete id>-<invite id>.json`` (create-only), and
publishes ``{"kind": "enroll", "athlete_id": ..., "handover": <key>}`` on the ingest topic
(``enrolment.py``); the ingest function, which holds the bucket, applies it
(``enroll.apply_handover``) and deletes the object. The message carries no secret: a
dead-lettered or replayed copy shows an athlete id and a key, never a token.
"""

from __future__ import annotations

import json
import time

from nunis_ingest.core.enrolment import InvalidHandover, handover_key
from nunis_ingest.core.token import Token
from nunis_ingest.errors import ConfigError
from nunis_ingest.ports import CREATE_ONLY, ObjectStore


def write(store: ObjectStore, athlete_id: int, invite_id: str, token: Token, label: str) -> str:
    """Store the hand-over (create-only: an invite hands over one athlete once)."""
    key = handover_key(athlete_id, invite_id)
    doc = {
        "athlete_id": athlete_id,
        "token": json.loads(token.to_json()),
        "label": label[:200],
        "invite": invite_id,
        "created_at": int(time.time()),
    }
    store.put(key, json.dumps(doc).encode(), if_generation=CREATE_ONLY)
    return key


def read(data: bytes, athlete_id: int) -> tuple[Token, str]:
    """The token and label of a stored hand-over, checked against the athlete it is for."""
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("athlete_id") != athlete_id:
            raise ValueError("it names another athlete")
        token = Token.from_json(json.dumps(doc["token"]).encode())
        if token.athlete_id not in (None, athlete_id) or not token.refresh_token:
            raise ValueError("its token is not this athlete's")
        return token, str(doc.get("label", ""))[:200]
    except (ValueError, KeyError, TypeError, ConfigError) as exc:
        raise InvalidHandover(f"the hand-over is unreadable: {exc}") from None
