"""Invites: only the athletes the operator invited may connect.

``nunis-ingest onboard invite`` mints ``i1.<id>.<expires-at>.<mac>`` (HMAC-SHA256 under
``NUNIS_ONBOARD_SECRET``, purpose ``invite``) and prints the page's address with it, once;
it is stored nowhere. The page checks the signature and the expiry with no I/O at all, so a
visitor without a valid invite is refused before any storage operation, token exchange or
Strava request: an anonymous caller costs the page nothing but the check itself.

An invite is good for one connection: its id travels in the signed OAuth state, and the
callback claims it with a create-only write (``onboard/invites/<id>.json``) just before
the code exchange. A second use finds the record and is refused, still before any Strava
request. Cancelling at Strava or unticking private activities does not use it up.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from nunis_ingest.core.signing import (
    CLOCK_SKEW_SECONDS,
    DIGITS,
    INVITE_ID,
    MAC,
    StateRejected,
    mac,
)
from nunis_ingest.errors import PreconditionFailed
from nunis_ingest.ports import CREATE_ONLY, ObjectStore

VERSION = "i1"
DEFAULT_DAYS = 7
MAX_DAYS = 30
INVITES_PREFIX = "onboard/invites/"
PARAMETER = "invite"


@dataclass(frozen=True)
class Invite:
    id: str
    expires_at: int
    token: str


def mint(secret: str, now: float, days: int = DEFAULT_DAYS) -> Invite:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"an invite is valid for 1 to {MAX_DAYS} days, not {days}")
    invite_id = secrets.token_urlsafe(12)
    expires = int(now) + days * 86400
    message = f"{VERSION}.{invite_id}.{expires}"
    return Invite(invite_id, expires, f"{message}.{mac(secret, 'invite', message)}")


def check_invite(secret: str, text: str, now: float) -> Invite:
    """The invite, or ``StateRejected`` (``missing``, ``malformed``, ``tampered``,
    ``expired``). Pure: no I/O."""
    if not text:
        raise StateRejected("missing")
    parts = text.split(".")
    if (
        len(parts) != 4
        or parts[0] != VERSION
        or not INVITE_ID.fullmatch(parts[1])
        or not DIGITS.fullmatch(parts[2])
        or not MAC.fullmatch(parts[3])
    ):
        raise StateRejected("malformed")
    message = ".".join(parts[:3])
    if not secrets.compare_digest(parts[3], mac(secret, "invite", message)):
        raise StateRejected("tampered")
    expires = int(parts[2])
    if now > expires:
        raise StateRejected("expired")
    if expires - now > MAX_DAYS * 86400 + CLOCK_SKEW_SECONDS:  # minted by a clock far ahead
        raise StateRejected("issued in the future")
    return Invite(parts[1], expires, text)


def invite_key(invite_id: str) -> str:
    if not INVITE_ID.fullmatch(invite_id):
        raise ValueError("not an invite id")
    return f"{INVITES_PREFIX}{invite_id}.json"


def claim(store: ObjectStore, invite_id: str, now: float) -> bool:
    """True the first time the invite is used; False when it was used already."""
    try:
        store.put(
            invite_key(invite_id),
            json.dumps({"used_at": int(now)}).encode(),
            if_generation=CREATE_ONLY,
        )
    except PreconditionFailed:
        return False
    return True
