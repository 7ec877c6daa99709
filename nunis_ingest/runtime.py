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
from nunis_ingest.ports import Presence, file_presence
from nunis_ingest.settings import Settings, load_settings
from nunis_ingest.usecases.sync import SyncContext

if TYPE_CHECKING:
    from nunis_ingest.ports import ObjectStore, Queue, Warehouse
    from nunis_ingest.usecases.budget_ledger import BudgetLedger

USER_AGENT = "nunis-ingest/0.1 (+https://github.com/nunis/nunis-ingest)"


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        logs.register_secret(settings.strava_client_secret)

    @functools.cached_property
    def store(self) -> ObjectStore:
        if self.settings.backend == "gcp":
            from google.cloud import storage

            from nunis_ingest.adapters.stores.gcs import GCSObjectStore

            bucket, _ = self.settings.require_gcp()
            return GCSObjectStore(storage.Client(project=self.settings.project), bucket)
        from nunis_ingest.adapters.stores.localfs import LocalObjectStore

        return LocalObjectStore(self.settings.data_dir)

    @functools.cached_property
    def warehouse(self) -> Warehouse:
        if self.settings.backend == "gcp":
            from google.cloud import bigquery

            from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse

            _, dataset = self.settings.require_gcp()
            client = bigquery.Client(
                project=self.settings.project,
                location=self.settings.bq_location,
                **_bigquery_emulator_options(),
            )
            warehouse: Warehouse = BigQueryWarehouse(
                client, dataset, location=self.settings.bq_location
            )
        else:
            from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse

            self.settings.duckdb_file.parent.mkdir(parents=True, exist_ok=True)
            warehouse = DuckDBWarehouse(
                self.settings.duckdb_file, lock_wait=self.settings.duckdb_lock_wait_seconds
            )
        warehouse.ensure_schema()
        return warehouse

    @functools.cached_property
    def queue(self) -> Queue:
        """Webhook events: Pub/Sub (NUNIS_EVENTS_TOPIC) on gcp, a SQLite file locally."""
        if self.settings.backend == "gcp":
            topic = self.settings.events_topic
            if not topic:
                from nunis_ingest.errors import ConfigError

                raise ConfigError(
                    "NUNIS_BACKEND=gcp needs NUNIS_EVENTS_TOPIC for webhook events.",
                    action="set it to the events topic (deployment-guide.md, webhooks).",
                )
            return self._pubsub(topic)
        from nunis_ingest.adapters.queues import QUEUE_FILE, LocalQueue

        return LocalQueue(self.settings.data_dir / QUEUE_FILE)

    @functools.cached_property
    def ingest_publisher(self) -> Queue | None:
        """Publishes per-athlete messages on the function's own topic (fanout.py), if set."""
        topic = self.settings.ingest_topic
        return self._pubsub(topic) if topic else None

    def _pubsub(self, topic: str) -> Queue:
        from nunis_ingest.adapters.queues import PubSubQueue

        project = self.settings.project
        if not project:
            import google.auth

            project = google.auth.default()[1]
        return PubSubQueue(str(project), topic)

    @functools.cached_property
    def budget(self) -> BudgetLedger:
        """The app-wide read ledger, one per process (budget/ledger.py)."""
        from nunis_ingest.core.budget_rules import Headroom
        from nunis_ingest.usecases.budget_ledger import BudgetLedger

        s = self.settings
        return BudgetLedger(
            self.store, headroom=Headroom(s.read_headroom_15min, s.read_headroom_daily)
        )

    @functools.cached_property
    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        return session

    def presence(self) -> Presence:
        """The warehouse's free signal, never building a client for it: the DuckDB file's
        identity (a ``stat``), or BigQuery's table metadata once this process has a
        client (a warm instance); unknown on a cold instance's idle poll."""
        if self.settings.backend != "gcp":
            return file_presence(self.settings.duckdb_file)
        if "warehouse" not in vars(self):
            return Presence()
        return self.warehouse.presence()

    def context(
        self,
        on_page: Callable[[int, int], None] | None = None,
        on_enrich: Callable[[int, int], None] | None = None,
    ) -> SyncContext:
        return SyncContext(
            store=self.store,
            warehouse_factory=lambda: self.warehouse,
            session=self.session,
            settings=self.settings,
            now=time.time,
            on_page=on_page,
            on_enrich=on_enrich,
            budget=self.budget,
            presence=self.presence,
        )


def _bigquery_emulator_options() -> dict[str, object]:
    """Point the client at a local BigQuery stand-in when BIGQUERY_EMULATOR_HOST is set.

    The Cloud Storage client honours STORAGE_EMULATOR_HOST by itself; the BigQuery client
    takes the endpoint from the variable too but still looks for credentials, which a
    stand-in does not need.
    """
    import os

    endpoint = os.environ.get("BIGQUERY_EMULATOR_HOST")
    if not endpoint:
        return {}
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return {
        "credentials": AnonymousCredentials(),
        "client_options": ClientOptions(api_endpoint=endpoint),
    }


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
