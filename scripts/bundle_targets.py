"""Every function target of the bundle, each under a real functions-framework process.

The processes come from the bundle venv and run from the bundle copy (scripts/topology.py);
Cloud Storage, BigQuery and Pub/Sub are the local stand-ins (scripts/local_gcp.py); Strava
is the sandbox, run from the development venv (it is not deployed). Events are posted
to the ``ingest`` target as Eventarc delivers a Pub/Sub message (a structured CloudEvent),
so every answer and its effect are checked one by one:

* ``{"mode": "new"}`` fans out: one message per athlete on NUNIS_INGEST_TOPIC;
* each of those messages loads its athlete's activities into BigQuery;
* the webhook handshake (GET) echoes the challenge only for the verify token;
* a webhook event (POST) is enqueued on NUNIS_EVENTS_TOPIC, and the ``drain_events``
  target, called as Cloud Scheduler calls it, pulls it and loads the activity it names;
* the ``onboard`` target refuses an uninvited visitor and connects an invited athlete
  through the sandbox's OAuth, handing the token to ``ingest`` (scripts/bundle_http.py).
"""

# ruff: noqa: S608 - the SQL here is built from generated identifiers only
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests

from scripts import local_gcp
from scripts.bundle import LOCAL, Bundle
from scripts.bundle_http import http_steps
from scripts.topology import PROJECT, function_process, pubsub_cloudevent

Step = tuple[str, Callable[[], str]]
VERIFY = "bundle-check-verify-token"
SUBSCRIPTION_ID = 7007
ONBOARD_SECRET = "bundle-check-onboard-secret-0123456789abcdef"  # noqa: S105 - a test value
TARGETS = (
    ("ingest", "cloudevent"),
    ("webhook", "http"),
    ("drain_events", "http"),
    ("onboard", "http"),
)


def _tail(log: Path, count: int = 2) -> str:
    """The function's last errors: the message of each JSON log line, ending of tracebacks."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            message, severity = str(record.get("message", "")), record.get("severity")
        except ValueError:
            message, severity = line, "ERROR" if "Error" in line else None
        if severity == "ERROR":
            found.append(message.strip().splitlines()[-1])
    return "\n".join(["function log, last errors:", *found[-count:]])


class Topology:
    """Stand-ins, sandbox, registered athletes and the two function processes."""

    def __init__(self, stack: ExitStack, bundle: Bundle) -> None:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery, storage

        from nunis_ingest.adapters.stores.gcs import GCSObjectStore
        from nunis_ingest.core.token import Token
        from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
        from strava_sandbox.testing import SandboxControl, SandboxServer

        self.services: dict[str, dict[str, Any]] = {}
        names = ["gcs", "bigquery"] + (["pubsub"] if local_gcp.pubsub_emulator() else [])
        for name in names:
            gcs = self.services.get("gcs", {}).get("endpoint")
            info = local_gcp.start_service(name, gcs_endpoint=gcs)
            stack.callback(local_gcp.stop_service, info)
            self.services[name] = info
        sandbox = stack.enter_context(SandboxServer().start(athletes=2, activities=30, seed=3))
        self.strava = SandboxControl(sandbox.base_url)
        self.bucket, self.dataset = f"bundle-{uuid.uuid4().hex[:8]}", "bundle_check"
        anonymous = AnonymousCredentials()
        endpoint = self.services["gcs"]["endpoint"]
        self.gcs = storage.Client(PROJECT, anonymous, client_options={"api_endpoint": endpoint})
        self.gcs.create_bucket(self.bucket)
        self.bq = bigquery.Client(
            PROJECT,
            anonymous,
            client_options=ClientOptions(api_endpoint=self.services["bigquery"]["endpoint"]),
        )
        repo = AthleteRepo(GCSObjectStore(self.gcs, self.bucket))
        self.athletes = [int(a["id"]) for a in self.strava.athletes()]
        for a in self.strava.athletes():
            token = Token(a["access_token"], a["refresh_token"], int(a["expires_at"]), a["scope"])
            repo.save_token(int(a["id"]), token)
            repo.save_config(AthleteConfig(int(a["id"])))
        app = self.strava.app()
        env = {
            "HOME": str(LOCAL),
            "LANG": "C.UTF-8",
            "NUNIS_BACKEND": "gcp",
            "NUNIS_BUCKET": self.bucket,
            "NUNIS_DATASET": self.dataset,
            "NUNIS_PROJECT": PROJECT,
            "STORAGE_EMULATOR_HOST": endpoint,
            "BIGQUERY_EMULATOR_HOST": self.services["bigquery"]["endpoint"],
            "NUNIS_STRAVA_BASE_URL": sandbox.base_url,
            "STRAVA_CLIENT_ID": str(app["client_id"]),
            "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
            "NUNIS_WEBHOOK_VERIFY_TOKEN": VERIFY,
            "NUNIS_WEBHOOK_SUBSCRIPTION_ID": str(SUBSCRIPTION_ID),
            "NUNIS_ONBOARD_SECRET": ONBOARD_SECRET,
        }
        self.subscriptions: dict[str, str] = {}
        if "pubsub" in self.services:
            env["PUBSUB_EMULATOR_HOST"] = self.services["pubsub"]["endpoint"]
            for kind in ("ingest", "events"):
                topic = f"{kind}-{uuid.uuid4().hex[:8]}"
                env[f"NUNIS_{kind.upper()}_TOPIC"] = topic
                self.subscriptions[kind] = stack.enter_context(self._pull(env, topic))
            # the drain's own pull subscription, as the guide creates it
            env["NUNIS_EVENTS_SUBSCRIPTION"] = self.subscriptions["events"].rpartition("/")[2]
        logs = Path(stack.enter_context(_scratch()))
        self.logs = {target: logs / f"{target}.log" for target, _ in TARGETS}
        self.urls = {
            target: stack.enter_context(
                function_process(
                    env, stack.enter_context(self.logs[target].open("w")), target, sig, bundle
                )
            )
            for target, sig in TARGETS
        }

    @contextmanager
    def _pull(self, env: dict[str, str], topic_id: str) -> Iterator[str]:
        """A topic and a pull subscription on it, to see what the function publishes."""
        import os

        from google.cloud import pubsub_v1

        os.environ["PUBSUB_EMULATOR_HOST"] = env["PUBSUB_EMULATOR_HOST"]
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        topic = self.publisher.topic_path(PROJECT, topic_id)
        sub = self.subscriber.subscription_path(PROJECT, f"{topic_id}-check")
        self.publisher.create_topic(name=topic)
        self.subscriber.create_subscription(name=sub, topic=topic)
        try:
            yield sub
        finally:
            self.subscriber.delete_subscription(subscription=sub)
            self.publisher.delete_topic(topic=topic)

    def pull(self, kind: str, want: int, timeout: float = 20.0) -> list[Any]:
        """Up to ``want`` messages published on the ``kind`` topic (acknowledged)."""
        sub, got = self.subscriptions[kind], list[Any]()
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            answer = self.subscriber.pull(
                request={"subscription": sub, "max_messages": want}, timeout=5
            )
            got += [r.message for r in answer.received_messages]
            if answer.received_messages:
                ack = [r.ack_id for r in answer.received_messages]
                self.subscriber.acknowledge(request={"subscription": sub, "ack_ids": ack})
        return got

    def deliver(self, body: bytes, attributes: dict[str, str] | None = None) -> None:
        """POST one Pub/Sub message to ``ingest`` as Eventarc does; fail unless 2xx."""
        headers, payload = pubsub_cloudevent(body, attributes)
        answer = requests.post(self.urls["ingest"], data=payload, headers=headers, timeout=120)
        if not answer.ok:
            raise AssertionError(
                f"ingest answered {answer.status_code} to {body.decode()}\n"
                + _tail(self.logs["ingest"])
            )

    def loaded(self, athlete_id: int) -> set[int]:
        sql = (
            f"select id from `{PROJECT}.{self.dataset}.activities` where athlete_id = {athlete_id}"
        )
        try:
            return {int(r[0]) for r in self.bq.query_and_wait(sql)}
        except Exception:  # no table yet: nothing loaded
            return set()

    def secrets(self) -> dict[str, str]:
        """What must never be logged: the app's client secret, every athlete's tokens."""
        found = {"STRAVA_CLIENT_SECRET": str(self.strava.app()["client_secret"])}
        for a in self.strava.athletes():
            found[f"access token of {a['id']}"] = str(a["access_token"])
            found[f"refresh token of {a['id']}"] = str(a["refresh_token"])
        return found

    def truth(self, athlete_id: int) -> set[int]:
        return {int(a["id"]) for a in self.strava.truth(athlete_id)}


@contextmanager
def _scratch() -> Iterator[str]:
    import shutil
    import tempfile

    (LOCAL / "run").mkdir(parents=True, exist_ok=True)
    path = tempfile.mkdtemp(prefix="bundle-logs-", dir=LOCAL / "run")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _steps(t: Topology) -> list[Step]:
    state: dict[str, list[tuple[bytes, dict[str, str]]]] = {}
    pubsub = "pubsub" in t.services

    def fan_out() -> str:
        if not pubsub:
            return ": SKIPPED, gcloud's Pub/Sub emulator is not on this machine"
        t.deliver(json.dumps({"mode": "new"}).encode())
        got = t.pull("ingest", len(t.athletes))
        bodies = [json.loads(m.data) for m in got]
        ids = sorted(int(b["athlete_id"]) for b in bodies)
        if ids != sorted(t.athletes):
            raise AssertionError(f"published for athletes {ids}, want {sorted(t.athletes)}")
        state["messages"] = [(m.data, dict(m.attributes)) for m in got]
        return f": {len(ids)} per-athlete messages published on NUNIS_INGEST_TOPIC"

    def athlete() -> str:
        messages = state.get("messages") or [
            (json.dumps({"athlete_id": a, "mode": "new"}).encode(), {}) for a in t.athletes
        ]
        for body, attributes in messages:
            t.deliver(body, attributes)
        counts = []
        for a in t.athletes:
            loaded, truth = t.loaded(a), t.truth(a)
            if loaded != truth or not truth:
                raise AssertionError(
                    f"athlete {a}: {len(loaded)} rows in BigQuery, Strava has {len(truth)}"
                )
            counts.append(len(loaded))
        return f": {' + '.join(map(str, counts))} activities in BigQuery, as Strava has them"

    def handshake() -> str:
        params = {"hub.mode": "subscribe", "hub.challenge": "c-42", "hub.verify_token": VERIFY}
        ok = requests.get(t.urls["webhook"], params=params, timeout=10)
        if ok.status_code != 200 or ok.json() != {"hub.challenge": "c-42"}:
            raise AssertionError(
                f"handshake answered {ok.status_code} {ok.text[:200]}\n" + _tail(t.logs["webhook"])
            )
        bad = requests.get(t.urls["webhook"], params=params | {"hub.verify_token": "x"}, timeout=10)
        if bad.status_code != 403:
            raise AssertionError(f"a wrong verify token got {bad.status_code}, want 403")
        return ": challenge echoed; a wrong verify token gets 403"

    def event() -> str:
        if not pubsub:
            return ": SKIPPED, gcloud's Pub/Sub emulator is not on this machine"
        owner = t.athletes[0]
        new = t.strava.add_activity(owner, name="pushed by the webhook")
        body = {
            "object_type": "activity",
            "object_id": new["id"],
            "aspect_type": "create",
            "owner_id": owner,
            "subscription_id": SUBSCRIPTION_ID,
            "event_time": int(time.time()),
            "updates": {},
        }
        answer = requests.post(t.urls["webhook"], json=body, timeout=10)
        if answer.status_code != 200:
            raise AssertionError(
                f"webhook answered {answer.status_code} {answer.text[:200]}\n"
                + _tail(t.logs["webhook"])
            )
        drained = requests.post(t.urls["drain_events"], timeout=120)
        if drained.status_code != 200 or drained.json().get("applied") != 1:
            raise AssertionError(
                f"drain_events answered {drained.status_code} {drained.text[:200]}\n"
                + _tail(t.logs["drain_events"])
            )
        if int(new["id"]) not in t.loaded(owner):
            raise AssertionError(f"activity {new['id']} is not in BigQuery after the drain")
        return ": enqueued on NUNIS_EVENTS_TOPIC; drain_events pulled it, it is in BigQuery"

    def secrets() -> str:
        logs = "".join(path.read_text(errors="replace") for path in t.logs.values())
        leaked = [name for name, value in t.secrets().items() if value in logs]
        if leaked:
            raise AssertionError(f"the function logs hold {', '.join(leaked)}")
        note = ""
        if VERIFY in logs:  # functions-framework's httpRequest.requestUrl of the handshake
            note = "\n        WARN  the verify token is in a logged request URL (hub.verify_token)"
        return ": no client secret, access or refresh token in either log" + note

    return [
        ("ingest: {'mode': 'new'} fans out to one message per athlete", fan_out),
        ("ingest: a message naming an athlete loads BigQuery", athlete),
        ("webhook: handshake (GET)", handshake),
        ("webhook: event (POST) enqueued, drain_events applies it", event),
        *http_steps(t),
        ("no secret in the function logs", secrets),
    ]


def target_steps(bundle: Bundle, run_steps: Callable[[list[Step]], bool]) -> bool:
    with ExitStack() as stack:
        try:
            topology = Topology(stack, bundle)
        except Exception as exc:
            failure = exc
            return run_steps([("start the topology", lambda: _raise(failure))])
        names = ", ".join(f"{k} {v['endpoint']}" for k, v in topology.services.items())
        print(f"  stand-ins: {names}; functions: {', '.join(topology.urls.values())}")
        return run_steps(_steps(topology))


def _raise(exc: Exception) -> str:
    raise exc
