"""The mass-delete guard, shared by every warehouse adapter (pure)."""

from __future__ import annotations

from nunis_ingest.errors import MassDeleteRefused


def check_delete_share(athlete_id: int, deleted: int, stored: int, max_share: float | None) -> None:
    """Refuse a full sync that would delete more than ``max_share`` of the stored rows.

    A truncated or empty listing from Strava must not wipe an athlete's history. ``None``
    disables the guard (``--force``); an athlete with no rows can always be replaced.
    """
    if max_share is None or deleted <= max_share * stored:
        return
    raise MassDeleteRefused(
        f"Athlete {athlete_id}: a full sync would delete {deleted} of {stored} stored "
        f"activities (more than the allowed share {max_share:.0%}); nothing was changed.",
        athlete_id=athlete_id,
        action="if Strava really lists that few activities, re-run with --force "
        "or raise NUNIS_MAX_DELETE_SHARE.",
    )
