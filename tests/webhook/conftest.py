"""Fixtures: a real `functions-framework --target=webhook` process, the local worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.drivers.webhook.worker import Worker
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from tests.e2e.conftest import app_env  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
VERIFY = "s3cret-verify-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise TimeoutError(url)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def hook_env(app_env: dict[str, str]) -> dict[str, str]:  # noqa: F811  # noqa: F811
    return app_env | {"NUNIS_WEBHOOK_VERIFY_TOKEN": VERIFY}


@pytest.fixture
def hook_rt(hook_env: dict[str, str]) -> Iterator[Runtime]:
    runtime = Runtime(load_settings(hook_env))
    yield runtime
    close = getattr(runtime.warehouse, "close", None)
    if close:
        close()


@pytest.fixture
def function_url(hook_env: dict[str, str]) -> Iterator[str]:
    """`functions-framework --target=webhook --signature-type=http` on a free port."""
    port = free_port()
    env = dict(os.environ) | hook_env
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "functions-framework"),
            "--target=webhook",
            "--signature-type=http",
            "--source=main.py",
            "--host=127.0.0.1",
            f"--port={port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http(url, process)
        yield url
    finally:
        stop(process)


@pytest.fixture
def worker(hook_rt: Runtime) -> Iterator[Worker]:
    """The local worker draining the same SQLite queue, in a thread of this process."""
    queue = hook_rt.queue
    assert isinstance(queue, LocalQueue)
    loop = Worker(hook_rt, queue, reconcile_polls=False)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    yield loop
    loop.stop_event.set()
    thread.join(10)
