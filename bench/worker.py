"""One measured run in a fresh process: ``python -m bench.worker '<json spec>'``.

Each run gets its own interpreter so peak RSS and CPU belong to that run alone. Peak RSS
is ``VmHWM`` of ``/proc/self/status`` (the high-water mark of this process's own memory),
not ``ru_maxrss``: on Linux a child started from a large parent (the bench holds the
sandbox's N activities) inherits the parent's high-water mark in ``ru_maxrss`` across
``exec``, which made every figure at least the parent's size. The warehouse is built on
first use, as in the real runtime. Imports happen before the clock starts, except in
``coldpoll``, whose point is the import. Prints one JSON object on stdout.

Kinds:

- ``floor``: the fetch floor. The same listing pages ``all`` fetches, over the same
  ``requests`` session and headers, bodies discarded.
- ``sync``: one ``sync.run_sync`` into DuckDB or the local BigQuery stand-in.
- ``coldpoll``: ``import main`` then one Pub/Sub CloudEvent through ``main.ingest``.
"""

from __future__ import annotations

import base64
import json
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

HEAVY = ("google.cloud.bigquery", "google.cloud.storage", "duckdb", "pandas", "pyarrow", "numpy")


def heavy_modules() -> list[str]:
    """Heavy libraries (roots from ``HEAVY``) present in ``sys.modules``."""
    return [name for name in HEAVY if name in sys.modules]


def _peak_rss_mb() -> float:
    """This process's own peak RSS (``VmHWM``); ``ru_maxrss`` where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run_floor(spec: dict[str, Any]) -> dict[str, Any]:
    import requests

    from nunis_ingest.runtime import USER_AGENT

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    url = spec["base_url"].rstrip("/") + "/api/v3/athlete/activities"
    headers = {"Authorization": f"Bearer {spec['access_token']}", "Accept": "application/json"}

    def fetch() -> int:
        page = 1
        while True:
            params = {"page": page, "per_page": 200, "before": int(time.time())}
            body = session.get(url, params=params, headers=headers, timeout=30).content
            if body.strip() == b"[]":
                return page
            page += 1

    pages, wall, cpu = _timed(fetch)
    return {"wall": wall, "cpu": cpu, "requests": pages, "peak_rss_mb": _peak_rss_mb()}


def _warehouse(spec: dict[str, Any], runtime: Any) -> Any:
    if spec.get("warehouse", "duckdb") == "duckdb":
        warehouse = runtime.warehouse
        warehouse.setup = list(spec.get("duckdb_settings", []))  # bench experiments
        return warehouse
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse

    client = bigquery.Client(
        project=spec["bq_project"],
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=spec["bq_endpoint"]),
    )
    warehouse = BigQueryWarehouse(client, spec["bq_dataset"])
    warehouse.ensure_schema()
    return warehouse


class _MeasuredBatch:
    """A staged batch that notes the peak RSS reached before ``commit`` and the commit's time."""

    def __init__(self, batch: Any, notes: dict[str, float]) -> None:
        self._batch = batch
        self._notes = notes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def commit(self, **kwargs: Any) -> Any:
        self._notes["loop_peak_rss_mb"] = _peak_rss_mb()
        result, wall, _ = _timed(lambda: self._batch.commit(**kwargs))
        self._notes["commit_wall"] = wall
        return result


class _MeasuredWarehouse:
    """Builds the real warehouse on first use, delegates to it, wraps the batches it stages."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._real: Any = None
        self.notes: dict[str, float] = {}

    @property
    def real(self) -> Any:
        if self._real is None:
            self._real = self._build()
        return self._real

    @property
    def operations(self) -> dict[str, int]:
        return self.real.operations if self._real is not None else {"load": 0, "dml": 0}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def stage(self, athlete_id: int, run_id: str) -> _MeasuredBatch:
        return _MeasuredBatch(self.real.stage(athlete_id, run_id), self.notes)


def run_sync_once(spec: dict[str, Any]) -> dict[str, Any]:
    from nunis_ingest.core.events import SyncRequest
    from nunis_ingest.runtime import Runtime
    from nunis_ingest.settings import load_settings
    from nunis_ingest.usecases.sync import run_sync

    if spec.get("warehouse", "duckdb") == "duckdb":  # import before the clock, open on use
        import nunis_ingest.adapters.warehouses.duckdb_batch
    else:
        import nunis_ingest.adapters.warehouses.bigquery_batch  # noqa: F401

    runtime = Runtime(load_settings(spec["env"]))
    measured = _MeasuredWarehouse(lambda: _warehouse(spec, runtime))
    ctx = runtime.context()
    ctx.warehouse = measured  # type: ignore[assignment]
    offset = float(spec.get("clock_offset", 0.0))
    if offset:
        ctx.now = lambda: time.time() + offset
    request = SyncRequest(athlete_id=spec["athlete_id"], mode=spec["mode"], trigger="bench")
    rss_before = _rss_mb()
    report, wall, cpu = _timed(lambda: run_sync(request, ctx))
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
        "operations": dict(measured.operations),
        **measured.notes,
        "outcome": report.outcome,
        "pages": report.pages,
        "seen": report.seen,
        "inserted": report.result.inserted,
        "sync_requests": report.requests,
    }


def cloud_event(body: dict[str, Any]) -> Any:
    from cloudevents.http import CloudEvent

    data = {
        "message": {
            "data": base64.b64encode(json.dumps(body).encode()).decode(),
            "attributes": {},
            "messageId": f"bench-{time.time_ns()}",
            "publishTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        },
        "subscription": "projects/bench/subscriptions/ingest",
    }
    attributes = {
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "source": "//pubsub.googleapis.com/projects/bench/topics/ingest",
    }
    return CloudEvent(attributes, data)


def run_coldpoll(spec: dict[str, Any]) -> dict[str, Any]:
    """Import ``main`` (timed), then deliver one ``new`` message to ``main.ingest`` (timed)."""
    import os

    os.environ.update(spec["env"])
    event = cloud_event({"athlete_id": spec["athlete_id"], "mode": "new"})  # not timed
    before = set(sys.modules)
    _, import_wall, _ = _timed(lambda: __import__("main"))
    after_import = heavy_modules()
    imported = len(set(sys.modules) - before)
    import main
    from nunis_ingest.runtime import get_runtime

    _, wall, cpu = _timed(lambda: main.ingest(event))
    heavy_after_poll = heavy_modules()
    warehouse = get_runtime().warehouse  # the instance main.ingest just used
    return {
        "import_wall": import_wall,
        "modules_imported": imported,
        "heavy_after_import": after_import,
        "wall": wall,
        "cpu": cpu,
        "heavy_after_poll": heavy_after_poll,
        "operations": dict(warehouse.operations),
        "peak_rss_mb": _peak_rss_mb(),
    }


KINDS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "floor": run_floor,
    "sync": run_sync_once,
    "coldpoll": run_coldpoll,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = KINDS[spec["kind"]](spec)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
