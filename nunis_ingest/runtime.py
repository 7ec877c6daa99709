"""The one composition root: settings → adapters for the "local" or "gcp" backend.

Nothing else imports an adapter. Clients are built lazily on first use and cached on
the Runtime, which ``get_runtime`` keeps per process so warm function invocations reuse
connections. No sync state lives here: only clients.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import requests

from nunis_ingest import logs
from nunis_ingest.settings import Settings, load_settings
from nunis_ingest.sync import SyncContext

if TYPE_CHECKING:
    from nunis_ingest.ports import ObjectStore, Warehouse

USER_AGENT = "nunis-ingest/0.1 (+https://github.com/nunis/nunis-ingest)"


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        logs.register_secret(settings.strava_client_secret)

    @functools.cached_property
    def store(self) -> ObjectStore:
        if self.settings.backend == "gcp":
            from google.cloud import storage

            from nunis_ingest.stores.gcs import GCSObjectStore

            bucket, _ = self.settings.require_gcp()
            return GCSObjectStore(storage.Client(project=self.settings.project), bucket)
        from nunis_ingest.stores.localfs import LocalObjectStore

        return LocalObjectStore(self.settings.data_dir)

    @functools.cached_property
    def warehouse(self) -> Warehouse:
        if self.settings.backend == "gcp":
            from google.cloud import bigquery

            from nunis_ingest.warehouses.bigquery import BigQueryWarehouse

            _, dataset = self.settings.require_gcp()
            client = bigquery.Client(
                project=self.settings.project, location=self.settings.bq_location
            )
            warehouse: Warehouse = BigQueryWarehouse(
                client, dataset, location=self.settings.bq_location
            )
        else:
            from nunis_ingest.warehouses.duckdb import DuckDBWarehouse

            self.settings.duckdb_file.parent.mkdir(parents=True, exist_ok=True)
            warehouse = DuckDBWarehouse(self.settings.duckdb_file)
        warehouse.ensure_schema()
        return warehouse

    @functools.cached_property
    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        return session

    def context(self, on_page: Callable[[int, int], None] | None = None) -> SyncContext:
        return SyncContext(
            store=self.store,
            warehouse=self.warehouse,
            session=self.session,
            settings=self.settings,
            now=time.time,
            on_page=on_page,
        )


_lock = threading.Lock()
_cached: tuple[tuple[tuple[str, str], ...], Runtime] | None = None


def get_runtime(env: Mapping[str, str] | None = None) -> Runtime:
    """The process's Runtime, rebuilt only when the relevant environment changes."""
    global _cached
    import os

    source = os.environ if env is None else env
    key = tuple(sorted((k, v) for k, v in source.items() if k.startswith(("NUNIS_", "STRAVA_"))))
    with _lock:
        if _cached is None or _cached[0] != key:
            settings = load_settings(source)
            logs.configure(settings.effective_log_format)
            _cached = (key, Runtime(settings))
        return _cached[1]
