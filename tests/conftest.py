"""Shared fixtures. The Strava sandbox runs once per session and is reset for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from strava_sandbox.testing import SandboxControl, SandboxServer

pytest_plugins = ["tests.standins"]

SANDBOX_ATHLETES = 2
SANDBOX_ACTIVITIES = 60
SANDBOX_SEED = 7


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
    yield control
    control.session.close()
