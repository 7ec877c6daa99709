"""Where our subscription id lives: ``webhook/subscription.json`` in the object store.

``webhook subscribe`` writes it once Strava has accepted the handshake, so no redeploy is
needed; ``NUNIS_WEBHOOK_SUBSCRIPTION_ID`` overrides it (e.g. a subscription created by
hand). The receiver caches a found id briefly and re-reads on a mismatch (at most every
few seconds), so a fresh subscription is seen at once and the hot path stays in memory.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from nunis_ingest.ports import ObjectStore

log = logging.getLogger(__name__)

SUBSCRIPTION_KEY = "webhook/subscription.json"
CACHE_SECONDS = 60.0
MISMATCH_REFRESH_SECONDS = 5.0


def callback_with_secret(url: str, path_secret: str | None) -> str:
    """The URL Strava calls: ``url`` plus the secret path segment when one is configured."""
    return f"{url.rstrip('/')}/{path_secret}" if path_secret else url


def without_secret(url: str, path_secret: str | None) -> str:
    """``url`` fit to print or store: the path secret replaced by a placeholder."""
    return url.replace(path_secret, "<path secret>") if path_secret else url


def load(store: ObjectStore) -> dict[str, Any] | None:
    stored = store.get(SUBSCRIPTION_KEY)
    if stored is None:
        return None
    try:
        doc = json.loads(stored.data)
        if isinstance(doc, dict) and isinstance(doc.get("id"), int):
            return doc
    except (ValueError, RecursionError):
        pass
    log.error("%s is corrupt; run `nunis-ingest webhook subscribe` again", SUBSCRIPTION_KEY)
    return None


def save(store: ObjectStore, subscription_id: int, callback_url: str, now: float) -> None:
    doc = {"id": subscription_id, "callback_url": callback_url, "created_at": now}
    store.put(SUBSCRIPTION_KEY, json.dumps(doc, sort_keys=True).encode())


def forget(store: ObjectStore) -> bool:
    return store.delete(SUBSCRIPTION_KEY)


def live_id(store: ObjectStore, override: int | None) -> int | None:
    if override is not None:
        return override
    doc = load(store)
    return int(doc["id"]) if doc else None


class SubscriptionIdCache:
    """Our id for the request path: memory first, the store when stale or contradicted."""

    def __init__(
        self,
        store: Callable[[], ObjectStore],
        override: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._override = override
        self._clock = clock
        self._lock = threading.Lock()
        self._id: int | None = None
        self._read_at = float("-inf")

    def __call__(self, seen: int) -> int | None:
        if self._override is not None:
            return self._override
        now = self._clock()
        with self._lock:
            age = now - self._read_at
            stale = self._id is None or age > CACHE_SECONDS
            contradicted = self._id != seen and age > MISMATCH_REFRESH_SECONDS
            if stale or contradicted:
                self._id = live_id(self._store(), None)
                self._read_at = now
            return self._id
