"""Pure: per-athlete sync state (``athletes/<id>/state.json``), versioned JSON.

This module holds the state's shape and its (de)serialisation; how a run moves it is
``settle.py`` (pure), where it starts a listing is ``plan.py``.

The state is small and committed last, after the warehouse write. ``cursor`` is the
newest ``start_date`` loaded (epoch seconds); a ``new`` poll lists from
``cursor - lookback``. ``known`` holds ``id -> (content_hash, start_epoch)`` only for
activities inside that window, so it stays bounded by the window's size; activities
without a start date are not kept (they are simply re-staged when seen, and the
warehouse counts them unchanged).

``suspects`` are activity ids a full listing did not show although the warehouse holds
them: they leave the warehouse only once ``GET /activities/{id}`` confirms them gone.
``rows`` is how many rows the warehouse should hold for the athlete (kept from every
commit's counts) and ``verified_at`` when that was last compared with the warehouse, so
a deleted or replaced warehouse is noticed and healed instead of silently frozen.

``enrich`` is the enrichment queue (``enrichment.py``): activity id -> (start_epoch, kinds
still to fetch, queued_at); ``enrich_kinds`` the kinds the last backfill scan looked
for, so switching streams on in ``config.json`` makes the next run queue the history;
``enrich_stamp`` the last queue stamp issued (each run's entries get a later one, so an
entry's archived response is never mistaken for an earlier entry's). ``enrich_failed``
holds the entries whose last fetch failed: activity id -> (attempts, retry_at, reason);
``enrichment.py`` backs them off and parks them, so one entry never starves the queue.
``schema_version`` is the ``schema.SCHEMA_VERSION`` the athlete's rows were last built
with (absent: 1, the first); a newer one rebuilds them from the archive once
(``replay``); ``rebuild_blocked`` names a damaged archive object that stopped that rebuild
(it is tried again once the object is fixed or moved). ``warehouse_id`` is the
warehouse's identity (``ports.Presence``) when its row count was last verified, and
``warehouse_size`` the size of its file then.

Decisions: ``load_state`` ignores keys it does not know (tolerant reader; a real format
change bumps ``version``); every known key is type-checked, and a bad one is reported as
corruption naming the key, never quoting the file's content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nunis_ingest.errors import ConfigError

STATE_VERSION = 1


@dataclass
class SyncState:
    version: int = STATE_VERSION
    cursor: int | None = None
    known: dict[int, tuple[str, int]] = field(default_factory=dict)
    last_run_id: str | None = None
    last_success_at: str | None = None
    last_error_class: str | None = None
    last_error_message: str | None = None
    needs_reauth: bool = False
    last_read_usage: dict[str, int] | None = None
    pending: dict[str, Any] | None = None
    suspects: list[int] = field(default_factory=list)
    rows: int | None = None
    verified_at: int | None = None
    enrich: dict[int, tuple[int, str, int]] = field(default_factory=dict)
    enrich_kinds: str | None = None
    schema_version: int | None = None
    enrich_failed: dict[int, tuple[int, int, str]] = field(default_factory=dict)
    rebuild_blocked: str | None = None
    warehouse_id: str | None = None
    warehouse_size: int | None = None
    enrich_stamp: int | None = None


MAX_REASON = 200
# --- serialisation -------------------------------------------------------------------


def dump_state(state: SyncState) -> bytes:
    """Compact JSON with sorted keys; ``known`` ids as string keys. ASCII only."""
    doc = {
        "version": state.version,
        "cursor": state.cursor,
        "known": {str(k): [h, s] for k, (h, s) in sorted(state.known.items())},
        "last_run_id": state.last_run_id,
        "last_success_at": state.last_success_at,
        "last_error_class": state.last_error_class,
        "last_error_message": state.last_error_message,
        "needs_reauth": state.needs_reauth,
        "last_read_usage": state.last_read_usage,
        "pending": state.pending,
        "suspects": sorted(state.suspects),
        "rows": state.rows,
        "verified_at": state.verified_at,
        "enrich": {str(k): [s, kinds, q] for k, (s, kinds, q) in sorted(state.enrich.items())},
        "enrich_kinds": state.enrich_kinds,
        "schema_version": state.schema_version,
        "enrich_failed": {
            str(k): [n, at, why[:MAX_REASON]]
            for k, (n, at, why) in sorted(state.enrich_failed.items())
        },
        "rebuild_blocked": state.rebuild_blocked,
        "enrich_stamp": state.enrich_stamp,
        "warehouse_id": state.warehouse_id,
        "warehouse_size": state.warehouse_size,
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.encode("ascii") + b"\n"


def load_state(data: bytes | None, *, athlete_id: int | None = None) -> SyncState:
    """Parse ``state.json``; ``None`` (no file yet) gives a fresh state.

    Raises ``ConfigError`` for corrupt content or a version newer than this code knows.
    ``athlete_id`` only makes the messages name the exact object key.
    """
    key = f"athletes/{athlete_id if athlete_id is not None else '<id>'}/state.json"
    fix = f"none needed: the next sync sets {key} aside and starts over with a full load"
    if data is None:
        return SyncState()
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise StateCorrupt(f"{key} is not UTF-8 text.", action=fix) from None
    except (ValueError, RecursionError) as error:
        problem = str(error)[:100] if isinstance(error, ValueError) else "nested too deeply"
        raise StateCorrupt(f"{key} is not valid JSON ({problem}).", action=fix) from None
    if not isinstance(doc, dict):
        raise StateCorrupt(f"{key} must hold a JSON object.", action=fix)
    try:
        return _from_doc(doc)
    except _Future as error:
        raise ConfigError(
            f"{key} has state version {error.version}, newer than this code understands "
            f"({STATE_VERSION}).",
            action=f"upgrade nunis-ingest, or delete {key} to start over with a full load",
        ) from None
    except (_Corrupt, AttributeError, TypeError, ValueError, OverflowError) as error:
        problem = str(error) if isinstance(error, _Corrupt) else "a value has the wrong type"
        raise StateCorrupt(f"{key} is corrupt: {problem}.", action=fix) from None


class StateCorrupt(ConfigError):
    """``state.json`` is unreadable (not a newer version's): it can be set aside."""


class _Corrupt(Exception):
    pass


class _Future(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def _int(value: object, name: str, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Corrupt(f"'{name}' must be an integer, got {type(value).__name__}")
    return value


EPOCH_MIN, EPOCH_MAX = -62_135_596_800, 253_402_300_799  # 0001-01-01 .. 9999-12-31 UTC


def _epoch(value: object, name: str, *, optional: bool = True, low: int = EPOCH_MIN) -> int | None:
    """An epoch second a date can be built from (keys, ISO strings): a value beyond the
    calendar would fail every later run that turns it into a date, so it is corruption."""
    number = _int(value, name, optional=optional)
    if number is not None and not low <= number <= EPOCH_MAX:
        raise _Corrupt(f"'{name}' is not a date")
    return number


def _str(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _Corrupt(f"'{name}' must be a string, got {type(value).__name__}")


def _from_doc(doc: dict[str, Any]) -> SyncState:
    version = _int(doc.get("version"), "version", optional=False)
    assert version is not None
    if version > STATE_VERSION:
        raise _Future(version)
    if version < 1:
        raise _Corrupt(f"'version' must be 1..{STATE_VERSION}, got {version}")
    known = doc.get("known", {})
    if not isinstance(known, dict):
        raise _Corrupt("'known' must be an object")
    parsed_known: dict[int, tuple[str, int]] = {}
    for raw_id, entry in known.items():
        if not (raw_id.isascii() and raw_id.isdigit()):
            raise _Corrupt("'known' keys must be activity ids (digits)")
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise _Corrupt("'known' values must be [content_hash, start_epoch]")
        start = _epoch(entry[1], "known start_epoch", optional=False)
        assert start is not None
        parsed_known[int(raw_id)] = (entry[0], start)
    needs_reauth = doc.get("needs_reauth", False)
    if not isinstance(needs_reauth, bool):
        raise _Corrupt("'needs_reauth' must be true or false")
    usage = doc.get("last_read_usage")
    if usage is not None and not (
        isinstance(usage, dict)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in usage.values())
    ):
        raise _Corrupt("'last_read_usage' must be an object of integers")
    pending = doc.get("pending")
    if pending is not None and not isinstance(pending, dict):
        raise _Corrupt("'pending' must be an object")
    suspects = doc.get("suspects", [])
    if not (
        isinstance(suspects, list)
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in suspects)
    ):
        raise _Corrupt("'suspects' must be a list of activity ids")
    rows = _int(doc.get("rows"), "rows")
    if rows is not None and rows < 0:
        raise _Corrupt("'rows' must not be negative")
    enrich = _enrich(doc.get("enrich", {}))
    enrich_kinds = _str(doc.get("enrich_kinds"), "enrich_kinds")
    if enrich_kinds is not None and not set(enrich_kinds) <= {"d", "s"}:
        raise _Corrupt("'enrich_kinds' must be made of 'd' and 's'")
    return SyncState(
        version=version,
        cursor=_epoch(doc.get("cursor"), "cursor"),
        known=parsed_known,
        last_run_id=_str(doc.get("last_run_id"), "last_run_id"),
        last_success_at=_str(doc.get("last_success_at"), "last_success_at"),
        last_error_class=_str(doc.get("last_error_class"), "last_error_class"),
        last_error_message=_str(doc.get("last_error_message"), "last_error_message"),
        needs_reauth=needs_reauth,
        last_read_usage=usage,
        pending=pending,
        suspects=sorted(set(suspects)),
        rows=rows,
        verified_at=_epoch(doc.get("verified_at"), "verified_at"),
        enrich=enrich,
        enrich_kinds=enrich_kinds,
        schema_version=_int(doc.get("schema_version"), "schema_version"),
        enrich_failed=_failed(doc.get("enrich_failed", {})),
        rebuild_blocked=_str(doc.get("rebuild_blocked"), "rebuild_blocked"),
        warehouse_id=_str(doc.get("warehouse_id"), "warehouse_id"),
        warehouse_size=_int(doc.get("warehouse_size"), "warehouse_size"),
        enrich_stamp=_epoch(doc.get("enrich_stamp"), "enrich_stamp"),
    )


def _enrich(value: object) -> dict[int, tuple[int, str, int]]:
    if not isinstance(value, dict):
        raise _Corrupt("'enrich' must be an object")
    out: dict[int, tuple[int, str, int]] = {}
    for raw_id, entry in value.items():
        if not (raw_id.isascii() and raw_id.isdigit() and int(raw_id) > 0):
            raise _Corrupt("'enrich' keys must be activity ids (digits)")
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and isinstance(entry[1], str)
            and entry[1]
            and set(entry[1]) <= {"d", "s"}
        ):
            raise _Corrupt("'enrich' values must be [start_epoch, kinds, queued_at]")
        start = _epoch(entry[0], "enrich start_epoch", optional=False)
        queued = _epoch(entry[2], "enrich queued_at", optional=False, low=0)
        assert start is not None
        assert queued is not None
        out[int(raw_id)] = (start, entry[1], queued)
    return out


def _failed(value: object) -> dict[int, tuple[int, int, str]]:
    if not isinstance(value, dict):
        raise _Corrupt("'enrich_failed' must be an object")
    out: dict[int, tuple[int, int, str]] = {}
    for raw_id, entry in value.items():
        if not (raw_id.isascii() and raw_id.isdigit() and int(raw_id) > 0):
            raise _Corrupt("'enrich_failed' keys must be activity ids (digits)")
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], str)):
            raise _Corrupt("'enrich_failed' values must be [attempts, retry_at, reason]")
        attempts = _int(entry[0], "enrich_failed attempts", optional=False)
        retry_at = _epoch(entry[1], "enrich_failed retry_at", optional=False)
        assert attempts is not None
        assert retry_at is not None
        if attempts < 1:
            raise _Corrupt("'enrich_failed' attempts must be positive")
        out[int(raw_id)] = (attempts, retry_at, entry[2][:MAX_REASON])
    return out
