"""The sandbox and the product each keep their own constants; Strava's spec is the judge.

The sandbox imports nothing from the product, so a constant copied wrongly on either side
shows up here as a disagreement with Strava's Swagger spec (``tests/fixtures/strava/
strava_swagger.json``, Strava's own spec as vendored by the stravalib project), not as two
copies that agree with each other.
"""

from __future__ import annotations

import json
from pathlib import Path

from nunis_ingest.core import schema_detail
from strava_sandbox import detail

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "strava" / "strava_swagger.json"


def _spec_stream_types() -> list[str]:
    spec = json.loads(SPEC.read_text())
    params = spec["paths"]["/activities/{id}/streams"]["get"]["parameters"]
    (keys,) = [p for p in params if p["name"] == "keys"]
    return list(keys["items"]["enum"])


def test_the_product_asks_for_every_stream_type_strava_defines() -> None:
    assert sorted(schema_detail.STREAM_TYPES) == sorted(_spec_stream_types())


def test_the_sandbox_serves_every_stream_type_strava_defines() -> None:
    assert sorted(detail.STREAM_TYPES) == sorted(_spec_stream_types())
