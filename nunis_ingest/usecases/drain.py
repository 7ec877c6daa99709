"""Drain the enrichment queue: at most two requests per activity, archived before use.

For each queue entry, newest first (``enrichment.order``), while the read budget's
enrichment share and the run's time budget last:

- ``d``: ``GET /activities/{id}`` -> ``activity_details``, ``activity_laps``,
  ``activity_splits``, ``activity_best_efforts`` (laps, splits and best efforts are all in
  that one response: never ``/laps``).
- ``s``: ``GET /activities/{id}/streams`` with every stream type and ``key_by_type`` ->
  ``activity_streams``. A 404 means the activity has no streams (Strava's answer for a
  manual entry): its stream rows are cleared, nothing fails. Manual activities are
  recognised from their summary (``manual: true``) and never get an ``s`` entry, so that
  request is not spent.

Each response is archived under ``keys.archive_enrich_key`` (built from the entry's
``queued_at``) before rows are derived; an entry whose response is already there (a run
that crashed after fetching) is served from the archive with no request. Rows are written
in groups (``FLUSH_ACTIVITIES`` activities or ``FLUSH_POINTS`` stream points, whichever
comes first; one warehouse call per group) and an entry leaves the queue only once its
rows are written. A 404 on the detail makes the activity a deletion suspect (confirmed by
the next run's two-GET rule, never deleted here) and counts as a failure of the entry,
never as done. An entry whose fetch fails (a 5xx that outlasts the retries, a body of the
wrong shape) is recorded with its reason and backed off (``enrichment.failed``); the
drain goes on with the next entry, so one entry never starves the queue, and stops after
``MAX_CONSECUTIVE_FAILURES`` in a row (Strava itself is failing). A 429 or the read
budget stops the drain with its typed ``Stop``; what was written stays, the rest waits for
the next run.

Plan -> fetch -> settle, like a run: ``core.plan.plan_drain`` picks the due entries,
``drain`` fetches and writes them and returns ``core.fetched.Drained`` (it changes no
queue: the entries it completed or failed are facts in that value), and
``core.settle.settle_drain`` turns that into the next state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.context import SyncContext
from nunis_ingest.core import enrichment as eq
from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.fetched import Drained
from nunis_ingest.core.keys import archive_enrich_key
from nunis_ingest.core.plan import DrainPlan
from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.schema import MAX_ROW_JSON_BYTES
from nunis_ingest.core.stops import Stop
from nunis_ingest.core.transform_detail import detail_rows, stream_rows, summary_fingerprint
from nunis_ingest.errors import (
    ArchiveDamaged,
    BudgetDeferred,
    RetriableError,
    StravaBadResponse,
    StravaNotFound,
    StravaRateLimited,
    StravaServerError,
    StravaUnavailable,
)
from nunis_ingest.ports import DetailRows
from nunis_ingest.usecases import archived
from nunis_ingest.usecases.athlete_api import AthleteApi

log = logging.getLogger("nunis_ingest.enrich")

FLUSH_ACTIVITIES = 25
FLUSH_POINTS = 20_000
MAX_CONSECUTIVE_FAILURES = 2
STREAMS_404 = "Strava answered 404 for the streams"


class _EntryFailed(Exception):
    """This entry's fetch or its response failed; ``str()`` is the reason. ``answered``:
    Strava answered (a 404 for a deleted activity), which says nothing about Strava
    failing, so it does not count toward ``MAX_CONSECUTIVE_FAILURES``."""

    def __init__(self, why: str, *, answered: bool = False) -> None:
        super().__init__(why)
        self.answered = answered


@dataclass
class _Group:
    tables: tuple[str, ...]
    ids: list[int] = field(default_factory=list)
    kinds: list[tuple[int, str]] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    points: int = 0

    def add(self, activity_id: int, kind: str, rows: dict[str, list[dict[str, Any]]]) -> None:
        self.ids.append(activity_id)
        self.kinds.append((activity_id, kind))
        for table, items in rows.items():
            self.rows.setdefault(table, []).extend(items)
        self.points += len(rows.get(sd.STREAMS.name, ()))


def drain(
    plan: DrainPlan,
    ctx: SyncContext,
    api: AthleteApi,
    on_progress: Callable[[int, int], None] | None = None,
) -> Drained:
    """Fetch and write what ``plan`` holds, within its share and the run's budgets."""
    drainer = _Drainer(plan, ctx, api, on_progress)
    out = drainer.run()
    if out.stop is not None:
        log.info(
            "athlete %d: enrichment paused after %d of %d: %s",
            plan.athlete_id,
            len(out.completed),
            len(plan.items),
            out.stop.describe(out.detail),
        )
    return out


class _Drainer:
    """One athlete's drain within one run."""

    def __init__(
        self,
        plan: DrainPlan,
        ctx: SyncContext,
        api: AthleteApi,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        self.plan, self.ctx, self.api, self.on_progress = plan, ctx, api, on_progress
        self.athlete_id = plan.athlete_id
        self.out = Drained()
        self._details = _Group(tuple(t.name for t in sd.FROM_DETAIL))
        self._streams = _Group((sd.STREAMS.name,))
        self._wanted = {item.activity_id: item.kinds for item in plan.items}
        self._written: dict[int, str] = {}
        self._in_a_row = 0
        self.loaded_at = ctx.now()

    def run(self) -> Drained:
        out = self.out
        try:
            for item in self.plan.items:
                if not self._attempt(item):
                    break
                if self.on_progress:
                    self.on_progress(out.enriched + self._pending(), len(self.plan.items))
        except BudgetDeferred as exc:  # the app's shared ledger: no request was made
            out.stop, out.detail = Stop.BUDGET_DEFERRED, str(exc)[:120]
        except StravaRateLimited as exc:
            out.stop, out.detail = Stop.RATE_LIMITED, str(exc)[:120]
        except RetriableError as exc:
            out.stop, out.detail = Stop.STRAVA_FAILING, str(exc)[:120]
        except BaseException:
            try:  # keep what was fetched; the original error is what the caller acts on
                self._flush_all()
            except Exception:
                log.warning("athlete %d: could not write fetched details", self.athlete_id)
            raise
        self._flush_all()
        return out

    def _flush_all(self) -> None:
        self._flush(self._details, force=True)
        self._flush(self._streams, force=True)

    def _pending(self) -> int:
        return len(set(self._details.ids) | set(self._streams.ids))

    def _blocked(self) -> bool:
        """Whether the next request must not be made (budget share, time budget)."""
        stop = self.api.proceed() or eq.enrich_stop(self.api.last_usage, self.plan.share)
        if stop is not None:
            self.out.stop = stop
            return True
        return False

    def _attempt(self, item: eq.Item) -> bool:
        """One entry; a failure of its own is recorded and the drain goes on (False: stop)."""
        try:
            go_on = self._entry(item)
        except _EntryFailed as exc:
            self.out.failed.append((item.activity_id, str(exc)))
            log.warning(
                "athlete %d: enrichment of activity %d failed (%s); retried after a backoff",
                self.athlete_id,
                item.activity_id,
                exc,
            )
            self._in_a_row = 0 if exc.answered else self._in_a_row + 1
            if self._in_a_row >= MAX_CONSECUTIVE_FAILURES:
                self.out.stop, self.out.detail = Stop.STRAVA_FAILING, str(exc)[:120]
                return False
            return True
        self._in_a_row = 0
        return go_on

    def _entry(self, item: eq.Item) -> bool:
        """Fetch one entry's kinds; False when the drain must stop here."""
        start_date: str | None = _iso(item.start) if item.start else None
        manual = False
        if eq.DETAIL in item.kinds:
            got = self._fetch(item, "detail")
            if got is None:
                return False
            if got is _GONE:
                self.out.suspects.append(item.activity_id)  # the next run confirms it
                raise _EntryFailed("Strava answered 404 for the detail", answered=True)
            data = got
            manual = data.get("manual") is True
            start_date = (
                data.get("start_date") if isinstance(data.get("start_date"), str) else start_date
            )
            rows = _derive(
                lambda: detail_rows(
                    data,
                    athlete_id=self.athlete_id,
                    activity_id=item.activity_id,
                    run_id=self.plan.run_id,
                    loaded_at=self.loaded_at,
                    fingerprint=summary_fingerprint(summary_of(data)),
                )
            )
            self._details.add(item.activity_id, eq.DETAIL, rows)
            self._flush(self._details)
        if eq.STREAMS in item.kinds:
            if manual:  # learnt from the detail just fetched: Strava has no streams for it
                self._streams.add(item.activity_id, eq.STREAMS, {sd.STREAMS.name: []})
            else:
                got = self._fetch(item, "streams")
                if got is None:
                    return False
                if got is _GONE and not self._no_streams_settled(item.activity_id):
                    raise _EntryFailed(STREAMS_404, answered=True)
                streams = {} if got is _GONE else got
                rows_s = _derive(
                    lambda: list(
                        stream_rows(
                            streams,
                            athlete_id=self.athlete_id,
                            activity_id=item.activity_id,
                            start_date=start_date,
                            run_id=self.plan.run_id,
                            loaded_at=self.loaded_at,
                        )
                    )
                )
                self._streams.add(item.activity_id, eq.STREAMS, {sd.STREAMS.name: rows_s})
            self._flush(self._streams)
        return True

    def _no_streams_settled(self, activity_id: int) -> bool:
        """A repeated 404 on streams is Strava's answer: the activity has none."""
        before = self.plan.failures.get(activity_id, (0, 0, ""))
        return before[0] + 1 >= eq.STREAMS_404_ACCEPTED_AFTER and before[2] == STREAMS_404

    def _fetch(self, item: eq.Item, kind: str) -> Any:
        """The parsed response (from the archive when there), ``_GONE`` on 404, or None
        when the budget forbids the request. A failure of this entry's own request (a 5xx
        that outlasted the retries, a body that is not an object) raises ``_EntryFailed``."""
        key = archive_enrich_key(self.athlete_id, item.activity_id, kind, item.queued_at)
        stored = self.ctx.store.get(key)
        if stored is not None and kind == "detail" and len(stored.data) > MAX_ROW_JSON_BYTES:
            raise _EntryFailed(f"the archived detail {key} is larger than a row may hold")
        if stored is not None:
            try:  # our own storage is untrusted: torn, or another activity's, is fetched again
                data = (
                    archived.activity_object(key, stored.data, self.athlete_id, item.activity_id)
                    if kind == "detail"
                    else archived.json_object(key, stored.data)
                )
            except ArchiveDamaged:
                data = None
            if data is not None:
                self.out.from_archive += 1
                return data
        if self._blocked():
            return None
        activity_id = item.activity_id
        self.out.requests += 1
        try:
            if kind == "detail":
                body, data = self.api.call(
                    lambda c: c.get_activity(activity_id), kind=self.plan.kind
                )
            else:
                body, data = self.api.call(
                    lambda c: c.get_streams(activity_id, sd.STREAM_TYPES), kind=self.plan.kind
                )
        except StravaNotFound:
            return _GONE
        except StravaRateLimited:
            raise  # not this entry's fault: the drain stops
        except (StravaBadResponse, StravaServerError, StravaUnavailable) as exc:
            raise _EntryFailed(f"{type(exc).__name__}: {str(exc)[:120]}") from None
        self.ctx.store.put(key, body)
        if kind == "detail" and len(body) > MAX_ROW_JSON_BYTES:  # archived, never loaded
            raise _EntryFailed(
                f"the detail is {len(body) / 2**20:.1f} MiB of JSON, more than the "
                f"{MAX_ROW_JSON_BYTES // 2**20} MiB a row may hold"
            )
        return data

    def _flush(self, group: _Group, *, force: bool = False) -> None:
        if not group.ids:
            return
        if not force and len(group.ids) < FLUSH_ACTIVITIES and group.points < FLUSH_POINTS:
            return
        ids = tuple(dict.fromkeys(group.ids))
        written = self.ctx.warehouse.replace_details(
            self.athlete_id, DetailRows(ids, group.tables, group.rows)
        )
        for table, count in written.items():
            self.out.rows[table] = self.out.rows.get(table, 0) + count
        for activity_id, kind in group.kinds:
            self.out.completed.append((activity_id, kind))
            done = self._written.get(activity_id, "") + kind
            self._written[activity_id] = done
            if set(self._wanted.get(activity_id, "")) <= set(done):
                self.out.enriched += 1
        group.ids.clear()
        group.kinds.clear()
        group.rows = {}
        group.points = 0


def _derive(build: Callable[[], Any]) -> Any:
    """Rows from a response; a response of an unexpected shape fails only its entry."""
    try:
        return build()
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise _EntryFailed(f"the response could not be read ({type(exc).__name__})") from None


class _Gone:
    def __repr__(self) -> str:
        return "<404>"


_GONE: Any = _Gone()


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
