"""A lease keeps naming its holder process after a renew: a run killed after renewing
(the bulk import renews) frees the athlete at once on this machine, not at the expiry."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.usecases.lease import Lease

ATHLETE = 4242
HOLD = (
    "import os, sys, time\n"
    "from nunis_ingest.adapters.stores.localfs import LocalObjectStore\n"
    "from nunis_ingest.usecases.lease import Lease\n"
    "lease = Lease(LocalObjectStore(sys.argv[1]), 4242, 'killed-run', time.time(), 600, "
    "local=True).acquire()\n"
    "lease.renew(time.time())\n"
    "os._exit(0)  # dies holding the lease, as kill -9 leaves it\n"
)


def test_a_renewed_lease_still_names_its_host_and_process(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    lease = Lease(store, ATHLETE, "run-1", time.time(), 600, local=True).acquire()
    lease.renew(time.time() + 60)
    held = json.loads(store.get(lease.key).data)  # type: ignore[union-attr]
    assert held["host"]
    assert held["pid"] > 0
    assert held["expires_at"] > time.time() + 600


def test_a_run_killed_after_renewing_frees_the_athlete_at_once(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", HOLD, str(tmp_path)], check=True, cwd=root)
    store = LocalObjectStore(tmp_path)
    mine = Lease(store, ATHLETE, "next-run", time.time(), 600, local=True).acquire()
    assert mine.generation is not None  # not "held by run killed-run" for 10 minutes
