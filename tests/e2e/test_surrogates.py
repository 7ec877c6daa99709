"""An activity name holding half an emoji (a lone UTF-16 surrogate) end to end.

Strava's JSON ``"name": "Run \\ud83d"`` is valid JSON but not encodable as UTF-8; before
the repair it made the DuckDB load fail, so nothing of that athlete loaded again.
"""

from __future__ import annotations

from tests.e2e.conftest import loaded, register, truth


def test_a_lone_surrogate_loads_repaired_and_every_other_row_loads(sandbox, rt, sync):
    athlete = sandbox.create_athlete(activities=40)
    aid = register(rt, athlete)
    broken = sandbox.add_activity(aid, name="Run \ud83d")  # sent and served as JSON escapes
    report = sync(aid, "all")
    assert report.outcome == "success"
    assert loaded(rt, aid) == set(truth(sandbox, aid))
    assert report.result.inserted == 41
    assert report.result.quarantined == 0
    with rt.warehouse.reader() as con:
        name, raw_name = con.execute(
            "SELECT name, raw->>'name' FROM activities WHERE id = ?", [broken["id"]]
        ).fetchone()
    assert name == raw_name == "Run \ufffd"
    keys = list(rt.store.list(f"archive/strava/athlete={aid}/"))
    pages = b"".join(rt.store.get(k).data for k in keys)
    assert b'"Run \\ud83d"' in pages  # the archive keeps Strava's exact bytes
    again = sync(aid, "all")  # the content hash is stable: nothing to rewrite
    assert again.result.unchanged == 41
    assert again.result.updated == 0
