"""Production topology on one machine: Pub/Sub emulator → functions-framework → GCS + BigQuery.

A real `functions-framework --target=ingest` process receives pushes from a Pub/Sub
emulator subscription, reads the athlete's token from the Cloud Storage stand-in, polls the
Strava sandbox and loads the BigQuery stand-in. Skips (with the reason) where gcloud's
Pub/Sub emulator is missing; the in-process CloudEvent tests in tests/e2e run everywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nunis_ingest.core.token import Token
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from scripts.topology import ROOT, function_process, pubsub_cloudevent, push_topic, wait_until

pytestmark = [pytest.mark.gcp, pytest.mark.pubsub, pytest.mark.slow]


@pytest.fixture
def function_url(gcp_env, tmp_path) -> Iterator[str]:
    """A functions-framework process serving main.ingest with the gcp backend."""
    path = tmp_path / "function.log"
    with path.open("w") as log, function_process(gcp_env, log) as url:
        yield url
    print(path.read_text(errors="replace")[-20_000:])  # shown by pytest when the test failed


@pytest.fixture
def topic(pubsub_endpoint, function_url) -> Iterator[Any]:
    with push_topic(function_url) as publish:
        yield publish


def _register(gcs_client, bucket: str, athlete: dict[str, Any]) -> int:
    from nunis_ingest.adapters.stores.gcs import GCSObjectStore

    repo = AthleteRepo(GCSObjectStore(gcs_client, bucket))
    aid = int(athlete["id"])
    repo.save_token(
        aid,
        Token(
            athlete["access_token"],
            athlete["refresh_token"],
            int(athlete["expires_at"]),
            athlete["scope"],
        ),
    )
    repo.save_config(AthleteConfig(aid, details=False))  # the push path; details: own tests
    return aid


def _rows(bigquery_client, dataset: str, aid: int) -> list[tuple[int, int]]:
    sql = f"select id, count(*) from `{dataset}.activities` where athlete_id = {aid} group by id"  # noqa: S608
    try:
        return [(r[0], r[1]) for r in bigquery_client.query_and_wait(sql)]
    except Exception:  # the table does not exist before the first run
        return []


def test_pubsub_push_to_function_loads_bigquery_and_archives_to_gcs(
    sandbox, topic, gcs_client, gcs_bucket, bigquery_client, bigquery_dataset
):
    athlete = sandbox.create_athlete(activities=230)
    aid = _register(gcs_client, gcs_bucket, athlete)
    truth = {int(a["id"]) for a in sandbox.truth(aid)}

    topic({"athlete_id": aid, "mode": "all"})
    wait_until(lambda: {i for i, _ in _rows(bigquery_client, bigquery_dataset, aid)} == truth)
    # Rows are visible before the run has finished; a `new` sent while it still holds the
    # athlete's lease is answered "already running" and caught by the next tick instead.
    wait_until(lambda: len(_runs(bigquery_client, bigquery_dataset, aid)) >= 1, what="run record")
    archive = [b.name for b in gcs_client.list_blobs(gcs_bucket, prefix="archive/strava/")]
    assert len(archive) == 2  # 230 activities: two pages of up to 200
    assert all(f"athlete={aid}/" in name for name in archive)

    state_before = _state_bytes(gcs_client, gcs_bucket, aid)
    added = sandbox.add_activity(aid, name="fresh from the watch")
    topic({"athlete_id": aid, "mode": "new"})
    wait_until(
        lambda: int(added["id"]) in {i for i, _ in _rows(bigquery_client, bigquery_dataset, aid)}
    )
    assert _state_bytes(gcs_client, gcs_bucket, aid) != state_before

    for _ in range(2):  # the same request twice, as a doubled scheduler tick would send it
        topic({"athlete_id": aid, "mode": "all"})
    wait_until(lambda: len(_runs(bigquery_client, bigquery_dataset, aid)) >= 4)
    rows = _rows(bigquery_client, bigquery_dataset, aid)
    assert all(count == 1 for _, count in rows), "an activity was loaded twice"
    assert {i for i, _ in rows} == truth | {int(added["id"])}


def _state_bytes(gcs_client, bucket: str, aid: int) -> bytes:
    blob = gcs_client.bucket(bucket).blob(f"athletes/{aid}/state.json")
    return bytes(blob.download_as_bytes())


def _runs(bigquery_client, dataset: str, aid: int) -> list[Any]:
    sql = f"select run_id from `{dataset}.ingest_runs` where athlete_id = {aid}"  # noqa: S608
    return list(bigquery_client.query_and_wait(sql))


def test_one_scheduler_message_fans_out_to_every_athlete(
    sandbox,
    gcp_env,
    pubsub_endpoint,
    gcs_client,
    gcs_bucket,
    bigquery_client,
    bigquery_dataset,
    tmp_path,
):
    topic_id = f"ingest-fanout-{time.monotonic_ns()}"
    env = gcp_env | {"PUBSUB_EMULATOR_HOST": pubsub_endpoint, "NUNIS_INGEST_TOPIC": topic_id}
    athletes = [sandbox.create_athlete(activities=n) for n in (40, 70)]
    ids = [_register(gcs_client, gcs_bucket, a) for a in athletes]
    # The two per-athlete invocations run at once. On an empty dataset both create the
    # tables: real BigQuery answers the loser 409, which ensure_schema absorbs; the
    # stand-in answers 400 "Failed to commit DuckLake transaction" instead. The first-load
    # path on an empty dataset is covered above; here the tables exist, as after a deploy.
    from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse

    BigQueryWarehouse(bigquery_client, bigquery_dataset).ensure_schema()
    with (
        (tmp_path / "function.log").open("w") as log,
        function_process(env, log) as url,
        push_topic(url, topic_id=topic_id) as publish,
    ):
        publish({"mode": "all"})  # what the single Cloud Scheduler job sends

        def all_loaded() -> bool:
            return all(
                {i for i, _ in _rows(bigquery_client, bigquery_dataset, aid)}
                == {int(a["id"]) for a in sandbox.truth(aid)}
                for aid in ids
            )

        wait_until(all_loaded, timeout=120, what="both athletes loaded by one message")


def test_a_message_naming_an_athlete_builds_no_publisher(
    sandbox, gcp_env, gcs_client, gcs_bucket, bigquery_client, bigquery_dataset, monkeypatch
):
    """Only the fan-out publishes: an athlete's message must load without a Pub/Sub client
    (a bundle missing google-cloud-pubsub then still loads every athlete it is sent)."""
    from functions_framework import create_app

    from nunis_ingest.runtime import get_runtime

    aid = _register(gcs_client, gcs_bucket, sandbox.create_athlete(activities=5))
    for key, value in (gcp_env | {"NUNIS_INGEST_TOPIC": "ingest-fanout"}).items():
        monkeypatch.setenv(key, value)
    app = create_app(target="ingest", source=str(ROOT / "main.py"), signature_type="cloudevent")
    headers, body = pubsub_cloudevent(json.dumps({"athlete_id": aid, "mode": "all"}).encode())
    assert app.test_client().post("/", data=body, headers=headers).status_code == 200
    assert {i for i, _ in _rows(bigquery_client, bigquery_dataset, aid)} == {
        int(a["id"]) for a in sandbox.truth(aid)
    }
    assert "ingest_publisher" not in vars(get_runtime()), "the publisher was built"
