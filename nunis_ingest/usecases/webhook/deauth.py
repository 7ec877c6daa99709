"""Deauthorization events: unsigned (anyone can post one), so verified before acted on.

The athlete's access is gone only when Strava says so for real:

- a forced token refresh that Strava refuses (``StravaAuthError`` from the refresh), or
- a freshly refreshed token that ``GET /athlete`` refuses too (``StravaTokenRejected``).

``GET /athlete`` goes through ``AthleteApi``: one 401 is answered by one forced refresh and
one retry, never taken as the verdict. A 200 whose ``id`` is the athlete means the token
works: the event is ignored (and logged). A 200 for another athlete is a mix-up of
tokens, not a revocation (``TokenMismatch``, nothing purged). A network error, 5xx or 429
propagates as the retriable error it is, so the event comes back; it never purges. A
missing token (a purge that stopped half way) lets the purge finish.

Acting: disable the athlete, drop the token and, with NUNIS_PURGE_ON_DEAUTH, delete the
rows, the archive, the state and the webhook marks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nunis_ingest.context import SyncContext
from nunis_ingest.core.keys import athlete_key
from nunis_ingest.core.ownership import require_self
from nunis_ingest.errors import (
    AthleteNotConfigured,
    StravaAuthError,
    StravaScopeError,
    StravaTokenRejected,
)
from nunis_ingest.usecases.athlete_api import AthleteApi
from nunis_ingest.usecases.athletes import AthleteRepo, purge_data
from nunis_ingest.usecases.webhook.marks import MARKS_NAME


@dataclass(frozen=True)
class Verdict:
    gone: bool
    detail: str


def verify(api: AthleteApi) -> Verdict:
    """Whether the athlete's access is really gone (raises retriable errors as they are)."""
    try:
        me = api.call(lambda c: c.get_athlete())
    except StravaScopeError:
        raise  # the token works, without a scope: not a revocation
    except StravaTokenRejected:
        return Verdict(True, "a refreshed token is refused by GET /athlete")
    except StravaAuthError:
        return Verdict(True, "Strava refused the token refresh")
    except AthleteNotConfigured:
        return Verdict(True, "no token stored (an earlier purge stopped half way)")
    require_self(
        me,
        api.athlete_id,
        holder=athlete_key(api.athlete_id, "token.json"),
        outcome="the deauthorization event was not acted on",
        action=f"run `nunis-ingest auth` as athlete {api.athlete_id}.",
    )
    return Verdict(False, "deauthorization not confirmed: the token works")


def purge(athlete_id: int, repo: AthleteRepo, ctx: SyncContext) -> tuple[str, dict[str, int]]:
    """Disable, drop the token, and purge when configured; (action, counts)."""
    config = repo.load_config(athlete_id)
    repo.save_config(replace(config, enabled=False))
    counts = {"tokens": int(repo.delete_token(athlete_id))}
    if not ctx.settings.purge_on_deauth:
        return "disabled", counts
    rows, archived = purge_data(ctx.store, ctx.warehouse, athlete_id)
    counts |= {"warehouse_rows": rows, "archive_objects": archived}
    state = 0
    for name in ("state.json", MARKS_NAME):
        state += int(ctx.store.delete(athlete_key(athlete_id, name)))
    counts["state_objects"] = state
    return "purged", counts
