"""Replay: load through the API (polls, webhook events, an edit, a deletion, details and
streams), wipe the warehouse, rebuild it from the archive alone, compare table by table.
Strava must see zero requests during the rebuild."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.webhook_event import QueuedEvent, StravaEvent
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.replay import replay
from nunis_ingest.usecases.webhook.process import process
from tests.e2e.conftest import register, truth

BOOKKEEPING = {"first_seen_at", "updated_at", "run_id", "loaded_at"}
TABLES = ("activities", *(t.name for t in sd.DETAIL_TABLES))


def snapshot(rt: Runtime, athlete_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows of the athlete, bookkeeping columns left out, in a stable order."""
    out = {}
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        for table in TABLES:
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if r[0] not in BOOKKEEPING
            ]
            names = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in cols)
            out[table] = sorted(
                (tuple(str(v) for v in row))
                for row in con.execute(
                    f'select {names} from "{table}" where athlete_id = ?',  # noqa: S608
                    [athlete_id],
                ).fetchall()
            )
    return out


def _event(sandbox: Any, aid: int, activity_id: int, aspect: str) -> QueuedEvent:
    event = StravaEvent("activity", activity_id, aspect, aid, 1, int(sandbox.clock()))
    return QueuedEvent(event, sandbox.clock())


def _load_through_the_api(rt: Runtime, sandbox: Any, sync: Any) -> int:
    sandbox.set_rate_limits(
        read_15min=10**6, read_daily=10**6, overall_15min=10**6, overall_daily=10**6
    )
    aid = register(rt, sandbox.create_athlete(activities=40), streams=True)
    sync(aid, "all")
    ctx = rt.context()
    ctx.now = sandbox.clock
    created = int(sandbox.add_activity(aid, name="Track session", distance=6000.0)["id"])
    process([_event(sandbox, aid, created, "create")], ctx)
    ids = sorted(truth(sandbox, aid))
    sandbox.advance_clock(60)
    sandbox.patch_activity(ids[3], name="Renamed long run", distance=21097.5)
    sandbox.delete_activity(ids[5])
    sandbox.advance_clock(900)
    sync(aid, "all")  # lists the edit, confirms the deletion (a tombstone), enriches
    sandbox.advance_clock(60)
    sandbox.patch_activity(ids[7], name="Title changed by event")
    process([_event(sandbox, aid, ids[7], "update")], ctx)
    sandbox.advance_clock(900)
    sync(aid, "new")
    return aid


def test_replay_rebuilds_every_table_from_the_archive_with_no_strava_request(
    rt, sandbox, sync, app_env, tmp_path
) -> None:
    aid = _load_through_the_api(rt, sandbox, sync)
    before = snapshot(rt, aid)
    assert before["activity_streams"], "the load must have fetched streams"
    assert len(before["activities"]) == len(truth(sandbox, aid))

    fresh = Runtime(load_settings(app_env | {"NUNIS_DUCKDB_PATH": str(tmp_path / "new.duckdb")}))
    fresh.warehouse.ensure_schema()
    assert snapshot(fresh, aid)["activities"] == []
    sandbox.clear_requests()
    done = replay(fresh.store, fresh.warehouse, aid, run_id="replay-1")
    assert sandbox.requests_log()["counts"]["total"] == 0
    assert done.deleted == 1
    after = snapshot(fresh, aid)
    for table in TABLES:
        assert after[table] == before[table], table

    again = replay(fresh.store, fresh.warehouse, aid, run_id="replay-2")  # idempotent
    assert again.result.inserted == again.result.deleted == again.result.updated == 0
    assert snapshot(fresh, aid) == before


def test_replay_cli_over_a_wiped_warehouse(rt, sandbox, sync, app_env, monkeypatch) -> None:
    aid = _load_through_the_api(rt, sandbox, sync)
    before = snapshot(rt, aid)
    rt.warehouse.close()  # type: ignore[attr-defined]
    rt.settings.duckdb_file.unlink()
    for key, value in app_env.items():
        monkeypatch.setenv(key, value)
    sandbox.clear_requests()
    result = CliRunner().invoke(cli, ["replay", "--athlete", str(aid)])
    assert result.exit_code == 0, result.output
    assert "0 Strava requests" in result.output
    assert sandbox.requests_log()["counts"]["total"] == 0
    rebuilt = Runtime(load_settings(app_env))
    assert snapshot(rebuilt, aid) == before


def test_a_schema_version_bump_rebuilds_from_the_archive_once(
    rt, sandbox, sync, monkeypatch
) -> None:
    from nunis_ingest.usecases import rebuild as rebuild_module
    from nunis_ingest.usecases.athletes import AthleteRepo

    aid = _load_through_the_api(rt, sandbox, sync)
    before = snapshot(rt, aid)
    with rt.warehouse._open(write=True) as con:  # type: ignore[attr-defined]
        # rows an older version built differently: a derived column it left empty
        con.execute(
            "update activities set name = null, sport_type = null where athlete_id = ?", [aid]
        )
        con.execute("delete from activity_laps where athlete_id = ?", [aid])
    monkeypatch.setattr(rebuild_module, "SCHEMA_VERSION", 2)
    sandbox.clear_requests()
    sandbox.advance_clock(900)
    sync(aid, "new")
    requests = [r["path"] for r in sandbox.requests_log()["requests"]]
    assert all(p == "/api/v3/athlete/activities" for p in requests), requests  # the poll only
    assert snapshot(rt, aid) == before
    assert AthleteRepo(rt.store).load_state(aid)[0].schema_version == 2
    with rt.warehouse._open(write=True) as con:  # type: ignore[attr-defined]
        con.execute("update activities set name = null where athlete_id = ?", [aid])
    sandbox.advance_clock(900)
    sync(aid, "new")  # once: the next run does not rebuild again
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        (nulls,) = con.execute(
            "select count(*) from activities where athlete_id = ? and name is null", [aid]
        ).fetchone()
    assert nulls == len(before["activities"])


def test_an_older_duckdb_file_gains_the_columns_a_newer_schema_declares(tmp_path) -> None:
    import duckdb

    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
    from nunis_ingest.core import schema

    path = tmp_path / "old.duckdb"
    older = tuple(c for c in schema.ACTIVITIES if c.name not in {"device_name", "suffer_score"})
    with duckdb.connect(str(path)) as con:
        con.execute(schema.duckdb_ddl("activities", older, primary_key="id"))
        con.execute(
            "insert into activities (id, athlete_id, raw, content_hash, first_seen_at, "
            "updated_at, run_id) values (1, 2, '{}', 'h', now(), now(), 'r')"
        )
    warehouse = DuckDBWarehouse(path)
    warehouse.ensure_schema()
    with warehouse.reader() as con:
        cols = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_name = 'activities'"
            ).fetchall()
        }
        (kept,) = con.execute("select count(*) from activities").fetchone()
    assert {"device_name", "suffer_score"} <= cols
    assert kept == 1
    warehouse.close()
