"""Queue adapters: a durable SQLite file for the embedded default, Pub/Sub for gcp.

The local queue lives at ``<data dir>/.nunis-webhook-queue.sqlite3`` (the object store
reserves ``.nunis-`` names, so it never lists it). SQLite in WAL mode gives atomic,
crash-safe writes and lets the receiver and the worker be separate processes (e.g. a
``functions-framework`` receiver and a ``webhook serve --no-http`` worker). Messages are
claimed with a visibility deadline: a worker that dies mid-batch leaves them to be
claimed again, so delivery is at-least-once, like Pub/Sub.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

QUEUE_FILE = ".nunis-webhook-queue.sqlite3"
MAX_ATTEMPTS = 10

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    enqueued_at REAL NOT NULL,
    available_at REAL NOT NULL,
    claimed_until REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dead (
    id INTEGER PRIMARY KEY,
    body BLOB NOT NULL,
    enqueued_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Claimed:
    id: int
    body: bytes
    attempts: int


class LocalQueue:
    """A durable FIFO in one SQLite file; safe across threads and processes."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    def put(self, data: bytes, *, attributes: Mapping[str, str] | None = None) -> None:
        now = self.clock()
        with self._connect() as db:
            db.execute(
                "INSERT INTO messages (body, enqueued_at, available_at) VALUES (?, ?, ?)",
                (data, now, now),
            )

    def claim(
        self, limit: int = 100, visibility_seconds: float = 300.0, min_age: float = 0.0
    ) -> list[Claimed]:
        """Up to ``limit`` available messages at least ``min_age`` seconds old, oldest
        first, hidden from other claims for ``visibility_seconds``."""
        now = self.clock()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(
                "SELECT id, body, attempts FROM messages WHERE available_at <= ? "
                "AND claimed_until <= ? AND enqueued_at <= ? ORDER BY id LIMIT ?",
                (now, now, now - min_age, limit),
            ).fetchall()
            db.executemany(
                "UPDATE messages SET claimed_until = ?, attempts = attempts + 1 WHERE id = ?",
                [(now + visibility_seconds, row[0]) for row in rows],
            )
            db.execute("COMMIT")
        return [Claimed(int(r[0]), bytes(r[1]), int(r[2]) + 1) for r in rows]

    def ack(self, ids: list[int]) -> None:
        with self._connect() as db:
            db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])

    def retry(self, message: Claimed, delay: float, reason: str) -> None:
        """Make it available again after ``delay``; dead-letter after MAX_ATTEMPTS."""
        with self._connect() as db:
            if message.attempts >= MAX_ATTEMPTS:
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT OR REPLACE INTO dead SELECT id, body, enqueued_at, attempts, ? "
                    "FROM messages WHERE id = ?",
                    (reason[:500], message.id),
                )
                db.execute("DELETE FROM messages WHERE id = ?", (message.id,))
                db.execute("COMMIT")
                log.error("dead-lettered queued event %d: %s", message.id, reason)
                return
            db.execute(
                "UPDATE messages SET available_at = ?, claimed_until = 0 WHERE id = ?",
                (self.clock() + delay, message.id),
            )

    def depth(self) -> tuple[int, int]:
        """(messages waiting or claimed, dead letters)."""
        with self._connect() as db:
            waiting = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            dead = db.execute("SELECT COUNT(*) FROM dead").fetchone()[0]
        return int(waiting), int(dead)


class PubSubQueue:
    """Publishes to a Pub/Sub topic that triggers the ``ingest`` function."""

    def __init__(self, project: str, topic: str, timeout: float = 1.5) -> None:
        from google.cloud import pubsub_v1

        self._publisher: Any = pubsub_v1.PublisherClient()
        self._topic = self._publisher.topic_path(project, topic)
        self._timeout = timeout

    def put(self, data: bytes, *, attributes: Mapping[str, str] | None = None) -> None:
        future = self._publisher.publish(self._topic, data, **dict(attributes or {}))
        future.result(timeout=self._timeout)
