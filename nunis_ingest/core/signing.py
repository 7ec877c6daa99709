"""Signed, expiring values for the onboarding flow (pure: no I/O, no clock of its own).

The OAuth ``state`` is ``v2.<nonce>.<invite id>.<issued-at>.<mac>``: HMAC-SHA256, under the
server's ``NUNIS_ONBOARD_SECRET``, of the nonce, the invite it was issued for
(``invites.py``) and the time it was issued. A state is refused when it is malformed, its
MAC does not match (any change to any part), or it is older than ``MAX_AGE_SECONDS`` (or
issued in the future beyond a small clock skew). A replayed state is refused by its invite,
which connects once (``invites.claim``, a create-only record in the object store); the
nonce binds the state to the browser's cookie.

The confirmation page's address carries ``<athlete id>.<issued-at>.<mac>`` sealed the
same way under another purpose, so nobody can craft a confirmation for an athlete who
did not connect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

MAX_AGE_SECONDS = 600
DONE_MAX_AGE_SECONDS = 3600
CLOCK_SKEW_SECONDS = 60
MIN_SECRET_LENGTH = 32
VERSION = "v2"

_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
INVITE_ID = re.compile(r"[A-Za-z0-9_-]{16,32}")
DIGITS = re.compile(r"[0-9]{1,12}")
MAC = re.compile(r"[A-Za-z0-9_-]{43}")


class StateRejected(ValueError):
    """A state or sealed value that must not be trusted; ``reason`` says which check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class State:
    nonce: str
    issued_at: int
    invite: str


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def mac(secret: str, purpose: str, message: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}|{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_state(secret: str, nonce: str, now: float, invite: str) -> str:
    if not _NONCE.fullmatch(nonce):
        raise ValueError("nonce must be 16-64 URL-safe characters")
    if not INVITE_ID.fullmatch(invite):
        raise ValueError("invite id must be 16-32 URL-safe characters")
    message = f"{VERSION}.{nonce}.{invite}.{int(now)}"
    return f"{message}.{mac(secret, 'state', message)}"


def check_state(secret: str, text: str, now: float, max_age: int = MAX_AGE_SECONDS) -> State:
    """The state's nonce, issue time and invite, or ``StateRejected``."""
    parts = text.split(".")
    if (
        len(parts) != 5
        or parts[0] != VERSION
        or not _NONCE.fullmatch(parts[1])
        or not INVITE_ID.fullmatch(parts[2])
        or not DIGITS.fullmatch(parts[3])
        or not MAC.fullmatch(parts[4])
    ):
        raise StateRejected("malformed")
    message = ".".join(parts[:4])
    if not hmac.compare_digest(parts[4], mac(secret, "state", message)):
        raise StateRejected("tampered")
    check_age(int(parts[3]), now, max_age)
    return State(parts[1], int(parts[3]), parts[2])


def seal_done(secret: str, athlete_id: int, how: str, now: float) -> str:
    """``<athlete id>.<how>.<issued-at>.<mac>`` for the confirmation page's address."""
    if not re.fullmatch(r"[a-z]{1,16}", how):
        raise ValueError("how must be 1-16 lower-case letters")
    message = f"{int(athlete_id)}.{how}.{int(now)}"
    return f"{message}.{mac(secret, 'done', message)}"


def open_done(
    secret: str, text: str, now: float, max_age: int = DONE_MAX_AGE_SECONDS
) -> tuple[int, str]:
    """The athlete id and ``how`` sealed by ``seal_done``, or ``StateRejected``."""
    parts = text.split(".")
    if (
        len(parts) != 4
        or not re.fullmatch(r"[1-9][0-9]{0,18}", parts[0])
        or not re.fullmatch(r"[a-z]{1,16}", parts[1])
        or not DIGITS.fullmatch(parts[2])
        or not MAC.fullmatch(parts[3])
    ):
        raise StateRejected("malformed")
    if not hmac.compare_digest(parts[3], mac(secret, "done", ".".join(parts[:3]))):
        raise StateRejected("tampered")
    check_age(int(parts[2]), now, max_age)
    return int(parts[0]), parts[1]


def same_nonce(cookie: str | None, state: State) -> bool:
    """Double-submit check: the browser's cookie holds the nonce of the state it was given."""
    return bool(cookie) and hmac.compare_digest(str(cookie).encode(), state.nonce.encode())


def check_age(issued: int, now: float, max_age: int) -> None:
    if now - issued > max_age:
        raise StateRejected("expired")
    if issued - now > CLOCK_SKEW_SECONDS:
        raise StateRejected("issued in the future")
