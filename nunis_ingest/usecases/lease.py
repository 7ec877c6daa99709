"""A per-athlete lease in the object store, so two runs for one athlete never interleave.

Acquire = create-only write of ``athletes/<id>/lease.json``; an expired lease is taken
over by compare-and-swap on its generation, so of two runs that both see it expired
exactly one wins. The expiry lets a crashed holder block the athlete for at most
``ttl_seconds`` (at most ~10 minutes for a sync, less than one 15-minute interval).
Release deletes the object only if it is still ours.

The lease is read back from storage, so it is untrusted: an expiry that is not a finite
number, or further ahead than any run's lease reaches (``MAX_LEASE_SECONDS``), counts as
expired; a corrupt lease too. With ``local`` (the embedded default: one machine, one
folder), a lease whose holder process, recorded by host name and process id, is no longer
running (a ``kill -9``) is taken over at once instead of after its expiry.
"""

from __future__ import annotations

import json
import math
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from nunis_ingest.core.keys import athlete_key
from nunis_ingest.errors import LeaseHeld, PreconditionFailed
from nunis_ingest.ports import CREATE_ONLY, ObjectStore

MAX_LEASE_SECONDS = 3600.0
"""No run takes a lease for longer (``replay`` takes an hour, a sync its time budget)."""
CLOCK_SKEW_SECONDS = 60.0


@dataclass(frozen=True)
class Holder:
    """What a stored lease says; ``expires_at`` 0 when it cannot be believed."""

    expires_at: float
    run: str = "?"
    host: str = ""
    pid: int = 0


@dataclass
class Lease:
    store: ObjectStore
    athlete_id: int
    holder: str  # the run id
    now: float  # epoch seconds at acquisition
    ttl_seconds: float
    generation: int | None = None
    local: bool = False  # one machine: a dead holder process frees the lease at once

    @property
    def key(self) -> str:
        return athlete_key(self.athlete_id, "lease.json")

    def _body(self, expires_at: float) -> bytes:
        """What the lease holds, the same at acquire and renew: the holder process (host and
        PID) stays recorded, so a killed run frees it at once locally (``_dead``)."""
        return json.dumps(
            {
                "holder": self.holder,
                "acquired_at": self.now,
                "expires_at": expires_at,
                "host": socket.gethostname(),
                "pid": os.getpid(),
            }
        ).encode()

    def acquire(self) -> Lease:
        body = self._body(self.now + self.ttl_seconds)
        current = self.store.get(self.key)
        expected = CREATE_ONLY
        if current is not None:
            held = parse_holder(current.data, self.now, max(self.ttl_seconds, MAX_LEASE_SECONDS))
            if held.expires_at > self.now and not (self.local and _dead(held)):
                until = datetime.fromtimestamp(held.expires_at, UTC).strftime("%H:%M:%S")
                raise LeaseHeld(
                    f"Athlete {self.athlete_id} is held by run {held.run} (its lease "
                    f"expires in {held.expires_at - self.now:.0f} s, at {until} UTC); "
                    "this run did nothing.",
                    athlete_id=self.athlete_id,
                    action=f"none needed: if that run is going it loads the same data; if it "
                    f"was killed, the lease frees itself at {until} UTC and the next run "
                    "goes on.",
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
        body = self._body(now + self.ttl_seconds)
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


def parse_holder(data: bytes, now: float, reach: float) -> Holder:
    """Pure: the stored lease as seen at ``now``. A corrupt one, or one whose expiry is not
    finite or lies more than ``reach`` (+ clock skew) ahead, counts as expired."""
    try:
        doc = json.loads(data)
        expires_at = doc["expires_at"]
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
            return Holder(0.0)
        expires = float(expires_at)
    except (ValueError, KeyError, TypeError, RecursionError, OverflowError):
        return Holder(0.0)
    if not math.isfinite(expires) or expires > now + reach + CLOCK_SKEW_SECONDS:
        return Holder(0.0)
    host, pid = doc.get("host"), doc.get("pid")
    return Holder(
        expires,
        str(doc.get("holder", "?"))[:80],
        host if isinstance(host, str) else "",
        pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else 0,
    )


def _dead(held: Holder) -> bool:
    """Whether the holder ran on this machine and its process is gone."""
    if not held.pid or held.host != socket.gethostname() or held.pid == os.getpid():
        return False
    try:
        os.kill(held.pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError):
        return False
    return False
