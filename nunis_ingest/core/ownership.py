"""Pure: whose activity a Strava payload is (its ``athlete.id``), in one place.

Every path that loads an activity checks its owner (and ``require_self`` whose token it
is, from ``GET /athlete``): a listing (a token registered under
the wrong athlete would file one athlete's activities under another's), a deletion check
and a webhook fetch (an activity of someone else is neither ours to keep nor evidence),
and the archive read back by replay and resume (``usecases.archived``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nunis_ingest.errors import TokenMismatch


def owner_of(activity: Mapping[str, Any]) -> int | None:
    """The athlete id a payload names, or None when it names none (or not an integer)."""
    athlete = activity.get("athlete")
    owner = athlete.get("id") if isinstance(athlete, Mapping) else None
    return owner if isinstance(owner, int) and not isinstance(owner, bool) else None


def foreign_owner(athlete_id: int, activity: Mapping[str, Any]) -> int | None:
    """The other athlete a payload belongs to, or None when it may be ``athlete_id``'s."""
    owner = owner_of(activity)
    return owner if owner is not None and owner != athlete_id else None


def check_owner(athlete_id: int, activities: Iterable[Mapping[str, Any]]) -> None:
    """Raise ``TokenMismatch`` when a listing shows another athlete's activity."""
    for activity in activities:
        if (owner := foreign_owner(athlete_id, activity)) is not None:
            raise TokenMismatch(
                f"The token registered for athlete {athlete_id} lists activities of athlete "
                f"{owner}; nothing was loaded.",
                athlete_id=athlete_id,
                action=f"run `nunis-ingest auth` as athlete {athlete_id}.",
            )


def require_self(me: object, athlete_id: int, *, holder: str, outcome: str, action: str) -> None:
    """Raise ``TokenMismatch`` unless ``me`` (the body of ``GET /athlete`` asked with a
    token) names ``athlete_id``: whose token it is, before it may delete, deauthorize or
    replace anything. ``holder`` names where the token came from."""
    owner = me.get("id") if isinstance(me, Mapping) else None
    if isinstance(owner, bool) or owner != athlete_id:
        raise TokenMismatch(
            f"{holder} answers GET /athlete as athlete {owner}, not {athlete_id}; {outcome}.",
            athlete_id=athlete_id,
            action=action,
        )
