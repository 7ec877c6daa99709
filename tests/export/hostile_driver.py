"""``python -m tests.export.hostile_driver EXPORT WORKDIR ATHLETE``: import one export in
a fresh process and print, as JSON, this process's peak memory (``VmHWM``) before and
after the import, and what the import reported. The hostile-input tests run it so the
peak is the import's alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(export: str, workdir: str, athlete: str) -> None:
    from nunis_ingest.adapters.stores.localfs import LocalObjectStore
    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
    from nunis_ingest.errors import ExportError
    from nunis_ingest.usecases.bulk_export.importer import run_import

    root = Path(workdir)
    warehouse = DuckDBWarehouse(root / "w.duckdb")
    warehouse.ensure_schema()
    store = LocalObjectStore(root / "data")
    warehouse.count_activities(int(athlete))  # DuckDB loaded and used before the baseline
    before = peak_mb()
    out: dict[str, object] = {"before_mb": before}
    try:
        report = run_import(export, warehouse, store, athlete_id=int(athlete))
        out.update(inserted=report.inserted, problems=report.problems, points=report.points)
    except ExportError as error:
        out["error"] = str(error)
    out["after_mb"] = peak_mb()
    archived = sum(p.stat().st_size for p in (root / "data").rglob("*") if p.is_file())
    out["archived_bytes"] = archived
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:4])
