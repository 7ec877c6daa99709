"""BigQuery jobs for one dataset: queries, bounded load jobs, and the error contract.

What every part of the BigQuery adapter (``bigquery``, ``bigquery_batch``,
``bigquery_details``) runs its statements through: ``query``/``rows`` (the jobs.query
fast path, errors mapped to ``ports.Warehouse``'s contract by ``bq_errors``) and
``load_file`` (an NDJSON file in load jobs of at most ``parts.PART_BYTES`` each, so the
upload's memory stays bounded whatever the batch size). ``operations`` counts loads and
mutating statements; ``table_lock`` serialises MERGEs and DELETEs on one table in this
process (BigQuery queues at most 2 running + 20 pending mutating statements per table).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import google.api_core.exceptions as gexc
from google.cloud import bigquery

from nunis_ingest import errors
from nunis_ingest.adapters.google_errors import TRANSIENT_GOOGLE_ERRORS
from nunis_ingest.adapters.warehouses.parts import PART_BYTES, FileWindow, line_ranges
from nunis_ingest.core import schema

_TRANSIENT_REASONS = {
    "backendError",
    "internalError",
    "rateLimitExceeded",
    "quotaExceeded",
    "jobRateLimitExceeded",
    "jobBackendError",
    "resourcesExceeded",
}
_TRANSIENT_EXC = TRANSIENT_GOOGLE_ERRORS
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
STAGING_TTL = timedelta(hours=6)
"""Staging tables expire on their own if a crash skips the drop."""


WarehouseRejected = errors.WarehouseRejected  # one class for every adapter (ports.Warehouse)
GRANT = (
    "grant the function's service account roles/bigquery.dataEditor on the dataset and "
    "roles/bigquery.jobUser on the project (deployment-guide.md)."
)


def table_lock(table_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(table_id, threading.Lock())


def schema_fields(columns: tuple[schema.Column, ...]) -> list[bigquery.SchemaField]:
    return [bigquery.SchemaField.from_api_repr(f) for f in schema.bigquery_fields(columns)]


@contextmanager
def bq_errors(what: str) -> Iterator[None]:
    """Map google errors to ours: transient ones are retried by Pub/Sub, the rest acked."""
    try:
        yield
    except _TRANSIENT_EXC as exc:
        raise errors.WarehouseTransientError(f"BigQuery {what} failed transiently: {exc}") from exc
    except gexc.GoogleAPICallError as exc:
        raise classify(what, exc) from exc


def classify(what: str, exc: gexc.GoogleAPICallError) -> errors.NunisError:
    """The error contract of ``ports.Warehouse`` for an error of the BigQuery API."""
    reasons = {e.get("reason", "") for e in (exc.errors or []) if isinstance(e, dict)}
    text = " ".join(str(exc).split())[:500]
    if reasons & _TRANSIENT_REASONS or "concurrent update" in text:
        return errors.WarehouseTransientError(f"BigQuery {what} failed: {text}")
    if isinstance(exc, gexc.Forbidden | gexc.Unauthorized) or "accessDenied" in reasons:
        return WarehouseRejected(f"BigQuery {what} was denied: {text}", action=GRANT)
    if isinstance(exc, gexc.NotFound) or "notFound" in reasons:
        return WarehouseRejected(
            f"BigQuery {what}: the dataset or a table is missing: {text}",
            action="check NUNIS_DATASET and NUNIS_PROJECT; the next cold start re-creates "
            "missing tables (ensure_schema); if they were deleted, run a full sync (mode all).",
        )
    return WarehouseRejected(
        f"BigQuery {what} was rejected: {text}",
        action="check the table schema against this version (schema.py); if it matches, "
        "report this message.",
    )


class BigQueryJobs:
    """Statements and load jobs against ``dataset`` (``"dataset"`` or ``"project.ds"``)."""

    def __init__(self, client: Any, dataset: str, *, location: str | None = None) -> None:
        self.client = client
        self.dataset = dataset if "." in dataset else f"{client.project}.{dataset}"
        self.location = location
        self.operations: dict[str, int] = {"load": 0, "dml": 0}

    def table_id(self, name: str) -> str:
        return f"{self.dataset}.{name}"

    def sql_table(self, name: str) -> str:
        return f"`{self.table_id(name)}`"

    def query(self, sql: str, params: Sequence[Any] = (), *, dml: bool = False) -> Any:
        """Run one statement and wait for it; returns its ``RowIterator`` (errors mapped).

        ``query_and_wait`` uses the jobs.query fast path: one round trip for short
        statements instead of insert-then-poll, and it raises the job's errors.
        """
        config = bigquery.QueryJobConfig(query_parameters=list(params))
        with bq_errors("DML statement" if dml else "query"):
            if dml:
                self.operations["dml"] += 1
            return self.client.query_and_wait(sql, job_config=config, location=self.location)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        result = self.query(sql, params)
        with bq_errors("query"):
            return [dict(r.items()) for r in result]

    def load_file(
        self,
        path: str,
        table_id: str,
        columns: tuple[schema.Column, ...],
        *,
        append: bool = False,
        part_bytes: int = PART_BYTES,
    ) -> None:
        """Load an NDJSON file into ``table_id`` in load jobs of at most ``part_bytes``
        each (cut at line ends), so the upload's memory stays bounded: the first job
        truncates the table (unless ``append``), the others append. ``operations['load']``
        counts the file once."""
        ranges = line_ranges(Path(path), part_bytes)
        self.operations["load"] += 1
        for number, (start, end) in enumerate(ranges):
            truncate = number == 0 and not append
            config = bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
                write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE
                if truncate
                else bigquery.WriteDisposition.WRITE_APPEND,
                schema=schema_fields(columns),
            )
            with bq_errors(f"load into {table_id}"), FileWindow(Path(path), start, end) as fh:
                job = self.client.load_table_from_file(
                    fh, table_id, job_config=config, size=end - start, location=self.location
                )
                job.result()
                if job.errors:
                    raise gexc.BadRequest(f"load errors: {job.errors}", errors=job.errors)
