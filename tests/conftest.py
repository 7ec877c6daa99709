"""Shared fixtures. The Strava sandbox runs once per session and is reset for each test.

Every test also runs isolated (``_isolated``, autouse): the environment variables the code
reads, the logging setup and the process-wide caches are put back as they were before the
test, so no test passes or fails because of the one that ran before it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strava_sandbox.testing import SandboxControl, SandboxServer

pytest_plugins = ["tests.standins"]

SANDBOX_ATHLETES = 2
SANDBOX_ACTIVITIES = 60
SANDBOX_SEED = 7

ISOLATED_PREFIXES = ("NUNIS_", "STRAVA_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_")
ISOLATED_SUFFIXES = ("_EMULATOR_HOST",)
ISOLATED_LOGGERS = ("", "nunis_ingest")


INTEGRATION_FIXTURES = frozenset(
    {
        "sandbox",
        "sandbox_server",
        "gcs_endpoint",
        "bigquery_endpoint",
        "pubsub_endpoint",
        "gcs_client",
        "bigquery_client",
    }
)
PROCESS_WORDS = ("subprocess", "Popen", "cli_run", "SandboxServer", "--png")
END_TO_END_FOLDERS = frozenset({"e2e", "export", "gcp", "simulate", "reliability", "deploy"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``integration`` every test that needs a server or starts a process: one that
    uses the sandbox or a Google stand-in (directly or as an adapter parameter), whose
    module starts processes, or that lives in an end-to-end folder. ``make test-unit``
    runs the rest, with nothing to start."""
    starts_processes: dict[Path, bool] = {}
    for item in items:
        path = Path(str(item.fspath))
        if path not in starts_processes:
            text = path.read_text(encoding="utf-8") if path.suffix == ".py" else ""
            starts_processes[path] = any(word in text for word in PROCESS_WORDS)
        needs_server = bool(INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())))
        marked = item.get_closest_marker("gcp") or item.get_closest_marker("pubsub")
        end_to_end = path.parent.name in END_TO_END_FOLDERS
        if needs_server or marked or end_to_end or starts_processes[path]:
            item.add_marker(pytest.mark.integration)


def _isolated_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith(ISOLATED_PREFIXES) or k.endswith(ISOLATED_SUFFIXES)
    }


def _restore_env(before: dict[str, str]) -> None:
    for key in set(_isolated_env()) - set(before):
        del os.environ[key]
    for key, value in before.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _clear_caches() -> None:
    """Forget the cached Runtime (closing its warehouse file) and the registered secrets."""
    from nunis_ingest import logs, runtime

    with runtime._lock:
        cached, runtime._cached = runtime._cached, None
    if cached is not None and "warehouse" in cached[1].__dict__:
        close = getattr(cached[1].__dict__["warehouse"], "close", None)
        if close is not None:
            close()
    with logs._lock:
        logs._secrets.clear()


def _ours(logger: logging.Logger) -> list[logging.Handler]:
    """The logger's handlers except pytest's own capture handlers (pytest manages those)."""
    return [h for h in logger.handlers if not type(h).__module__.startswith("_pytest")]


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    """Restore env vars (NUNIS_*, STRAVA_*, *_EMULATOR_HOST...), loggers and caches.

    Values set before the test (by ``make test`` or a session fixture that exports a
    stand-in's endpoint) are what gets restored, so those keep working.
    """
    env = _isolated_env()
    loggers = [logging.getLogger(name) for name in ISOLATED_LOGGERS]
    saved = [(lg, _ours(lg), lg.level, lg.propagate) for lg in loggers]
    yield
    _clear_caches()
    for lg, handlers, level, propagate in saved:
        for handler in _ours(lg):
            if handler not in handlers:
                lg.removeHandler(handler)
        for handler in handlers:
            if handler not in lg.handlers:
                lg.addHandler(handler)
        lg.setLevel(level)
        lg.propagate = propagate
    _restore_env(env)


RATE_WINDOW_SECONDS = 900


def window_start(now: float) -> float:
    """One second into the 15-minute rate-limit window holding ``now``."""
    return now - now % RATE_WINDOW_SECONDS + 1


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """A `python -m strava_sandbox` subprocess on a free port, for the whole session."""
    server = SandboxServer().start(
        athletes=SANDBOX_ATHLETES,
        activities=SANDBOX_ACTIVITIES,
        seed=SANDBOX_SEED,
        extra_args=("--webhook-retry-delay", "0.05"),
    )
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxControl]:
    """The session's sandbox, reset to its initial state; `.base_url` is its root URL."""
    control = SandboxControl(sandbox_server.base_url)
    control.reset()
    # A test that moved the clock by days must not leak it; and each test starts at the
    # beginning of one of Strava's 15-minute rate-limit windows, so a slow run (a loaded
    # machine) never sees its read budget reset halfway through by a window boundary.
    control.set_clock(window_start(time.time()))
    yield control
    control.session.close()
