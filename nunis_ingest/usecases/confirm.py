"""Deletions need Strava's word: ``GET /activities/{id}`` → 404, twice.

``fetch_confirmed`` is the one rule, for polls and webhook events alike: a 404 is only
believed when a second ``GET``, made after a forced token refresh, answers 404 too. A
lone 404 can be a glitch (a cache, a load balancer, a replica that has not seen the
upload yet), and acting on it deletes a live row. Cost: one extra API request per
deletion, plus one OAuth refresh per run (the token endpoint is not rate-limited).

A full listing that does not show an activity the warehouse holds only makes it a
*suspect*: listings can be truncated (a short or empty page in the middle, an activity
sliding across a page while the athlete deletes another, a bad proxy). Each suspect is
fetched with this run's token, which the listing has just proven valid (a 401 gets one
refresh and a retry, ``athlete_api.py``): a 404 confirms the deletion; a 200 proves the listing
missed a live activity, which is then loaded from that response instead of deleted, and
which makes the rest of the listing's suspects untrustworthy. A token without
``activity:read_all`` cannot tell a deleted activity from a private one (both 404), so
then nothing is confirmed at all. Checks stop at ``proceed`` (read and time budget) or when
the app's shared read ledger defers a read: the rest stay suspects for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from nunis_ingest.adapters.strava.client import StravaClient
from nunis_ingest.core.fetched import Confirmation
from nunis_ingest.core.ownership import foreign_owner
from nunis_ingest.core.stops import Stop
from nunis_ingest.core.token import accepted_scope_ok
from nunis_ingest.errors import BudgetDeferred, StravaNotFound
from nunis_ingest.usecases.athlete_api import AthleteApi

log = logging.getLogger(__name__)


def confirm_deletions(
    api: AthleteApi,
    suspects: Sequence[int],
    proceed: Callable[[], Stop | None],
    *,
    stop_on_alive: bool,
) -> Confirmation:
    out = Confirmation()
    if not suspects:
        return out
    token = api.connected_token()
    if token.scope is None or token.scope_by_hand or not accepted_scope_ok(token.scope):
        if token.scope is None:
            why = "the token's scope is unknown (registered without --scope)"
        elif token.scope_by_hand and accepted_scope_ok(token.scope):
            why = "the token's scope was typed with --scope, not stated by Strava"
        else:
            why = "the token lacks activity:read_all"
        out.unchecked = list(suspects)
        out.skipped = (
            f"{why}, so a 404 cannot confirm a deletion (a hidden Only Me activity answers "
            "404 too); `nunis-ingest auth` lets Strava state the scope"
        )
        return out
    try:
        api.verify_owner()  # a 404 proves nothing with another athlete's token
    except BudgetDeferred:  # the shared read budget says wait: they stay suspects
        out.unchecked = list(suspects)
        return out
    for index, activity_id in enumerate(suspects):
        if proceed() is not None:
            out.unchecked = list(suspects[index:])
            break
        try:
            fetched = fetch_confirmed(api, activity_id)
        except BudgetDeferred:  # the shared read budget says wait: the rest stay suspects
            out.unchecked = list(suspects[index:])
            break
        if fetched is None:
            out.gone.append(activity_id)
            continue
        body, data = fetched
        if foreign_owner(api.athlete_id, data) is not None:
            continue  # not this athlete's: neither ours to keep nor evidence of truncation
        out.alive.append((activity_id, body, data))
        if stop_on_alive:
            out.unchecked = list(suspects[index + 1 :])
            break
    return out


Fetched = tuple[bytes, dict[str, Any]]


def fetch_confirmed(api: AthleteApi, activity_id: int) -> Fetched | None:
    """The activity's exact body and parsed object, or ``None`` when Strava confirms it is
    gone (or hidden from this token): 404 twice, the second after a token refresh."""
    try:
        return api.call(partial(_get, activity_id))
    except StravaNotFound:
        pass
    log.info(
        "athlete %d: activity %d answered 404; re-checking after a token refresh",
        api.athlete_id,
        activity_id,
    )
    if not api.refreshed:
        api.refresh()
    try:
        return api.call(partial(_get, activity_id))
    except StravaNotFound:
        return None


def _get(activity_id: int, client: StravaClient) -> Fetched:
    return client.get_activity(activity_id)
