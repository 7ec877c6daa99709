"""Cold start: importing ``main`` (what a Cloud Function instance does first) stays light.

Clients are built lazily in runtime.py, so no Google client library and no DuckDB may be
imported by ``import main`` itself. Checked in a fresh interpreter: this test process has
long since imported them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("google.cloud.bigquery", "google.cloud.storage", "duckdb")


def test_importing_main_loads_no_warehouse_or_cloud_client() -> None:
    code = (
        "import json, sys; import main; "
        f"print(json.dumps([m for m in sys.modules if m.startswith({FORBIDDEN!r})]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"import main pulled in {loaded}"
