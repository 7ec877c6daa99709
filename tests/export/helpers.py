"""Shared by the export tests: a DuckDB warehouse, its rows, and the check of an import
against what the generator says the export holds (``ExportTruth``), never against the
importer's own tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
from nunis_ingest.usecases.bulk_export.importer import run_import
from nunis_ingest.usecases.bulk_export.report import ImportReport
from strava_sandbox.export import ExportTruth
from strava_sandbox.export_facts import LANGUAGE_OF

ANCHOR = 1_790_000_000
KNOWN = ("en", "de", "fr", "es")


class Duck:
    """A DuckDB warehouse and a local store in ``root``."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / "w.duckdb"
        self.warehouse = DuckDBWarehouse(self.path)
        self.warehouse.ensure_schema()
        self.store = LocalObjectStore(root / "data")

    def run(self, export: Path | str, **kw: Any) -> ImportReport:
        return run_import(str(export), self.warehouse, self.store, **kw)

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.path), read_only=True) as db:
            return db.execute(sql, params or []).fetchall()

    def activities(self, athlete: int) -> dict[int, dict[str, Any]]:
        cols = ("id", "name", "sport_type", "start", "distance", "moving_time",
                "elapsed_time", "manual", "source", "content_hash")  # fmt: skip
        got = self.rows(
            "SELECT id, name, sport_type, epoch(start_date)::BIGINT, distance, moving_time, "
            "elapsed_time, manual, raw->>'_source', content_hash FROM activities "
            "WHERE athlete_id = ?",
            [athlete],
        )
        return {r[0]: dict(zip(cols, r, strict=True)) for r in got}

    def points(self, athlete: int) -> dict[int, int]:
        got = self.rows(
            "SELECT activity_id, count(*) FROM activity_streams WHERE athlete_id = ? GROUP BY 1",
            [athlete],
        )
        return dict(got)


def check_import(duck: Duck, report: ImportReport, truth: ExportTruth) -> None:
    """Everything the export holds is loaded as the generator wrote it, and everything it
    damaged is listed by name, and nothing else."""
    language = LANGUAGE_OF[truth.generation]
    assert report.language == (language if language in KNOWN else "unknown")
    loaded = duck.activities(truth.athlete_id)
    assert set(loaded) == set(truth.activities)
    for activity_id, activity in truth.activities.items():
        row, s = loaded[activity_id], activity.summary
        assert row["start"] == activity.start
        assert row["source"] == "export"
        assert row["manual"] == bool(s.get("manual"))
        if report.language == "unknown":
            continue  # read by position: id, date and file name only (and what files say)
        assert row["elapsed_time"] == s["elapsed_time"]
        renamed = truth.recoded_name
        assert row["name"] == (renamed[1] if renamed and renamed[0] == activity_id else s["name"])
        assert row["sport_type"] == s["sport_type"]
        assert row["moving_time"] == s["moving_time"]
        assert row["distance"] is not None
        assert abs(row["distance"] - s["distance"]) < 0.05
    listed = {name for name, _reason in report.problems}
    expected = set(truth.damaged) | set(truth.missing)
    expected |= {f"activities.csv line {line}" for line in truth.bad_rows}
    assert listed == expected
    assert report.problem_count == len(expected)
    assert duck.points(truth.athlete_id) == truth.points


def export_of_served(folder: Path, sandbox: Any, athlete_index: int = 0, **kw: Any) -> ExportTruth:
    """An export of the sandbox athlete's activities as the sandbox serves them (same ids
    and starts): the generator with the server's seed and anchor."""
    from nunis_ingest.core.transform import start_epoch
    from strava_sandbox.data import generate_dataset
    from strava_sandbox.export import write_export
    from tests.conftest import SANDBOX_ACTIVITIES, SANDBOX_ATHLETES, SANDBOX_SEED

    athlete = sandbox.athletes()[athlete_index]
    served = {int(a["id"]): a for a in sandbox.truth(int(athlete["id"]))}
    probe = generate_dataset(SANDBOX_SEED, SANDBOX_ATHLETES, SANDBOX_ACTIVITIES, 10**9)
    first = probe.athletes[athlete_index].activities[0]
    anchor = 10**9 + int(start_epoch(served[first.id]) or 0) - first.start
    folder.mkdir(parents=True, exist_ok=True)
    truth = write_export(
        folder,
        seed=SANDBOX_SEED,
        athletes=SANDBOX_ATHLETES,
        activities=SANDBOX_ACTIVITIES,
        anchor=anchor,
        athlete_index=athlete_index,
        **kw,
    )
    assert set(truth.activities) == set(served)
    return truth
