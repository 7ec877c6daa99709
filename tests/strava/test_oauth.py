import json
import logging
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from nunis_ingest.adapters.strava.oauth import OAuthClient
from nunis_ingest.core.token import Token, accepted_scope_ok, needs_refresh
from nunis_ingest.errors import (
    ConfigError,
    StravaAppCredentialsError,
    StravaAuthError,
    StravaBadResponse,
    StravaServerError,
    StravaUnavailable,
)

BASE = "https://strava.test"
TOKEN_URL = f"{BASE}/oauth/token"
SECRET = "client-secret-abcdef0123456789"
OLD = Token(
    "old-access-0123456789", "old-refresh-0123456789", 1_000_000, "read,activity:read_all", 7
)
INVALID = {
    "message": "Bad Request",
    "errors": [{"resource": "RefreshToken", "field": "refresh_token", "code": "invalid"}],
}


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def oauth(sleeps):
    return OAuthClient(
        requests.Session(),
        base_url=BASE,
        client_id="1234",
        client_secret=SECRET,
        sleep=sleeps.append,
    )


def form(call):
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def token_response(access="new-access-abcdef012345", refresh="new-refresh-abcdef012345"):
    return {
        "token_type": "Bearer",
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": 1_021_600,
        "expires_in": 21600,
    }


# --- Token --------------------------------------------------------------------------


def test_token_repr_and_str_redact_both_tokens():
    for text in (repr(OLD), str(OLD), f"{OLD}", str([OLD])):
        assert OLD.access_token not in text
        assert OLD.refresh_token not in text
        assert "1000000" in text


def test_token_json_round_trip():
    assert Token.from_json(OLD.to_json()) == OLD
    bare = Token("a-token", "r-token", 5)
    assert Token.from_json(bare.to_json()) == bare


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"{not json secret-abc", "not valid JSON"),
        (b"\xff", "not valid JSON"),
        (b'["secret-abc"]', "not a JSON object"),
        (b'{"access_token": "secret-abc", "expires_at": 5}', "'refresh_token'"),
        (b'{"access_token": "a", "refresh_token": "secret-abc", "expires_at": "soon"}',
         "'expires_at'"),
        (b'{"access_token": "a", "refresh_token": "secret-abc", "expires_at": 5, '
         b'"athlete_id": true}',
         "'athlete_id'"),
    ],
)  # fmt: skip
def test_bad_token_content_names_the_problem_without_echoing_it(data, needle):
    with pytest.raises(ConfigError) as info:
        Token.from_json(data)
    assert needle in str(info.value)
    assert "secret-abc" not in str(info.value)
    assert info.value.__cause__ is None


def test_needs_refresh_only_in_the_last_hour():
    assert not needs_refresh(OLD, now=OLD.expires_at - 3601)
    assert needs_refresh(OLD, now=OLD.expires_at - 3600)
    assert needs_refresh(OLD, now=OLD.expires_at + 10)
    assert needs_refresh(OLD, now=OLD.expires_at - 100, margin=60) is False


@pytest.mark.parametrize(
    ("scope", "ok"),
    [
        ("read,activity:read_all", True),
        ("read,activity:read", False),
        ("activity:read_all read", True),
        ("", False),
        (None, False),
    ],
)
def test_accepted_scope_ok(scope, ok):
    assert accepted_scope_ok(scope) is ok


# --- OAuthClient ------------------------------------------------------------------


def test_authorize_url(oauth):
    url = oauth.authorize_url("http://localhost:8765/cb", state="xyz")
    parsed = urlparse(url)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == f"{BASE}/oauth/authorize"
    assert {k: v[0] for k, v in parse_qs(parsed.query).items()} == {
        "client_id": "1234",
        "redirect_uri": "http://localhost:8765/cb",
        "response_type": "code",
        "approval_prompt": "auto",
        "scope": "read,activity:read_all",
        "state": "xyz",
    }
    assert SECRET not in url


def test_exchange_code(mocked, oauth):
    mocked.post(TOKEN_URL, json={**token_response(), "athlete": {"id": 99, "firstname": "A"}})
    token, athlete = oauth.exchange_code("the-code", scope="read,activity:read_all")
    assert athlete == {"id": 99, "firstname": "A"}
    assert token.athlete_id == 99
    assert token.scope == "read,activity:read_all"
    assert token.expires_at == 1_021_600
    assert form(mocked.calls[0]) == {
        "client_id": "1234",
        "client_secret": SECRET,
        "grant_type": "authorization_code",
        "code": "the-code",
    }


@pytest.mark.parametrize("same", [True, False])
def test_refresh_keeps_scope_and_athlete_and_takes_rotation(mocked, oauth, same):
    refresh = OLD.refresh_token if same else "rotated-refresh-0123456"
    mocked.post(TOKEN_URL, json=token_response(refresh=refresh))
    new = oauth.refresh(OLD)
    assert new.refresh_token == refresh
    assert new.access_token == "new-access-abcdef012345"
    assert (new.scope, new.athlete_id) == (OLD.scope, OLD.athlete_id)
    assert form(mocked.calls[0])["grant_type"] == "refresh_token"
    assert form(mocked.calls[0])["refresh_token"] == OLD.refresh_token


def test_refresh_with_rotated_token_needs_reauth(mocked, oauth):
    mocked.post(TOKEN_URL, status=400, json=INVALID)
    with pytest.raises(StravaAuthError) as info:
        oauth.refresh(OLD)
    assert info.value.needs_reauth
    assert not info.value.retriable
    assert "nunis-ingest auth" in str(info.value)
    assert oauth.requests_made == 1
    for secret in (SECRET, OLD.refresh_token, OLD.access_token):
        assert secret not in str(info.value)


def test_refresh_retries_transient_failures(mocked, oauth, sleeps):
    mocked.post(TOKEN_URL, status=503, body=b"")
    mocked.post(TOKEN_URL, json=token_response())
    assert oauth.refresh(OLD).access_token == "new-access-abcdef012345"
    assert oauth.requests_made == 2
    assert len(sleeps) == 1


def test_refresh_gives_up_after_its_attempts(mocked, oauth):
    mocked.post(TOKEN_URL, status=500, body=b"")
    with pytest.raises(StravaServerError):
        oauth.refresh(OLD)
    assert oauth.requests_made == 3


def test_lost_refresh_answer_is_explained(mocked, oauth):
    mocked.post(TOKEN_URL, body=requests.ReadTimeout("read timed out"))
    mocked.post(TOKEN_URL, status=400, json=INVALID)
    with pytest.raises(StravaAuthError) as info:
        oauth.refresh(OLD)
    assert "answer" in str(info.value)
    assert "lost" in str(info.value)


def test_token_response_without_tokens_is_bad_response(mocked, oauth):
    mocked.post(TOKEN_URL, json={"access_token": "only-this"})
    with pytest.raises(StravaBadResponse):
        oauth.refresh(OLD)


def test_network_failure_on_token_endpoint(mocked, oauth):
    mocked.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(StravaUnavailable):
        oauth.refresh(OLD)


def test_deauthorize_posts_the_access_token(mocked, oauth):
    mocked.post(f"{BASE}/oauth/deauthorize", json={"access_token": OLD.access_token})
    oauth.deauthorize(OLD.access_token)
    assert form(mocked.calls[0]) == {"access_token": OLD.access_token}


def test_repr_of_oauth_client_hides_the_secret(oauth):
    assert SECRET not in repr(oauth)


def test_no_secret_in_logs_of_a_failing_refresh(mocked, oauth, caplog):
    caplog.set_level(logging.DEBUG)
    echo = json.dumps({"message": f"{SECRET} {OLD.refresh_token}", "errors": []})
    mocked.post(TOKEN_URL, status=500, body=echo)
    with pytest.raises(StravaServerError) as info:
        oauth.refresh(OLD)
    logged = caplog.text + str(info.value)
    assert caplog.records  # the retries were logged
    for secret in (SECRET, OLD.refresh_token):
        assert secret not in logged


def test_wrong_client_secret_is_named_not_retried_and_not_echoed(mocked, oauth):
    wrong = {
        "message": "Bad Request",
        "errors": [{"resource": "Application", "field": "client_secret", "code": "invalid"}],
    }
    mocked.post(TOKEN_URL, status=400, json=wrong)
    with pytest.raises(StravaAppCredentialsError) as info:
        oauth.refresh(OLD)
    text = str(info.value)
    assert "Strava rejected the app credentials" in text
    assert "STRAVA_CLIENT_SECRET" in text
    assert oauth.requests_made == 1
    assert not getattr(info.value, "needs_reauth", False)
    for secret in (SECRET, OLD.refresh_token, OLD.access_token):
        assert secret not in text
