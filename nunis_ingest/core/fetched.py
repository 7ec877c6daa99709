"""Pure values: what a run's fetch saw and did, handed to settle (plan -> fetch -> settle).

``Seen`` accumulates what the listing showed while it runs (plain values, bounded: the
in-run window of content hashes is pruned to the lookback as it grows). ``Fetched`` is
everything ``usecases.fetch.fetch`` returns: the listing's facts, why it stopped, the
deletion checks, the commit's counts and the warehouse reads enrichment decides from.
``Drained`` is what ``usecases.drain.drain`` returns. Neither decides anything: the next
state, the outcome and the enrichment queue are ``core.settle``'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nunis_ingest.core.enrichment import Staged
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.stops import Stop
from nunis_ingest.core.transform_detail import summary_fingerprint
from nunis_ingest.errors import NunisError
from nunis_ingest.ports import Presence, WriteResult

WINDOW_SLACK = 400
"""Entries kept before pruning the in-run window (memory stays flat in a full listing)."""


def page_digest(body: bytes) -> str:
    """The SHA-256 of a page's bytes: a full-refresh checkpoint names the bytes it trusts,
    so a resumed run notices a page changed since (cut to fewer items, rewritten)."""
    return hashlib.sha256(body).hexdigest()


@dataclass
class Seen:
    """What the listing showed this run (accumulated page by page)."""

    lookback: int
    pages: int = 0
    seen: int = 0
    filtered: int = 0  # unchanged since loaded: no warehouse work
    max_start: int | None = None
    window: dict[int, tuple[str, int]] = field(default_factory=dict)
    seen_ids: set[int] = field(default_factory=set)
    archived: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)  # ``page_digest`` of each archived page
    staged: list[Staged] = field(default_factory=list)
    """Activities written this run: what their enrichment is decided from."""

    def stage(self, activity_id: int, start: int | None, summary: Mapping[str, Any]) -> None:
        fingerprint = summary_fingerprint(summary)
        manual = summary.get("manual") is True
        self.staged.append(Staged(activity_id, start, fingerprint, manual))

    def see(self, activity_id: int, digest: str, start: int | None) -> None:
        self.seen_ids.add(activity_id)
        if start is None:
            return
        self.max_start = start if self.max_start is None else max(self.max_start, start)
        self.window[activity_id] = (digest, start)
        if len(self.window) > WINDOW_SLACK:
            horizon = self.max_start - self.lookback
            self.window = {k: v for k, v in self.window.items() if v[1] >= horizon}


@dataclass
class Confirmation:
    """Suspected deletions checked with Strava (``usecases.confirm``): ``gone`` answered
    404 twice, ``alive`` answered 200 (id, exact body, parsed), ``unchecked`` wait for a
    later run, ``skipped`` says why nothing could be confirmed."""

    gone: list[int] = field(default_factory=list)
    alive: list[tuple[int, bytes, dict[str, Any]]] = field(default_factory=list)
    unchecked: list[int] = field(default_factory=list)
    skipped: str = ""


Unenriched = dict[str, list[tuple[int, int | None]]]
"""Per enrichment kind (``d``/``s``): the athlete's activities without such rows, with start."""


@dataclass
class Fetched:
    """Everything one run's fetch did; ``settle`` turns it into the next state."""

    seen: Seen
    complete: bool = False
    """The listing reached its end (and nothing stopped or failed it)."""
    stop: Stop | None = None
    detail: str = ""
    failure: NunisError | None = None
    """A retriable failure to raise once the state is settled (the resume point is kept)."""
    resume: dict[str, Any] | None = None
    confirmation: Confirmation = field(default_factory=Confirmation)
    result: WriteResult = field(default_factory=WriteResult)
    fingerprints: Mapping[int, str | None] | None = None
    """Stored detail fingerprints, read when activities were written and details are on."""
    unenriched: Unenriched = field(default_factory=dict)
    """Read for the history backfill (a complete full listing, a driven run, new kinds)."""
    usage: RateLimitUsage | None = None
    requests: int = 0
    identity: Presence | None = None
    """The warehouse's presence after the commit, read when the plan counted its rows."""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Drained:
    """What one drain of the enrichment queue did (``usecases.drain``)."""

    completed: list[tuple[int, str]] = field(default_factory=list)
    """(activity id, kinds) whose rows are written: they leave the queue."""
    failed: list[tuple[int, str]] = field(default_factory=list)
    """(activity id, reason) whose own fetch failed: backed off, never blocking the rest."""
    suspects: list[int] = field(default_factory=list)
    """Activities whose detail answered 404: the next run's deletion check confirms them."""
    stop: Stop | None = None
    detail: str = ""
    requests: int = 0
    from_archive: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    enriched: int = 0
    """Queue entries completed whole (every kind they held)."""

    @property
    def touched(self) -> bool:
        """Whether the drain did anything the state must record."""
        return bool(self.requests or self.from_archive or self.completed or self.failed)
