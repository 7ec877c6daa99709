"""``make demo-import``: generate a Strava bulk export and import it into demo-data/export.

No Strava credentials and no API: what a user whose app answers 403 Inactive does. The
export has the real German header, damaged files and a file that is missing, as real
exports do: the import lists them and loads the rest (exit code 3, by design).
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
PARTIAL = 3


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(parents=True)
    zip_path = DEMO / "export_demo.zip"
    truth = write_export(zip_path, activities=120, anchor=int(time.time()), generation="de92")
    print(
        f"wrote {zip_path.name} (German 92-column header, 120 activities, "
        f"{len(truth.damaged)} damaged files, {len(truth.missing)} missing) for athlete "
        f"{truth.athlete_id}"
    )
    env = {"PATH": "/usr/bin:/bin", "NUNIS_DATA_DIR": str(DEMO / "data")}
    cli = [sys.executable, "-m", "nunis_ingest", "import", str(zip_path)]
    done = subprocess.run(cli, env=env, check=False)
    print(f"DuckDB file under {DEMO / 'data'}")
    again = subprocess.run(cli, env=env, check=False, capture_output=True, text=True)
    print(f"imported again: {again.stdout.strip()}")
    return 0 if done.returncode in (0, PARTIAL) else done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
