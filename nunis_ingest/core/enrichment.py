"""Pure: the per-athlete enrichment queue (``state.enrich``) and its budget rules.

An entry ``activity_id -> (start_epoch, kinds, queued_at)`` says which requests the
activity still needs: ``d`` one ``GET /activities/{id}`` (details, laps, splits, best
efforts), ``s`` one ``GET /activities/{id}/streams``. Filled by polls (new and changed
activities), full refreshes and backfills (activities the warehouse has no detail or
stream rows for) and webhook events; drained newest first.

``queued_at`` is the entry's idempotency stamp: the raw responses fetched for it are
archived under keys built from it (``keys.archive_enrich_key``) before any row is
written, so a run that crashes after fetching finds the response in the archive and
never asks Strava twice. Enqueueing an entry again keeps the union of its kinds and
moves ``queued_at`` forward only for a change that needs a fresh fetch.

Budget (``enrich_stop``): enrichment may spend the application's read budget only while
the 15-minute and daily read usage stay below ``share`` of the limits, leaving the rest
to polls and webhook fetches. Default share 0.5 (``NUNIS_ENRICH_READ_SHARE``): at
Strava's default 100 reads / 15 min and 1,000 / day, enrichment takes at most 50 and
500, which leaves 500 a day for polls and webhooks: one athlete polled every 15 minutes
spends 96, so five such athletes still poll on time while a backfill runs. A backfill of
1,000 activities with streams (2,000 requests) then takes 4 days; without streams 2.

Failures (``Failures``, ``state.enrich_failed``): one entry never starves the rest. An
entry whose fetch fails (a 5xx that outlasts the retries, a body of the wrong shape, a
404 on the detail: possibly transient, so never "done") is retried after a backoff
(``RETRY_BASE_SECONDS`` x 4 per failure: 15 min, 1 h, 4 h, 16 h) and meanwhile skipped,
so older entries get their turn; after ``PARK_AFTER`` failures it is *parked*: shown with
its reason in ``status`` and tried once a week (``PARKED_RETRY_SECONDS``). A 404 on the
streams of an activity that is not manual is accepted as "no streams" once it repeats
(``STREAMS_404_ACCEPTED_AFTER`` answers, the second at least 15 minutes later). A stored
``retry_at`` further ahead than a week is not believed (the entry is due).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.stops import Stop

DETAIL, STREAMS = "d", "s"
DEFAULT_READ_LIMITS = (100, 1000)
Queue = dict[int, tuple[int, str, int]]
Failures = dict[int, tuple[int, int, str]]  # id -> (attempts, retry_at, reason)
RETRY_BASE_SECONDS = 900
PARK_AFTER = 5
PARKED_RETRY_SECONDS = 7 * 86400
STREAMS_404_ACCEPTED_AFTER = 2


@dataclass(frozen=True)
class Item:
    activity_id: int
    start: int
    kinds: str
    queued_at: int


def wanted(details: bool, streams: bool) -> str:
    """The kinds an athlete's config asks for, e.g. ``"ds"``."""
    return (DETAIL if details else "") + (STREAMS if streams else "")


def _union(a: str, b: str) -> str:
    return "".join(k for k in (DETAIL, STREAMS) if k in a or k in b)


def enqueue(
    queue: Mapping[int, tuple[int, str, int]], items: Iterable[Item], *, fresh: bool = False
) -> Queue:
    """A new queue with ``items`` merged in, kinds united. ``fresh`` (an edit: what is
    archived for the entry is outdated) moves ``queued_at`` forward; a backfill scan keeps
    it, so a response fetched before a crash is still found."""
    out = dict(queue)
    for item in items:
        if not item.kinds:
            continue
        old = out.get(item.activity_id)
        if old is None:
            out[item.activity_id] = (item.start, item.kinds, item.queued_at)
        else:
            out[item.activity_id] = (
                item.start or old[0],
                _union(old[1], item.kinds),
                max(old[2], item.queued_at) if fresh else old[2],
            )
    return out


@dataclass(frozen=True)
class Staged:
    """An activity a poll wrote: what deciding its enrichment needs."""

    activity_id: int
    start: int | None
    fingerprint: str
    manual: bool


def from_poll(
    staged: Iterable[Staged],
    fingerprints: Mapping[int, str | None],
    known: Mapping[int, object],
    kinds: str,
    now: int,
) -> tuple[list[Item], list[Item]]:
    """``(new, edited)`` entries for the activities a poll wrote.

    With details on, an activity without a detail row is new (``d`` and, if asked,
    ``s``), one whose detail was fetched for another summary fingerprint was edited
    (``d`` only: an edit re-fetches the detail, never the streams); one whose summary
    changed only in social counts costs nothing. With details off, streams go to the
    activities the state did not know before this run. Manual entries never get ``s``.
    """
    new: list[Item] = []
    edited: list[Item] = []
    for it in staged:
        start = it.start or 0
        streams = STREAMS if STREAMS in kinds and not it.manual else ""
        if DETAIL in kinds:
            if it.activity_id not in fingerprints:
                new.append(Item(it.activity_id, start, DETAIL + streams, now))
            elif fingerprints[it.activity_id] != it.fingerprint:
                edited.append(Item(it.activity_id, start, DETAIL, now))
        elif streams and it.activity_id not in known:
            new.append(Item(it.activity_id, start, streams, now))
    return new, edited


def restrict(queue: Mapping[int, tuple[int, str, int]], kinds: str) -> Queue:
    """Drop kinds the athlete no longer asks for (config changed); empty entries go."""
    out: Queue = {}
    for activity_id, (start, have, queued) in queue.items():
        left = "".join(k for k in have if k in kinds)
        if left:
            out[activity_id] = (start, left, queued)
    return out


def order(queue: Mapping[int, tuple[int, str, int]]) -> list[Item]:
    """Newest first (by start, then id): recent activities are what users look at."""
    items = [Item(i, s, k, q) for i, (s, k, q) in queue.items()]
    return sorted(items, key=lambda it: (it.start, it.activity_id), reverse=True)


def backoff(attempts: int) -> int:
    """Seconds before an entry that failed ``attempts`` times is tried again."""
    if attempts >= PARK_AFTER:
        return PARKED_RETRY_SECONDS
    return int(min(RETRY_BASE_SECONDS * 4 ** max(0, attempts - 1), PARKED_RETRY_SECONDS))


def failed(
    failures: Mapping[int, tuple[int, int, str]], activity_id: int, now: int, reason: str
) -> Failures:
    """A new failure record with this entry's failure added."""
    attempts = failures.get(activity_id, (0, 0, ""))[0] + 1
    return {**failures, activity_id: (attempts, int(now) + backoff(attempts), reason[:200])}


def is_due(failures: Mapping[int, tuple[int, int, str]], activity_id: int, now: int) -> bool:
    record = failures.get(activity_id)
    if record is None:
        return True
    retry_at = record[1]
    return retry_at <= now or retry_at > now + PARKED_RETRY_SECONDS  # an absurd stamp: due


def due(
    queue: Mapping[int, tuple[int, str, int]],
    failures: Mapping[int, tuple[int, int, str]],
    now: int,
) -> list[Item]:
    """``order(queue)`` without the entries still backing off after a failure."""
    return [it for it in order(queue) if is_due(failures, it.activity_id, now)]


def parked(failures: Mapping[int, tuple[int, int, str]]) -> dict[int, str]:
    """Entries that failed ``PARK_AFTER`` times or more: id -> the last reason."""
    return {i: why for i, (n, _, why) in failures.items() if n >= PARK_AFTER}


def prune_failures(
    failures: Mapping[int, tuple[int, int, str]], queue: Mapping[int, object]
) -> Failures:
    """Only entries still queued keep a failure record."""
    return {i: f for i, f in failures.items() if i in queue}


def done(queue: Queue, activity_id: int, kinds: str) -> None:
    """Remove ``kinds`` of one entry, in place (the drain's bookkeeping)."""
    entry = queue.get(activity_id)
    if entry is None:
        return
    left = "".join(k for k in entry[1] if k not in kinds)
    if left:
        queue[activity_id] = (entry[0], left, entry[2])
    else:
        del queue[activity_id]


def cost(queue: Mapping[int, tuple[int, str, int]]) -> int:
    """Requests the queue still needs (one per kind per entry)."""
    return sum(len(kinds) for _, kinds, _ in queue.values())


def _first(*values: int | None) -> int:
    return next((v for v in values if v is not None), 0)


def _limits(usage: RateLimitUsage | None) -> tuple[int, int]:
    if usage is None:
        return DEFAULT_READ_LIMITS
    return (
        _first(usage.read_limit_15min, usage.limit_15min, DEFAULT_READ_LIMITS[0]),
        _first(usage.read_limit_daily, usage.limit_daily, DEFAULT_READ_LIMITS[1]),
    )


def allowance(usage: RateLimitUsage | None, share: float) -> tuple[int, int]:
    """Requests enrichment may still make now, in the 15-minute and the daily window."""
    limit_15, limit_day = _limits(usage)
    used_15 = used_day = 0
    if usage is not None:
        used_15 = _first(usage.read_usage_15min, usage.usage_15min)
        used_day = _first(usage.read_usage_daily, usage.usage_daily)
    return (
        max(0, int(limit_15 * share) - used_15),
        max(0, int(limit_day * share) - used_day),
    )


def enrich_stop(usage: RateLimitUsage | None, share: float) -> Stop | None:
    """Why enrichment must not make another request now, or ``None``."""
    left_15, left_day = allowance(usage, share)
    if left_day <= 0:
        return Stop.ENRICH_SHARE_DAILY
    if left_15 <= 0:
        return Stop.ENRICH_SHARE_15MIN
    return None


def eta_seconds(requests: int, usage: RateLimitUsage | None, share: float) -> float:
    """How long the queue takes at this share of the read limits (the daily limit binds
    at Strava's defaults: 50 per 15 min would be 4,800 a day, the daily share is 500)."""
    if requests <= 0:
        return 0.0
    limit_15, limit_day = _limits(usage)
    per_day = min(limit_day * share, limit_15 * share * 96)
    if per_day <= 0:
        return float("inf")
    return requests / per_day * 86400.0
