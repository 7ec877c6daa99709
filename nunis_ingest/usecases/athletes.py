"""Per-athlete objects in the object store: config, token and state (ARCHITECTURE.md §4).

Config, secrets and state live apart: ``config.json`` is non-secret settings a person
edits, ``token.json`` is the secret the OAuth flow rotates, ``state.json`` is what the
sync advances. Every key is built from a validated integer athlete id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from nunis_ingest.core.keys import (
    ATHLETES_PREFIX,
    archive_prefix,
    athlete_key,
    athlete_prefix,
    quarantine_key,
)
from nunis_ingest.core.state import StateCorrupt, SyncState, dump_state, load_state
from nunis_ingest.core.token import Token
from nunis_ingest.errors import AthleteNotConfigured, ConfigError, PreconditionFailed
from nunis_ingest.ports import CREATE_ONLY, ObjectStore, Warehouse

log = logging.getLogger("nunis_ingest.sync")


@dataclass(frozen=True)
class AthleteConfig:
    """Non-secret per-athlete settings. ``lookback_days`` None = the global setting.
    ``details``/``streams``: which enrichment requests this athlete's activities get (one
    ``GET /activities/{id}`` for details, laps, splits and best efforts; one for streams)."""

    athlete_id: int
    enabled: bool = True
    lookback_days: int | None = None
    label: str = ""
    details: bool = True
    streams: bool = False

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, athlete_id: int) -> AthleteConfig:
        try:
            doc = json.loads(data)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            lookback = doc.get("lookback_days")
            if lookback is not None and (
                isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 0
            ):
                raise ValueError("lookback_days must be a non-negative integer or null")
            flags = {}
            for name, default in (("enabled", True), ("details", True), ("streams", False)):
                flags[name] = doc.get(name, default)
                if not isinstance(flags[name], bool):
                    raise ValueError(f"{name} must be true or false")
            return cls(
                athlete_id,
                flags["enabled"],
                lookback,
                str(doc.get("label", "")),
                details=flags["details"],
                streams=flags["streams"],
            )
        except (ValueError, RecursionError) as exc:
            why = exc if isinstance(exc, ValueError) else "nested too deeply"
            raise ConfigError(
                f"{athlete_key(athlete_id, 'config.json')} is invalid: {why}.",
                athlete_id=athlete_id,
                action="fix the file (see config/athlete.example.json) or re-add the athlete.",
            ) from None


class AthleteRepo:
    """Reads and writes one athlete's objects through an ObjectStore."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.repaired: list[str] = []  # what ``load_state(repair=True)`` set aside

    def list_ids(self) -> list[int]:
        ids = set()
        for key in self.store.list(ATHLETES_PREFIX):
            head, _, rest = key.removeprefix(ATHLETES_PREFIX).partition("/")
            if rest == "config.json" and head.isdigit():
                ids.add(int(head))
        return sorted(ids)

    def load_config(self, athlete_id: int) -> AthleteConfig:
        stored = self.store.get(athlete_key(athlete_id, "config.json"))
        if stored is None:
            raise AthleteNotConfigured(
                f"Athlete {athlete_id} is not configured.",
                athlete_id=athlete_id,
                action="register it with `nunis-ingest athlete add` or `nunis-ingest auth`.",
            )
        return AthleteConfig.from_json(stored.data, athlete_id)

    def save_config(self, config: AthleteConfig) -> None:
        self.store.put(athlete_key(config.athlete_id, "config.json"), config.to_json())

    def load_token(self, athlete_id: int) -> Token:
        stored = self.store.get(athlete_key(athlete_id, "token.json"))
        if stored is None:
            raise AthleteNotConfigured(
                f"Athlete {athlete_id} has no token.",
                athlete_id=athlete_id,
                action="run `nunis-ingest auth` or `nunis-ingest athlete add "
                f"{athlete_id} --refresh-token ...`.",
            )
        return Token.from_json(stored.data)

    def save_token(self, athlete_id: int, token: Token) -> None:
        """Unconditional: a freshly rotated token is the only valid one and must win."""
        self.store.put(athlete_key(athlete_id, "token.json"), token.to_json())

    def delete_token(self, athlete_id: int) -> bool:
        return self.store.delete(athlete_key(athlete_id, "token.json"))

    def load_state(self, athlete_id: int, *, repair: bool = False) -> tuple[SyncState, int]:
        """The state and its generation (``CREATE_ONLY`` when there is none yet).

        A corrupt ``state.json`` raises ``ConfigError`` naming it; with ``repair`` (the
        sync and webhook paths) it is copied to ``quarantine/`` and a fresh state is
        returned with the stored generation, so the athlete starts over with a full load
        instead of failing every run (rows, archive and token are untouched). A state
        written by a newer version is never overwritten: that still raises."""
        key = athlete_key(athlete_id, "state.json")
        stored = self.store.get(key)
        if stored is None:
            return load_state(None), CREATE_ONLY
        try:
            return load_state(stored.data, athlete_id=athlete_id), stored.generation
        except StateCorrupt as exc:
            if not repair:
                raise
            moved = quarantine_key(key)
            self.store.put(moved, stored.data)
            why = str(exc).split(" Fix: ", 1)[0].removesuffix(".")
            text = f"{why}; set aside as {moved}, the athlete starts over with a full load"
            log.warning(text)
            self.repaired.append(text)
            return SyncState(), stored.generation

    def save_state(self, athlete_id: int, state: SyncState, generation: int) -> int:
        """Compare-and-swap: a lost race raises PreconditionFailed (retriable)."""
        return self.store.put(
            athlete_key(athlete_id, "state.json"), dump_state(state), if_generation=generation
        )

    def remove(self, athlete_id: int) -> int:
        """Delete every object under the athlete's prefix; return how many."""
        keys = list(self.store.list(athlete_prefix(athlete_id)))
        for key in keys:
            self.store.delete(key)
        return len(keys)


SAVE_ATTEMPTS = 4


def save_settlement(repo: AthleteRepo, athlete_id: int, state: SyncState, generation: int) -> int:
    """Write ``state.json``: the only caller of ``AthleteRepo.save_state``. Every state it is
    given comes from ``core.settle`` or a named transition of ``core.transitions``.
    Compare-and-swap on ``generation``; returns the new generation."""
    return repo.save_state(athlete_id, state, generation)


def update_state(
    repo: AthleteRepo, athlete_id: int, transition: Callable[[SyncState], SyncState]
) -> SyncState:
    """Read the state, apply a pure ``transition`` and save it (``save_settlement``); a lost
    compare-and-swap re-reads and re-applies, a few times. An unchanged state is not
    written."""
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        state, generation = repo.load_state(athlete_id, repair=True)
        updated = transition(state)
        if updated == state:
            return state
        try:
            save_settlement(repo, athlete_id, updated, generation)
            return updated
        except PreconditionFailed:
            if attempt == SAVE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def purge_data(store: ObjectStore, warehouse: Warehouse, athlete_id: int) -> tuple[int, int]:
    """Delete the athlete's warehouse rows (every table), then their archive; returns
    ``(activities rows, archive objects)``. The warehouse first: if it fails, the archive
    is still there and the purge can simply run again."""
    rows = warehouse.purge_athlete(athlete_id)
    keys = list(store.list(archive_prefix(athlete_id)))
    for key in keys:
        store.delete(key)
    return rows, len(keys)
