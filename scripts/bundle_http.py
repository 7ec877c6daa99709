"""`make bundle-check`: the onboarding page of the bundle, as an invited athlete and as a
stranger meet it (scripts/bundle_targets.py starts the processes).

The page runs as it deploys (bundle venv, bundle copy, Cloud Storage and Pub/Sub
stand-ins); a ``requests`` session plays the browser and the sandbox plays Strava:

* without an invite: 403, and not one Strava request;
* with one: the Connect link, Strava's redirect back, the confirmation; the page hands the
  token over with an ``enroll`` message on NUNIS_INGEST_TOPIC, and that message delivered
  to ``ingest`` stores the athlete and loads their activities into BigQuery.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import requests

if TYPE_CHECKING:
    from scripts.bundle_targets import Topology

Step = tuple[str, Callable[[], str]]


def http_steps(t: Topology) -> list[Step]:
    def uninvited() -> str:
        t.strava.clear_requests()
        answer = requests.get(f"{t.urls['onboard']}/", timeout=10)
        if answer.status_code != 403 or "invited athletes only" not in answer.text:
            raise AssertionError(f"an uninvited visitor got {answer.status_code}")
        if t.strava.requests_log()["requests"]:
            raise AssertionError("an uninvited visitor made the page call Strava")
        return ": 403 before any storage or Strava request"

    def invited() -> str:
        if "pubsub" not in t.services:
            return ": SKIPPED, gcloud's Pub/Sub emulator is not on this machine"
        from nunis_ingest.adapters.stores.gcs import GCSObjectStore
        from nunis_ingest.usecases.athletes import AthleteRepo
        from nunis_ingest.usecases.onboard import invites
        from scripts.bundle_targets import ONBOARD_SECRET

        athlete = t.strava.create_athlete(activities=12)
        token = invites.mint(ONBOARD_SECRET, time.time()).token
        browser = requests.Session()
        start = browser.get(f"{t.urls['onboard']}/?{urlencode({'invite': token})}", timeout=10)
        found = re.search(r'id=connect href="([^"]+)"', start.text)
        if start.status_code != 200 or not found:
            raise AssertionError(f"the invited start page answered {start.status_code}")
        link = html.unescape(found.group(1)) + f"&athlete_id={athlete['id']}"
        back = requests.get(link, allow_redirects=False, timeout=10).headers["Location"]
        done = browser.get(back, allow_redirects=False, timeout=30)
        if done.status_code != 303:
            raise AssertionError(f"the callback answered {done.status_code} {done.text[:200]}")
        [message] = t.pull("ingest", 1)
        body = json.loads(message.data)
        if body.get("kind") != "enroll" or "token" in message.data.decode():
            raise AssertionError(f"the page published {body}, not a token-free enroll message")
        t.deliver(message.data, dict(message.attributes))
        repo = AthleteRepo(GCSObjectStore(t.gcs, t.bucket))
        aid = int(athlete["id"])
        issued = next(a for a in t.strava.athletes() if int(a["id"]) == aid)  # after OAuth
        if (
            body.get("athlete_id") != aid
            or repo.load_token(aid).refresh_token != issued["refresh_token"]
        ):
            raise AssertionError(f"athlete {aid}'s token is not in the bucket ({body})")
        if t.loaded(aid) != t.truth(aid):
            raise AssertionError(f"athlete {aid}: {len(t.loaded(aid))} activities in BigQuery")
        return f": enroll message applied by ingest, {len(t.truth(aid))} activities in BigQuery"

    return [
        ("onboard: an uninvited visitor is refused", uninvited),
        ("onboard: an invited athlete connects, ingest loads them", invited),
    ]
