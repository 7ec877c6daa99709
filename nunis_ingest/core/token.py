"""An athlete's Strava token as we store it: a value, its stored form, and the rules about
it (when to refresh, whether a granted scope is enough). ``Token`` redacts both secrets
in ``repr``/``str`` so a stray log line or traceback cannot leak them.

The token endpoint itself (exchange, refresh with rotation, deauthorise) is the adapter's:
``adapters/strava/oauth.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nunis_ingest.errors import ConfigError

DEFAULT_SCOPE = "read,activity:read_all"
MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z: any later "expiry" is damage
REFRESH_MARGIN = 3600
"""Strava only issues a new access token within the last hour of the old one's 6-hour life."""


@dataclass(frozen=True, repr=False)
class Token:
    """An athlete's token pair. ``expires_at`` is epoch seconds; ``scope`` as accepted."""

    access_token: str
    refresh_token: str
    expires_at: int
    scope: str | None = None
    athlete_id: int | None = None
    scope_by_hand: bool = False
    """``scope`` was typed by a person (``athlete add --scope``), not stated by Strava (the
    OAuth redirect): a claim, not proof that Only Me activities are visible."""

    def __repr__(self) -> str:
        return (
            f"Token(access_token='***', refresh_token='***', expires_at={self.expires_at}, "
            f"scope={self.scope!r}, athlete_id={self.athlete_id!r})"
        )

    __str__ = __repr__

    def to_json(self) -> bytes:
        """Stable JSON for the secret store (sorted keys, so unchanged tokens compare equal)."""
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at,
                "scope": self.scope,
                "athlete_id": self.athlete_id,
            }
            | ({"scope_by_hand": True} if self.scope_by_hand else {}),
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Token:
        """Parse ``to_json`` output; errors name the problem but never echo the content."""
        try:
            raw: Any = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            where = ""
            if isinstance(exc, json.JSONDecodeError):
                where = f" (line {exc.lineno}, column {exc.colno})"
            raise ConfigError(
                f"The stored Strava token is not valid JSON{where}.", action=_STORE_AGAIN
            ) from None
        if not isinstance(raw, dict):
            raise ConfigError("The stored Strava token is not a JSON object.", action=_STORE_AGAIN)
        # An empty access token is allowed: `athlete add` stores only a refresh token,
        # with expires_at 0, and the first sync exchanges it.
        access = raw.get("access_token")
        return cls(
            access_token=access if access == "" else _text(raw, "access_token"),
            refresh_token=_text(raw, "refresh_token"),
            expires_at=_integer(raw, "expires_at"),
            scope=_optional_text(raw, "scope"),
            athlete_id=_optional_integer(raw, "athlete_id"),
            scope_by_hand=raw.get("scope_by_hand") is True,
        )


_STORE_AGAIN = "run `nunis-ingest auth` for this athlete to store a fresh token."


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"The stored Strava token has no valid '{key}' (must be a non-empty string).",
            action=_STORE_AGAIN,
        )
    return value


def _integer(raw: dict[str, Any], key: str, maximum: int = MAX_EPOCH) -> int:
    value = raw.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value != value  # NaN
        or not 0 <= value <= maximum
    ):
        raise ConfigError(
            f"The stored Strava token has no valid '{key}' (must be a number).", action=_STORE_AGAIN
        )
    return int(value)


def _optional_text(raw: dict[str, Any], key: str) -> str | None:
    return None if raw.get(key) is None else _text(raw, key)


def _optional_integer(raw: dict[str, Any], key: str) -> int | None:
    return None if raw.get(key) is None else _integer(raw, key, 2**63 - 1)


def needs_refresh(token: Token, now: float, margin: int = REFRESH_MARGIN) -> bool:
    """True within the last ``margin`` seconds of the access token's life (or after it).

    Refreshing earlier is useless: Strava returns the same access token.
    """
    return token.expires_at - now <= margin


def accepted_scope_ok(scope: str | None, required: Iterable[str] = ("activity:read_all",)) -> bool:
    """Whether the scope the athlete accepted (they can untick boxes) covers ``required``."""
    granted = {part.strip() for part in (scope or "").replace(" ", ",").split(",") if part.strip()}
    return set(required) <= granted
