"""Read back what we archived: our own storage is untrusted input too.

Every object a run reads back (a listing page of an interrupted full refresh, any object a
replay rebuilds from, a tombstone) goes through one of these parsers, which check the
shape the writer gave it and raise ``errors.ArchiveDamaged`` naming the object and what
is wrong with it. Callers decide what a damaged object becomes (``docs/reliability.md``):
a resumed full refresh lists from Strava again, a replay stops before writing anything.
Nothing here quotes an object's content in a message (it could hold anything).

- a page: a non-empty JSON list, no object in it owned by another athlete (``athlete.id``);
- an activity (``GET /activities/{id}``), a detail: a JSON object whose ``id`` is the id
  in its key, not owned by another athlete; streams: a JSON object;
- a tombstone: ``{"id": <the id in its key>, "confirmed_at": <epoch seconds>}``.
"""

from __future__ import annotations

import json
from typing import Any

from nunis_ingest.core.keys import quarantine_key
from nunis_ingest.errors import ArchiveDamaged
from nunis_ingest.ports import ObjectStore

MAX_DEPTH_ERROR = "nested too deeply"


def parse_json(key: str, data: bytes | None) -> Any:
    """The decoded JSON of ``data``; ``None`` (the object vanished) is damage too."""
    if data is None:
        raise ArchiveDamaged(key, "it is missing")
    if not data.strip():
        raise ArchiveDamaged(key, "it is empty")
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise ArchiveDamaged(key, "it is not UTF-8 text") from None
    except RecursionError:
        raise ArchiveDamaged(key, MAX_DEPTH_ERROR) from None
    except ValueError as error:
        where = f"at byte {error.pos}" if isinstance(error, json.JSONDecodeError) else ""
        raise ArchiveDamaged(key, f"not JSON, torn {where}".strip()) from None


def _owner(item: dict[str, Any]) -> object:
    athlete = item.get("athlete")
    return athlete.get("id") if isinstance(athlete, dict) else None


def _check_owner(key: str, item: dict[str, Any], athlete_id: int) -> None:
    owner = _owner(item)
    if isinstance(owner, int) and not isinstance(owner, bool) and owner != athlete_id:
        raise ArchiveDamaged(key, f"it holds an activity of athlete {owner}, not {athlete_id}")


def page_items(key: str, data: bytes | None, athlete_id: int) -> list[dict[str, Any]]:
    """A listing page: a non-empty list (an empty page is never archived) whose objects are
    activities of ``athlete_id``; an item that is not an object is left out, as the run
    that archived the page left it out (it is kept in the archive, nothing to load)."""
    doc = parse_json(key, data)
    if not isinstance(doc, list):
        raise ArchiveDamaged(key, f"a listing page must be a JSON list, not {_kind(doc)}")
    if not doc:
        raise ArchiveDamaged(key, "an archived listing page is never empty")
    items = [item for item in doc if isinstance(item, dict)]
    for item in items:
        _check_owner(key, item, athlete_id)
    return items


def activity_object(
    key: str, data: bytes | None, athlete_id: int, activity_id: int
) -> dict[str, Any]:
    """One ``GET /activities/{id}`` response of ``athlete_id`` for ``activity_id`` (the id
    in its key): an object naming another activity is damage, never that activity's data."""
    doc = json_object(key, data)
    named = doc.get("id")
    if isinstance(named, bool) or named != activity_id:
        raise ArchiveDamaged(key, f"it does not hold activity {activity_id}")
    _check_owner(key, doc, athlete_id)
    return doc


def json_object(key: str, data: bytes | None) -> dict[str, Any]:
    """A response that must be a JSON object (details, streams)."""
    doc = parse_json(key, data)
    if not isinstance(doc, dict):
        raise ArchiveDamaged(key, f"it must be a JSON object, not {_kind(doc)}")
    return doc


def tombstone(key: str, data: bytes | None, activity_id: int) -> int:
    """``confirmed_at`` of a tombstone whose body names ``activity_id`` (its key's id)."""
    doc = json_object(key, data)
    named, confirmed = doc.get("id"), doc.get("confirmed_at")
    if isinstance(named, bool) or named != activity_id:
        raise ArchiveDamaged(key, f"the tombstone does not name activity {activity_id}")
    if isinstance(confirmed, bool) or not isinstance(confirmed, int) or confirmed < 0:
        raise ArchiveDamaged(key, "the tombstone has no confirmed_at time")
    return confirmed


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def quarantine(store: ObjectStore, key: str) -> str:
    """Move a damaged object out of the archive (to ``quarantine/<key>``), once what it
    held is being fetched from Strava again; returns where it went."""
    target = quarantine_key(key)
    stored = store.get(key)
    if stored is not None:
        store.put(target, stored.data)
        store.delete(key)
    return target
