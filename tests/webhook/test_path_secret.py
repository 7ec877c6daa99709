"""`webhook subscribe` registers the callback URL with the secret path segment, over real
HTTP: sandbox Strava -> handshake -> `functions-framework --target=webhook`."""

from __future__ import annotations

import json

import pytest
import requests

from nunis_ingest.usecases.webhook import subscription
from tests.webhook.conftest import VERIFY
from tests.webhook.helpers import run_cli

PATH_SECRET = "cb-path-Secret-0123456789"


@pytest.fixture
def hook_env(app_env: dict[str, str]) -> dict[str, str]:
    return app_env | {
        "NUNIS_WEBHOOK_VERIFY_TOKEN": VERIFY,
        "NUNIS_WEBHOOK_PATH_SECRET": PATH_SECRET,
    }


def test_subscribe_registers_the_secret_path_and_never_prints_it(
    sandbox, hook_rt, hook_env, function_url
) -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "abc", "hub.verify_token": VERIFY}
    assert requests.get(function_url, params=params, timeout=5).status_code == 404
    result = run_cli(hook_env, "webhook", "subscribe", "--callback-url", function_url)
    assert result.exit_code == 0, result.output
    assert PATH_SECRET not in result.output
    assert "<path secret>" in result.output
    sub_id = sandbox.app()["subscription_id"]
    assert sub_id is not None  # the handshake reached the endpoint through the secret path
    listed = run_cli(hook_env, "webhook", "list")
    assert listed.exit_code == 0, listed.output
    assert f"{sub_id}\t" in listed.output
    assert PATH_SECRET not in listed.output
    stored = hook_rt.store.get(subscription.SUBSCRIPTION_KEY)
    assert stored is not None
    doc = json.loads(stored.data)
    assert doc["id"] == sub_id
    assert PATH_SECRET not in doc["callback_url"]  # the bucket copy carries no secret


def test_subscribe_without_the_secret_path_fails_the_handshake(sandbox, hook_env, function_url):
    env = {k: v for k, v in hook_env.items() if k != "NUNIS_WEBHOOK_PATH_SECRET"}
    result = run_cli(env, "webhook", "subscribe", "--callback-url", function_url)
    assert result.exit_code != 0  # the endpoint answered 404 to Strava's handshake
    assert sandbox.app()["subscription_id"] is None
