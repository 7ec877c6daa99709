"""`nunis-ingest webhook serve` as a process: handshake, events, worker, DuckDB."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from nunis_ingest.adapters.queues import QUEUE_FILE, LocalQueue
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.sync import run_sync
from tests.e2e.conftest import register
from tests.webhook.conftest import ROOT, stop
from tests.webhook.helpers import loaded, run_cli, truth_ids, wait_until


def test_webhook_serve_end_to_end(sandbox, hook_rt, hook_env) -> None:
    athlete = sandbox.athletes()[0]
    a = register(hook_rt, athlete)
    run_sync(SyncRequest(a, "all", trigger="test"), hook_rt.context())
    hook_rt.warehouse.close()  # type: ignore[attr-defined]  (the serve process owns it now)

    cmd = [str(Path(sys.executable).parent / "nunis-ingest"), "webhook", "serve", "--port", "0"]
    process = subprocess.Popen(
        cmd, cwd=ROOT, env=dict(os.environ) | hook_env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        result = run_cli(hook_env, "webhook", "subscribe", "--callback-url", url)
        assert result.exit_code == 0, result.output

        created = sandbox.add_activity(a, name="served", start_date="2025-07-01T06:00:00Z")
        victim = sorted(truth_ids(sandbox, a))[0]
        sandbox.delete_activity(victim)
        assert all(d["delivered"] for d in sandbox.wait_for_deliveries(2, timeout=20))
        queue = LocalQueue(Path(hook_env["NUNIS_DATA_DIR"]) / QUEUE_FILE)
        wait_until(lambda: queue.depth() == (0, 0), timeout=20)
        time.sleep(0.2)
    finally:
        stop(process)
    assert process.returncode == 0
    check = Runtime(load_settings(hook_env))
    try:
        ids = loaded(check)[a]
        assert created["id"] in ids
        assert victim not in ids
        assert ids == truth_ids(sandbox, a)
    finally:
        check.warehouse.close()  # type: ignore[attr-defined]
    assert run_cli(hook_env, "webhook", "unsubscribe").exit_code == 0
    assert sandbox.app()["subscription_id"] is None
