"""``make demo-import``: generate a Strava bulk export and import it into demo-data/export.

No Strava credentials and no API: what a user whose app answers 403 Inactive does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from strava_sandbox.export import write_export

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo-data" / "export"


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(parents=True)
    zip_path = DEMO / "export_demo.zip"
    athlete = write_export(zip_path, activities=120, anchor=int(time.time()), language="de")
    print(f"wrote {zip_path.name} (German headers, 120 activities) for athlete {athlete}")
    env = {"PATH": "/usr/bin:/bin", "NUNIS_DATA_DIR": str(DEMO / "data")}
    cli = [sys.executable, "-m", "nunis_ingest", "import", str(zip_path), "--athlete"]
    done = subprocess.run([*cli, str(athlete)], env=env, check=False)
    print(f"DuckDB file under {DEMO / 'data'}")
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
