"""Test helpers: start the sandbox as a subprocess and drive its control API."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import requests

READY_TIMEOUT = 60.0


class SandboxServer:
    """`python -m strava_sandbox` in a subprocess on a free 127.0.0.1 port."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(
        self,
        athletes: int = 2,
        activities: int = 50,
        seed: int = 7,
        extra_args: Sequence[str] = (),
        timeout: float = READY_TIMEOUT,
    ) -> Self:
        cmd = [
            sys.executable,
            "-m",
            "strava_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--athletes",
            str(athletes),
            "--activities",
            str(activities),
            "--seed",
            str(seed),
            *extra_args,
        ]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        )
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.stop()
                raise TimeoutError(f"strava_sandbox not ready within {timeout} s")
        line = self.process.stdout.readline().strip()
        if not line.startswith("http"):
            code = self.stop()
            raise RuntimeError(f"strava_sandbox failed to start (exit {code}): {line!r}")
        self.base_url = line
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc.stdout is not None:
            proc.stdout.close()
        self.process = None
        return proc.returncode

    def __enter__(self) -> Self:
        if self.process is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxControl:
    """Typed wrapper around every /_sandbox/ endpoint."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.session.request(
            method, f"{self.base_url}/_sandbox{path}", json=body, timeout=30
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def reset(self, **kw: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/reset", kw)
        return result

    def app(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/app")
        return result

    def athletes(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/athletes")
        return result

    def create_athlete(
        self, activities: int = 0, scope: str = "read,activity:read_all"
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", "/athletes", {"activities": activities, "scope": scope}
        )
        return result

    def add_activity(self, athlete_id: int, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/athletes/{athlete_id}/activities", fields)
        return result

    def patch_activity(self, activity_id: int, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PATCH", f"/activities/{activity_id}", fields)
        return result

    def delete_activity(self, activity_id: int) -> None:
        self._call("DELETE", f"/activities/{activity_id}")

    def truth(self, athlete_id: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/athletes/{athlete_id}/activities")
        return result

    def expected(self, activity_id: int) -> dict[str, Any]:
        """Counts the server serves for one activity: laps, splits_metric, splits_standard,
        best_efforts (+ best_effort_names), stream_points, stream_types, streams_status."""
        result: dict[str, Any] = self._call("GET", f"/activities/{activity_id}/expected")
        return result

    def expected_for_athlete(self, athlete_id: int) -> list[dict[str, Any]]:
        """`expected` for every activity of the athlete, oldest first."""
        result: list[dict[str, Any]] = self._call("GET", f"/athletes/{athlete_id}/expected")
        return result

    def set_stream_points(self, points: int | None) -> int | None:
        """Make every stream `points` long (e.g. 10000 for benchmarks); None: the default."""
        result: int | None = self._call("POST", "/streams", {"points": points})["points"]
        return result

    def revoke(self, athlete_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/athletes/{athlete_id}/revoke")
        return result

    def add_fault(self, **spec: Any) -> int:
        """kind=status|delay|drop|malformed|short_page|body; method, path, status, delay,
        size, body, after (K matching requests pass first), times (N firings; None = forever)."""
        result: dict[str, Any] = self._call("POST", "/faults", spec)
        return int(result["id"])

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/faults")
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_rate_limits(self, **kw: int) -> dict[str, Any]:
        """overall_15min, overall_daily, read_15min, read_daily."""
        result: dict[str, Any] = self._call("POST", "/rate_limits", kw)
        return result

    def set_clock(self, epoch: float) -> float:
        return float(self._call("POST", "/clock", {"set": epoch})["now"])

    def advance_clock(self, seconds: float) -> float:
        return float(self._call("POST", "/clock", {"advance": seconds})["now"])

    def clock(self) -> float:
        return float(self._call("GET", "/clock")["now"])

    def set_app_status(self, active: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/app/status", {"active": active})
        return result

    def set_consent_page(self, on: bool = True) -> None:
        """Make /oauth/authorize show an Authorize page (scope boxes, Authorize, Cancel)."""
        self._call("POST", "/oauth/consent", {"page": on})

    def requests_log(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/requests")
        return result

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/webhook/deliveries")
        return result

    def set_webhook_retry_delay(self, seconds: float) -> None:
        self._call("POST", "/webhook/config", {"retry_delay": seconds})

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until `count` deliveries have finished (delivered or out of attempts)."""
        deadline = time.monotonic() + timeout
        while True:
            done = [
                d for d in self.webhook_deliveries() if d["delivered"] or len(d["attempts"]) >= 3
            ]
            if len(done) >= count or time.monotonic() > deadline:
                return done
            time.sleep(0.05)
