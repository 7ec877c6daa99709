"""Pure: the script of one simulated day (who uploads, edits, deletes, revokes, and when).

Uploads follow the hours people record: mornings (06-08 UTC) and evenings (17-19 UTC),
with a few at lunch; an activity is uploaded when it ends. ``LATE_SHARE`` (5 %) are
synced late: their start is 3 to 30 hours before the upload. A few uploaded activities
are edited later in fields Strava sends no event for (distance, description), a few are
deleted with their event lost (every delivery attempt fails), a handful of athletes
deauthorize, and ``FAIL_SHARE`` of deliveries fail on their first attempt (Strava retries).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DAY = 86400
LATE_SHARE = 0.05
FAIL_SHARE = 0.1
UPLOADS_PER_ATHLETE = 0.6
HOURS = (6, 6, 7, 7, 7, 8, 12, 17, 17, 18, 18, 19)


@dataclass(frozen=True)
class Upload:
    at: float  # seconds into the day
    athlete_id: int
    start: float  # seconds into the day (negative: the day before)
    elapsed: int
    late: bool


@dataclass(frozen=True)
class Day:
    uploads: tuple[Upload, ...]
    silent_edits: tuple[tuple[float, int], ...]  # (at, index into uploads)
    lost_deletes: tuple[tuple[float, int], ...]
    revokes: tuple[tuple[float, int], ...]  # (at, athlete id)


def plan(athletes: list[int], hours: float, seed: int = 14) -> Day:
    rng = random.Random(seed)
    span = hours * 3600
    uploads = []
    for athlete_id in athletes:
        count = int(UPLOADS_PER_ATHLETE) + (rng.random() < UPLOADS_PER_ATHLETE % 1)
        for _ in range(count):
            elapsed = rng.randint(1200, 5400)
            end = rng.choice(HOURS) * 3600 + rng.randint(0, 3599) + elapsed
            late = rng.random() < LATE_SHARE
            at = end % DAY
            start = at - elapsed - (rng.randint(3, 30) * 3600 if late else 0)
            if at < span:
                uploads.append(Upload(at, athlete_id, start, elapsed, late))
    uploads.sort(key=lambda u: u.at)
    few = max(1, len(uploads) // 50)
    chosen = rng.sample(range(len(uploads)), min(len(uploads), 2 * few))
    edits = [(min(span - 1, uploads[i].at + rng.randint(600, 7200)), i) for i in chosen[:few]]
    deletes = [(min(span - 1, uploads[i].at + rng.randint(600, 7200)), i) for i in chosen[few:]]
    revoked = rng.sample(athletes, min(len(athletes) // 10, max(1, len(athletes) // 200)))
    revokes = [(rng.uniform(0, span), a) for a in revoked]
    return Day(tuple(uploads), tuple(sorted(edits)), tuple(sorted(deletes)), tuple(revokes))


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
