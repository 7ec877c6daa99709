"""Cold start: importing ``main`` (what a Cloud Function instance does first) stays light.

Clients are built lazily in runtime.py, so no Google client library and no DuckDB may be
imported by ``import main`` itself. Checked in a fresh interpreter: this test process has
long since imported them. Once in the development venv from the repository, once as it
deploys: the bundle venv (Python 3.12, only requirements.txt) from the bundle copy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import bundle

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("google.cloud.bigquery", "google.cloud.storage", "google.cloud.pubsub", "duckdb")
CODE = (
    "import json, sys; import main; "
    f"print(json.dumps([m for m in sys.modules if m.startswith({FORBIDDEN!r})]))"
)


def _loaded(python: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    proc = subprocess.run(
        [python, "-c", CODE], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_main_loads_no_warehouse_or_cloud_client() -> None:
    loaded = _loaded(sys.executable, ROOT)
    assert loaded == [], f"import main pulled in {loaded}"


def test_importing_main_in_the_deployed_bundle_loads_no_client() -> None:
    try:
        built = bundle.prepare()
    except bundle.BundleError as exc:
        pytest.fail(str(exc), pytrace=False)
    loaded = _loaded(str(built.python), built.src, built.env({}))
    assert loaded == [], f"import main (bundle venv) pulled in {loaded}"
