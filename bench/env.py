"""The bench's surroundings: the sandbox, athletes, data folders, stand-ins and the machine."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from strava_sandbox.testing import SandboxControl

ROOT = Path(__file__).resolve().parents[1]
SEED = 2026
UNLIMITED = 10**9
LIBRARIES = ("requests", "duckdb", "google-cloud-bigquery", "functions-framework", "psutil")


def machine() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    libs = ", ".join(f"{k} {v}" for k, v in versions.items())
    return {
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": libs,
    }


def run_worker(spec: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    """``python -m bench.worker`` in a fresh process; its last stdout line is the result."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {spec['kind']} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


class Bench:
    """One sandbox; per size N a fresh reset with one athlete of N activities."""

    def __init__(self, control: SandboxControl, workdir: Path) -> None:
        self.control = control
        self.workdir = workdir
        self.athlete: dict[str, Any] = {}

    def reset(self, n: int) -> None:
        self.control.reset(seed=SEED, athletes=1, activities=n)
        self.control.set_clock(time.time())  # the sandbox clock follows wall time again
        self.control.set_rate_limits(
            overall_15min=UNLIMITED,
            overall_daily=UNLIMITED,
            read_15min=UNLIMITED,
            read_daily=UNLIMITED,
        )
        self.athlete = self.control.athletes()[0]

    @property
    def athlete_id(self) -> int:
        return int(self.athlete["id"])

    def env(self, name: str) -> dict[str, str]:
        app = self.control.app()
        data = self.workdir / name
        return {
            "NUNIS_BACKEND": "local",
            "NUNIS_DATA_DIR": str(data),
            "NUNIS_DUCKDB_PATH": str(data / "nunis.duckdb"),
            "NUNIS_STRAVA_BASE_URL": self.control.base_url,
            "STRAVA_CLIENT_ID": str(app["client_id"]),
            "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
            "NUNIS_LOG_FORMAT": "console",
        }

    def fresh_env(self, name: str) -> dict[str, str]:
        """A new, empty data folder holding only the athlete's config and current token."""
        from nunis_ingest.adapters.stores.localfs import LocalObjectStore
        from nunis_ingest.core.token import Token
        from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo

        env = self.env(name)
        shutil.rmtree(env["NUNIS_DATA_DIR"], ignore_errors=True)
        athlete = self.control.athletes()[0]
        repo = AthleteRepo(LocalObjectStore(Path(env["NUNIS_DATA_DIR"])))
        token = Token(
            access_token=athlete["access_token"],
            refresh_token=athlete["refresh_token"],
            expires_at=int(athlete["expires_at"]),
            scope=athlete.get("scope"),
        )
        repo.save_token(self.athlete_id, token)
        repo.save_config(AthleteConfig(self.athlete_id, details=False))  # the listing alone
        return env

    def counted(self, spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run a worker; also return the sandbox's request counts for that run alone."""
        self.control.clear_requests()
        result = run_worker(spec)
        counts: dict[str, Any] = self.control.requests_log()["counts"]
        return result, counts

    def add_new(self, count: int) -> None:
        now = self.control.clock()
        for i in range(count):
            start = int(now) - 3600 + i * 5
            self.control.add_activity(self.athlete_id, start_date=start, name=f"bench {i}")


def local_gcp() -> ModuleType:
    """scripts/local_gcp.py as a module (scripts/ is not a package)."""
    name = "nunis_local_gcp"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "local_gcp.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="nunis-bench-"))


def sandbox_runtime(
    control: SandboxControl, folder: Path, athlete: dict[str, Any], **config: Any
) -> tuple[Any, int]:
    """A local runtime in ``folder`` against the sandbox, with ``athlete`` registered
    (its current token) and an ``AthleteConfig`` of ``config``."""
    from nunis_ingest.core.token import Token
    from nunis_ingest.runtime import Runtime
    from nunis_ingest.settings import load_settings
    from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo

    app = control.app()
    env = {
        "NUNIS_BACKEND": "local",
        "NUNIS_DATA_DIR": str(folder),
        "NUNIS_STRAVA_BASE_URL": control.base_url,
        "STRAVA_CLIENT_ID": str(app["client_id"]),
        "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
        "NUNIS_LOG_FORMAT": "console",
    }
    rt = Runtime(load_settings(env))
    aid = int(athlete["id"])
    repo = AthleteRepo(rt.store)
    token = Token(
        athlete["access_token"],
        athlete["refresh_token"],
        int(athlete["expires_at"]),
        athlete.get("scope"),
        aid,
    )
    repo.save_token(aid, token)
    repo.save_config(AthleteConfig(aid, **config))
    return rt, aid
