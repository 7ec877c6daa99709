"""A per-athlete lease in the object store, so two runs for one athlete never interleave.

Acquire = create-only write of ``athletes/<id>/lease.json``; an expired lease is taken
over by compare-and-swap on its generation, so of two runs that both see it expired
exactly one wins. The expiry lets a crashed holder block the athlete for at most
``ttl_seconds``. Release deletes the object only if it is still ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType

from nunis_ingest.errors import LeaseHeld, PreconditionFailed
from nunis_ingest.keys import athlete_key
from nunis_ingest.ports import CREATE_ONLY, ObjectStore


@dataclass
class Lease:
    store: ObjectStore
    athlete_id: int
    holder: str  # the run id
    now: float  # epoch seconds at acquisition
    ttl_seconds: float
    generation: int | None = None

    @property
    def key(self) -> str:
        return athlete_key(self.athlete_id, "lease.json")

    def acquire(self) -> Lease:
        body = json.dumps(
            {
                "holder": self.holder,
                "acquired_at": self.now,
                "expires_at": self.now + self.ttl_seconds,
            }
        ).encode()
        current = self.store.get(self.key)
        expected = CREATE_ONLY
        if current is not None:
            expires_at, holder = _parse(current.data)
            if expires_at > self.now:
                raise LeaseHeld(
                    f"Athlete {self.athlete_id} is being synced by run {holder} "
                    f"(lease expires in {expires_at - self.now:.0f} s); this run did nothing.",
                    athlete_id=self.athlete_id,
                    action="none needed: the other run is loading the same data.",
                )
            expected = current.generation
        try:
            self.generation = self.store.put(self.key, body, if_generation=expected)
        except PreconditionFailed:
            raise LeaseHeld(
                f"Athlete {self.athlete_id}: another run took the lease first; "
                "this run did nothing.",
                athlete_id=self.athlete_id,
                action="none needed.",
            ) from None
        return self

    def renew(self, now: float) -> None:
        """Push the expiry to ``now + ttl_seconds`` (a long run: the bulk import), by
        compare-and-swap on our generation; ``LeaseHeld`` when the lease is no longer ours
        (it expired and another run took it), so the caller stops before writing more."""
        body = json.dumps(
            {"holder": self.holder, "acquired_at": self.now, "expires_at": now + self.ttl_seconds}
        ).encode()
        try:
            if self.generation is None:
                raise PreconditionFailed("never acquired")
            self.generation = self.store.put(self.key, body, if_generation=self.generation)
        except PreconditionFailed:
            self.generation = None
            raise LeaseHeld(
                f"Athlete {self.athlete_id}: run {self.holder} lost its lease (it expired and "
                "another run took it); it stopped before writing more.",
                athlete_id=self.athlete_id,
                action="run it again: what it wrote is kept, and it resumes where it stopped.",
            ) from None

    def release(self) -> None:
        if self.generation is None:
            return
        current = self.store.get(self.key)
        if current is not None and current.generation == self.generation:
            self.store.delete(self.key, if_generation=self.generation)
        self.generation = None

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _parse(data: bytes) -> tuple[float, str]:
    """(expires_at, holder); a corrupt lease counts as expired so it cannot block forever."""
    try:
        doc = json.loads(data)
        return float(doc["expires_at"]), str(doc.get("holder", "?"))
    except (ValueError, KeyError, TypeError):
        return 0.0, "?"
