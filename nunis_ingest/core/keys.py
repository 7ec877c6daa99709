"""Every object key, in one place (README "Per athlete, in the object store").

Keys are built only from validated integer athlete ids, run ids we generate and fixed
names, so no secret and nothing a caller typed can ever become part of a key.
"""

from __future__ import annotations

from datetime import UTC, datetime

ATHLETES_PREFIX = "athletes/"
MAX_ATHLETE_ID = 2**63 - 1


def athlete_key(athlete_id: int, name: str) -> str:
    """``athletes/<id>/<name>``; refuses anything but a positive integer id."""
    if isinstance(athlete_id, bool) or not isinstance(athlete_id, int):
        raise ValueError(f"athlete id must be an integer, got {type(athlete_id).__name__}")
    if not 0 < athlete_id <= MAX_ATHLETE_ID:
        raise ValueError(f"athlete id must be a positive 64-bit integer, got {athlete_id}")
    return f"{ATHLETES_PREFIX}{athlete_id}/{name}"


def athlete_prefix(athlete_id: int) -> str:
    return athlete_key(athlete_id, "")


def archive_prefix(athlete_id: int) -> str:
    """Everything archived for one athlete."""
    athlete_key(athlete_id, "")  # validates the id
    return f"archive/strava/athlete={athlete_id}/"


def archive_run_prefix(athlete_id: int, run_id: str, started: float) -> str:
    day = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d")
    return f"{archive_prefix(athlete_id)}date={day}/{run_id}/"


def archive_page_key(athlete_id: int, run_id: str, started: float, page: int) -> str:
    """One listing page of a run, byte for byte as Strava sent it."""
    return f"{archive_run_prefix(athlete_id, run_id, started)}page-{page:05d}.json"


def archive_activity_key(athlete_id: int, run_id: str, started: float, activity_id: int) -> str:
    """One ``GET /activities/{id}`` response (webhook fetches, deletion checks)."""
    return f"{archive_run_prefix(athlete_id, run_id, started)}activity-{int(activity_id)}.json"


def archive_enrich_key(athlete_id: int, activity_id: int, kind: str, queued_at: int) -> str:
    """One enrichment response (``detail`` or ``streams``), byte for byte. Built from the
    queue entry's ``queued_at``, not the run: a run that crashed after fetching finds the
    response here and never asks Strava twice (``enrichment.py``)."""
    if kind not in ("detail", "streams"):
        raise ValueError(f"unknown enrichment kind {kind!r}")
    day = datetime.fromtimestamp(queued_at, UTC).strftime("%Y-%m-%d")
    return (
        f"{archive_prefix(athlete_id)}date={day}/enrich-{int(queued_at)}/"
        f"{kind}-{int(activity_id)}.json"
    )


def archive_deleted_key(athlete_id: int, run_id: str, started: float, activity_id: int) -> str:
    """A tombstone: Strava confirmed this activity gone (two 404s), written before the rows
    are deleted, so a rebuild from the archive (``replay``) deletes it too."""
    return f"{archive_run_prefix(athlete_id, run_id, started)}deleted-{int(activity_id)}.json"


QUARANTINE_PREFIX = "quarantine/"


def quarantine_key(key: str) -> str:
    """Where a damaged object of ours is moved (``archived.quarantine``): outside the
    archive, so a rebuild no longer reads it, and kept, so a person can look at it."""
    return f"{QUARANTINE_PREFIX}{key}"


BUDGET_KEY = "app/budget.json"
"""The app-wide Strava read ledger (``budget/ledger.py``): no athlete, no secret."""


def archive_export_key(athlete_id: int, filename: str) -> str:
    """An original file of a bulk export, under its own base name (safe characters only)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in base)
    return f"{archive_prefix(athlete_id)}export/{safe.lstrip('.') or 'file'}"
