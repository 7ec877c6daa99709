"""`make demo-cloud`: the production topology on one machine, on real local stand-ins.

Cloud Storage (fake-gcs-server), BigQuery (local-bigquery), Pub/Sub (gcloud's emulator) and
a `functions-framework --target=ingest` process run as the function deploys (the bundle
venv: Python 3.12 with only requirements.txt, from the bundle copy; scripts/bundle.py);
Strava is the sandbox. Two athletes are
registered in the bucket, one message per athlete is published as Cloud Scheduler would,
and the run ends with a BigQuery query of what was loaded. Every process is stopped by
the PID we started.
"""

# ruff: noqa: S608 - the SQL here is built from constants only
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from google.api_core.client_options import ClientOptions  # noqa: E402
from google.auth.credentials import AnonymousCredentials  # noqa: E402
from google.cloud import bigquery, storage  # noqa: E402

from nunis_ingest.adapters.stores.gcs import GCSObjectStore  # noqa: E402
from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse  # noqa: E402
from nunis_ingest.core.token import Token  # noqa: E402
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo  # noqa: E402
from scripts import local_gcp  # noqa: E402
from scripts.bundle import prepare  # noqa: E402
from scripts.topology import PROJECT, function_process, push_topic, wait_until  # noqa: E402
from strava_sandbox.testing import SandboxControl, SandboxServer  # noqa: E402

BUCKET, DATASET = "nunis-demo", "strava"
QUERY = f"""
select athlete_id, sport_type, count(*) as activities, round(sum(distance) / 1000) as km
from `{PROJECT}.{DATASET}.activities` group by 1, 2 order by 1, 3 desc
"""


def main() -> None:
    if local_gcp.pubsub_emulator() is None:
        sys.exit("demo-cloud needs gcloud's Pub/Sub emulator (google-cloud-cli); it is missing")
    with ExitStack() as stack:
        services: dict[str, dict[str, Any]] = {}
        for name in ("gcs", "bigquery", "pubsub"):
            info = local_gcp.start_service(
                name, gcs_endpoint=services.get("gcs", {}).get("endpoint")
            )
            stack.callback(local_gcp.stop_service, info)
            services[name] = info
            print(f"{name:<9} stand-in at {info['endpoint']}")
        os.environ["STORAGE_EMULATOR_HOST"] = services["gcs"]["endpoint"]
        os.environ["PUBSUB_EMULATOR_HOST"] = services["pubsub"]["endpoint"]
        sandbox = stack.enter_context(SandboxServer().start(athletes=2, activities=300, seed=11))
        control = SandboxControl(sandbox.base_url)
        print(f"strava    sandbox  at {sandbox.base_url}")

        gcs = storage.Client(
            project=PROJECT,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": services["gcs"]["endpoint"]},
        )
        gcs.create_bucket(BUCKET)
        bq = bigquery.Client(
            project=PROJECT,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=services["bigquery"]["endpoint"]),
        )
        # The per-athlete invocations run at once; on an empty dataset each would create
        # the tables. Real BigQuery answers the loser 409 (absorbed); the stand-in answers
        # 400 "Failed to commit DuckLake transaction". So the tables exist first, as after
        # the first run of a deployment.
        BigQueryWarehouse(bq, DATASET).ensure_schema()
        repo = AthleteRepo(GCSObjectStore(gcs, BUCKET))
        athletes = control.athletes()
        for a in athletes:  # what `nunis-ingest athlete add` does with NUNIS_BACKEND=gcp
            repo.save_token(
                int(a["id"]),
                Token(a["access_token"], a["refresh_token"], int(a["expires_at"]), a["scope"]),
            )
            repo.save_config(AthleteConfig(int(a["id"]), label=f"athlete {a['id']}"))
        app = control.app()
        env = dict(
            os.environ,
            NUNIS_BACKEND="gcp",
            NUNIS_BUCKET=BUCKET,
            NUNIS_DATASET=DATASET,
            NUNIS_PROJECT=PROJECT,
            BIGQUERY_EMULATOR_HOST=services["bigquery"]["endpoint"],
            NUNIS_STRAVA_BASE_URL=sandbox.base_url,
            STRAVA_CLIENT_ID=str(app["client_id"]),
            STRAVA_CLIENT_SECRET=str(app["client_secret"]),
        )
        bundle = prepare()
        print(f"bundle    {bundle.src} with {bundle.venv.name} (only requirements.txt)")
        log_path = Path(tempfile.mkstemp(prefix="nunis-function-", suffix=".log")[1])
        log = stack.enter_context(log_path.open("w"))
        url = stack.enter_context(function_process(env, log, bundle=bundle))
        print(f"function  ingest   at {url} (log: {log_path})")
        publish = stack.enter_context(push_topic(url))
        for a in athletes:  # one message per athlete, as each Cloud Scheduler job publishes
            message_id = publish({"athlete_id": a["id"], "mode": "new"})
            print(f"published {{'athlete_id': {a['id']}, 'mode': 'new'}} as message {message_id}")

        def loaded() -> int:
            try:
                sql = f"select count(*) from `{PROJECT}.{DATASET}.activities`"
                return int(next(iter(bq.query_and_wait(sql)))[0])
            except Exception:  # the table exists after the first run
                return 0

        want = sum(len(control.truth(int(a["id"]))) for a in athletes)
        wait_until(lambda: loaded() == want, timeout=120, what=f"{want} rows in BigQuery")
        archived = sum(1 for _ in gcs.list_blobs(BUCKET, prefix="archive/strava/"))
        print(
            f"\nBigQuery holds {loaded()} activities (Strava: {want}); "
            f"{archived} raw pages archived in gs://{BUCKET}/archive/strava/\n"
        )
        print(QUERY.strip())
        for row in bq.query_and_wait(QUERY):
            print(f"  {row.athlete_id}  {row.sport_type:<15}{row.activities:>5} {row.km:>8} km")


if __name__ == "__main__":
    main()
