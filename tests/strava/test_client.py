import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from nunis_ingest.adapters.strava.client import StravaClient
from nunis_ingest.errors import (
    StravaAuthError,
    StravaBadResponse,
    StravaNotFound,
    StravaRateLimited,
    StravaServerError,
    StravaUnavailable,
)

BASE = "https://strava.test"
LIST = f"{BASE}/api/v3/athlete/activities"
TOKEN = "access-token-0123456789abcdef"
HEADERS = {"X-ReadRateLimit-Limit": "100,1000", "X-ReadRateLimit-Usage": "7,70"}


class FakeTime:
    """A clock that sleep() advances, so deadline decisions are exact."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self):
        return self.now


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def make_client(fake_time, **kwargs):
    return StravaClient(
        requests.Session(),
        base_url=BASE + "/",
        access_token=TOKEN,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        **kwargs,
    )


def acts(start, n):
    return [{"id": start + i, "name": f"run {i}"} for i in range(n)]


def query(call):
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def test_page_keeps_exact_bytes_usage_and_sends_bearer(mocked, fake_time):
    raw = b'[{"id": 9007199254740993, "x": 1.0}]'
    mocked.get(LIST, body=raw, headers=HEADERS)
    seen: list[object] = []
    client = make_client(fake_time, on_response=seen.append)
    page = client.list_activities_page(2, after=100, before=200, per_page=50)
    assert page.body == raw
    assert page.items == [{"id": 9007199254740993, "x": 1.0}]
    assert page.number == 2
    assert page.usage is not None
    assert page.usage.read_usage_15min == 7
    assert client.last_usage == page.usage
    assert seen == [page.usage]
    request = mocked.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert query(mocked.calls[0]) == {
        "page": "2",
        "per_page": "50",
        "after": "100",
        "before": "200",
    }


def test_retries_5xx_with_growing_jittered_backoff(mocked, fake_time):
    for _ in range(3):
        mocked.get(LIST, status=502, body=b"<html>bad gateway</html>")
    mocked.get(LIST, json=acts(1, 1))
    client = make_client(fake_time)
    page = client.list_activities_page(1)
    assert len(page.items) == 1
    assert client.requests_made == 4
    assert len(fake_time.sleeps) == 3
    for delay, base in zip(fake_time.sleeps, (0.5, 1.0, 2.0), strict=True):
        assert base <= delay <= base + 0.5


def test_gives_up_after_max_attempts_with_our_error(mocked, fake_time):
    mocked.get(LIST, status=500, body=b"")
    client = make_client(fake_time, max_attempts=3)
    with pytest.raises(StravaServerError) as info:
        client.list_activities_page(1)
    assert info.value.retriable
    assert info.value.status == 500
    assert client.requests_made == 3
    assert len(fake_time.sleeps) == 2


def test_backoff_is_capped(mocked, fake_time):
    mocked.get(LIST, status=500, body=b"")
    client = make_client(fake_time, max_attempts=8)
    with pytest.raises(StravaServerError):
        client.list_activities_page(1)
    assert max(fake_time.sleeps) <= 8.0
    assert fake_time.sleeps[-1] == 8.0


def test_no_retry_starts_past_the_deadline(mocked, fake_time):
    mocked.get(LIST, status=503, body=b"")
    # first backoff 0.5-1 s, second 1-1.5 s: the first always fits in 1.4 s, the second never
    client = make_client(fake_time, deadline=fake_time.now + 1.4)
    with pytest.raises(StravaServerError):
        client.list_activities_page(1)
    assert client.requests_made == 2
    assert len(fake_time.sleeps) == 1
    assert fake_time.now <= 1001.4


def test_deadline_already_passed_still_makes_the_first_attempt(mocked, fake_time):
    mocked.get(LIST, status=503, body=b"")
    client = make_client(fake_time, deadline=fake_time.now - 1)
    with pytest.raises(StravaServerError):
        client.list_activities_page(1)
    assert client.requests_made == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.ReadTimeout("slow")]
)
def test_network_errors_retry_then_become_unavailable(mocked, fake_time, failure):
    mocked.get(LIST, body=failure)
    client = make_client(fake_time, max_attempts=2)
    with pytest.raises(StravaUnavailable) as info:
        client.list_activities_page(1)
    assert info.value.retriable
    assert type(failure).__name__ in str(info.value)
    assert client.requests_made == 2


def test_network_error_then_success(mocked, fake_time):
    mocked.get(LIST, body=requests.ConnectionError("reset"))
    mocked.get(LIST, json=acts(1, 2))
    client = make_client(fake_time)
    assert len(client.list_activities_page(1).items) == 2
    assert client.requests_made == 2


@pytest.mark.parametrize("raw", [b'[{"id": 1}', b'{"id": 1}', b"<html>", b"[1, 2]", b""])
def test_unexpected_2xx_body_is_retried_then_bad_response(mocked, fake_time, raw):
    mocked.get(LIST, body=raw)
    client = make_client(fake_time, max_attempts=2)
    with pytest.raises(StravaBadResponse) as info:
        client.list_activities_page(1)
    assert info.value.retriable
    assert client.requests_made == 2


def test_single_resource_must_be_an_object(mocked, fake_time):
    mocked.get(f"{BASE}/api/v3/activities/42", body=b"[]")
    mocked.get(f"{BASE}/api/v3/activities/42", body=b'{"id": 42}')
    client = make_client(fake_time)
    raw, data = client.get_activity(42)
    assert (raw, data) == (b'{"id": 42}', {"id": 42})
    assert client.requests_made == 2


def test_get_athlete(mocked, fake_time):
    mocked.get(f"{BASE}/api/v3/athlete", json={"id": 7})
    assert make_client(fake_time).get_athlete() == {"id": 7}


def test_429_is_raised_at_once_with_usage(mocked, fake_time):
    headers = {"X-ReadRateLimit-Limit": "100,1000", "X-ReadRateLimit-Usage": "101,400"}
    payload = {"message": "Rate Limit Exceeded", "errors": []}
    mocked.get(LIST, status=429, json=payload, headers=headers)
    client = make_client(fake_time)
    with pytest.raises(StravaRateLimited) as info:
        client.list_activities_page(1)
    assert client.requests_made == 1
    assert fake_time.sleeps == []
    assert info.value.usage.read_usage_15min == 101  # type: ignore[attr-defined]
    assert client.last_usage == info.value.usage  # type: ignore[attr-defined]


@pytest.mark.parametrize(("status", "cls"), [(401, StravaAuthError), (404, StravaNotFound)])
def test_4xx_is_not_retried(mocked, fake_time, status, cls):
    mocked.get(LIST, status=status, json={"message": "x", "errors": []})
    client = make_client(fake_time)
    with pytest.raises(cls):
        client.list_activities_page(3)
    assert client.requests_made == 1


def test_last_usage_survives_a_response_without_headers(mocked, fake_time):
    mocked.get(LIST, json=acts(1, 1), headers=HEADERS)
    mocked.get(LIST, status=502, body=b"")
    mocked.get(LIST, json=[])
    client = make_client(fake_time)
    first = client.list_activities_page(1)
    second = client.list_activities_page(2)
    assert second.usage is None
    assert client.last_usage == first.usage


@pytest.mark.parametrize("kwargs", [{"page": 0}, {"page": 1, "per_page": 201}])
def test_invalid_paging_arguments(fake_time, kwargs):
    with pytest.raises(ValueError, match="page"):
        make_client(fake_time).list_activities_page(**kwargs)


def test_token_absent_from_repr_and_errors(mocked, fake_time):
    echo = json.dumps({"message": f"token {TOKEN} rejected", "errors": []})
    mocked.get(LIST, status=401, body=echo)
    client = make_client(fake_time)
    assert TOKEN not in repr(client)
    with pytest.raises(StravaAuthError) as info:
        client.list_activities_page(1)
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
