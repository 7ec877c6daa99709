"""Fixtures: the onboarding app in Flask's test client against the real sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.drivers.onboard.app import make_app
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.onboard import invites
from tests.e2e.conftest import app_env, rt  # noqa: F401  (fixtures)

SECRET = "onboard-test-secret-0123456789abcdef"
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember whether the test body failed, for fixtures that keep evidence (screenshots)."""
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture
def onboard_env(app_env: dict[str, str]) -> dict[str, str]:  # noqa: F811
    return app_env | {"NUNIS_ONBOARD_SECRET": SECRET}


@pytest.fixture
def onboard_rt(onboard_env: dict[str, str]) -> Iterator[Runtime]:
    runtime = Runtime(load_settings(onboard_env))
    yield runtime
    close = runtime.__dict__.get("warehouse")
    if close is not None:
        close.close()


@pytest.fixture
def ingest_queue(tmp_path) -> LocalQueue:
    """Stands for the ingest topic: a real durable queue we can read back."""
    return LocalQueue(tmp_path / "ingest-topic.sqlite3")


@dataclass
class Browser:
    """Flask's test client (it keeps cookies) plus real HTTP to the sandbox's authorize page."""

    client: FlaskClient
    pages: list[Any]

    def get(self, url: str) -> Any:
        parts = urlsplit(url)
        answer = self.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        self.pages.append(answer)
        return answer

    def authorize(self, link: str, **extra: str) -> str:
        """Follow the authorize link at the sandbox; return where Strava redirects back to."""
        answer = requests.get(link, params=extra, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text
        return str(answer.headers["Location"])

    def connect_link(self, invite: str | None = None) -> str:
        """The Connect link of the start page opened with ``invite`` (a fresh one if None)."""
        page = self.get(invite_path(invite))
        assert page.status_code == 200, page.get_data(as_text=True)
        return link_in(page.get_data(as_text=True))


def invite_path(invite: str | None = None, days: int = 7) -> str:
    """``/?invite=...``: the path of an invite link (a fresh invite if None)."""
    import time
    from urllib.parse import urlencode

    token = invite or invites.mint(SECRET, time.time(), days).token
    return "/?" + urlencode({invites.PARAMETER: token})


def link_in(html: str) -> str:
    marker = 'id=connect href="'
    start = html.index(marker) + len(marker)
    import html as html_lib

    return html_lib.unescape(html[start : html.index('"', start)])


@pytest.fixture
def browser(onboard_rt: Runtime, ingest_queue: LocalQueue) -> Browser:
    app = make_app(lambda: onboard_rt, publisher=lambda _: ingest_queue)
    return Browser(app.test_client(), [])


def queued(queue: LocalQueue) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in queue.claim(limit=100)]


def apply_queued(queue: LocalQueue, runtime: Runtime) -> list[int]:
    """What the ingest function does with the page's `enroll` messages (without the first
    load): apply each hand-over. Returns the athletes applied."""
    import base64

    from nunis_ingest.core.enrolment import Enrolment
    from nunis_ingest.core.events import parse_message
    from nunis_ingest.usecases.onboard.enroll import apply_handover

    done = []
    for m in queue.claim(limit=100):
        parsed = parse_message({"message": {"data": base64.b64encode(m.body).decode()}})
        assert isinstance(parsed, Enrolment), parsed
        apply_handover(runtime.context(), parsed)
        done.append(parsed.athlete_id)
    return done
