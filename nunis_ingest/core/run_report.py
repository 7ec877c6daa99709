"""Pure: what one sync did: the run report, its ``ingest_runs`` row, log fields and summary.

``settled`` and ``drained_with`` fill it from the run's plan, what its fetch and drain
did and their settlements, so the run record and ``state.json`` always agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core.fetched import Drained, Fetched
from nunis_ingest.core.plan import Plan
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.settle import Settlement, usage_dict
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.stops import Stop
from nunis_ingest.errors import NunisError
from nunis_ingest.ports import WriteResult


@dataclass
class RunReport:
    run_id: str
    athlete_id: int
    mode: str
    trigger: str
    started_at: float
    message_id: str | None = None
    outcome: str = "success"  # success | partial | skipped | failed
    reason: str = ""
    pages: int = 0
    requests: int = 0
    seen: int = 0
    result: WriteResult = field(default_factory=WriteResult)
    usage: RateLimitUsage | None = None
    finished_at: float = 0.0
    error: NunisError | None = None
    stop: Stop | None = None
    drained: Drained | None = None
    """What the enrichment drain after the listing did (None: no drain)."""
    enrich_queue: int | None = None
    """Enrichment entries left after the run (None: enrichment is off)."""
    warnings: list[str] = field(default_factory=list)
    """What a person must see even without ``-v`` (the CLI prints them): a narrow token
    scope, a damaged object set aside, a dropped checkpoint."""

    def settled(self, plan: Plan, fetched: Fetched, settled: Settlement, now: float) -> None:
        """What the run's fetch did and how it settled."""
        self.mode = plan.mode
        self.requests, self.usage = fetched.requests, fetched.usage
        self.pages, self.seen = fetched.seen.pages, fetched.seen.seen
        self.result = fetched.result
        self.outcome, self.reason, self.stop = settled.outcome, settled.reason, settled.stop
        self.finished_at = now
        self.warnings += [w for w in fetched.warnings if w not in self.warnings]
        self.enrich_queue = len(settled.state.enrich) if plan.kinds else None

    def drained_with(self, drained: Drained, after: SyncState, requests: int, usage: Any) -> None:
        """What the enrichment drain did (``requests``, ``usage``: the run's totals now)."""
        self.drained = drained
        self.enrich_queue = len(after.enrich)
        if drained.requests:
            self.requests, self.usage = requests, usage

    def usage_dict(self) -> dict[str, int] | None:
        return usage_dict(self.usage)

    def to_run_row(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "run_id": self.run_id,
            "athlete_id": self.athlete_id,
            "mode": self.mode,
            "trigger": self.trigger,
            "message_id": self.message_id,
            "started_at": _ts(self.started_at),
            "finished_at": _ts(self.finished_at or self.started_at),
            "outcome": self.outcome,
            "pages": self.pages,
            "requests": self.requests,
            "activities_seen": self.seen,
            "inserted": self.result.inserted,
            "updated": self.result.updated,
            "deleted": self.result.deleted,
            "unchanged": self.result.unchanged,
            "read_usage_15min": usage.read_usage_15min if usage else None,
            "read_usage_daily": usage.read_usage_daily if usage else None,
            "read_limit_15min": usage.read_limit_15min if usage else None,
            "read_limit_daily": usage.read_limit_daily if usage else None,
            # a partial run shows its stop (e.g. BudgetDeferred) and why, a failed one its error
            "error_class": type(self.error).__name__
            if self.error
            else (self.stop.error_class if self.stop else None),
            "error_message": str(self.error)[:1000]
            if self.error
            else (self.reason[:1000] if self.stop else None),
        }

    def log_fields(self) -> dict[str, Any]:
        row = self.to_run_row()
        keep = ("run_id", "athlete_id", "mode", "trigger", "message_id", "outcome", "pages")
        fields = {k: row[k] for k in keep}
        fields |= {k: row[k] for k in ("requests", "activities_seen", "inserted", "updated")}
        fields |= {"deleted": row["deleted"], "unchanged": row["unchanged"]}
        fields["quarantined"] = self.result.quarantined
        if self.stop is not None:
            fields["stop"] = self.stop.value
        fields["read_usage"] = f"{row['read_usage_15min']},{row['read_usage_daily']}"
        if self.enrich_queue is not None:
            drained = self.drained or Drained()
            fields |= {
                "enriched": drained.enriched,
                "enrich_requests": drained.requests,
                "enrich_queue": self.enrich_queue,
            }
        return fields

    def summary(self) -> str:
        """One line for people: what happened, counts, and the read budget used."""
        r = self.result
        text = (
            f"athlete {self.athlete_id}: {self.outcome} ({self.mode}) pages={self.pages} "
            f"requests={self.requests} seen={self.seen} inserted={r.inserted} "
            f"updated={r.updated} deleted={r.deleted} unchanged={r.unchanged}"
        )
        if r.quarantined:
            text += f" quarantined={r.quarantined} (see the quarantine table)"
        d = self.drained or Drained()
        if self.enrich_queue or d.enriched:
            text += f" enriched={d.enriched} (requests {d.requests}, queue {self.enrich_queue})"
        if self.usage and self.usage.read_usage_15min is not None:
            u = self.usage
            text += (
                f" read-usage={u.read_usage_15min}/{u.read_limit_15min} (15 min)"
                f" {u.read_usage_daily}/{u.read_limit_daily} (day)"
            )
        return text + (f" - {self.reason}" if self.reason else "")

    @property
    def changed(self) -> bool:
        r = self.result
        return bool(r.inserted or r.updated or r.deleted)


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
