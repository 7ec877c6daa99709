"""DuckDBWarehouse and NdjsonStage specifics beyond the shared contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
from nunis_ingest.adapters.warehouses.staging import NdjsonStage


def test_stage_files_are_removed_after_commit_and_discard(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "w.duckdb", stage_dir=tmp_path / "stage")
    (tmp_path / "stage").mkdir()
    wh.ensure_schema()
    wh.stage(1, "r").discard()
    batch = wh.stage(1, "r")
    batch.add([{"id": 1, "athlete_id": 1, "distance": "bad"}])  # quarantined
    assert batch.commit(replace=False).quarantined == 1
    assert list((tmp_path / "stage").iterdir()) == []
    batch = wh.stage(1, "r")
    batch.add([{"id": 2, "athlete_id": 1, "distance": "bad"}])
    batch.discard()
    assert list((tmp_path / "stage").iterdir()) == []


def test_ndjson_stage_never_writes_invalid_utf8(tmp_path: Path) -> None:
    stage = NdjsonStage(directory=tmp_path)
    big = 2**70  # forces the standard-library path, which used to write surrogates as-is
    stage.add([{"id": 1, "name": "Run \ud83d", "raw": {"upload_id": big, "k\udc00": "x"}}])
    data = stage.close().read_bytes()
    assert json.loads(data.decode("utf-8")) == {
        "id": 1,
        "name": "Run \ufffd",
        "raw": {"upload_id": big, "k\ufffd": "x"},
    }
    stage.cleanup()


def test_ndjson_stage_lines_and_last_wins(tmp_path: Path) -> None:
    with NdjsonStage(directory=tmp_path) as stage:
        stage.add([{"id": 1, "v": "é"}, {"id": 2, "v": "a"}])
        stage.add([{"id": 1, "v": "b"}])
        assert stage.count == 2
        path = stage.close()
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines == ['{"id":2,"v":"a"}', '{"id":1,"v":"b"}']
        assert stage.close() == path  # idempotent
        with pytest.raises(RuntimeError):
            stage.add([{"id": 3}])
    assert not path.exists()


def test_ndjson_stage_refuses_a_bad_row_without_partial_lines(tmp_path: Path) -> None:
    stage = NdjsonStage(directory=tmp_path)
    stage.add([{"id": 1}])
    with pytest.raises(TypeError):  # not JSON-ready: nothing of this batch is written
        stage.add([{"id": 2}, {"id": 3, "x": {1, 2}}])
    assert stage.count == 1
    assert [json.loads(line) for line in stage.close().read_text().splitlines()] == [{"id": 1}]
    stage.cleanup()
    stage.cleanup()


def test_ndjson_stage_keeps_integers_beyond_64_bits_and_writes_nan_as_null(tmp_path: Path) -> None:
    stage = NdjsonStage(directory=tmp_path)
    big = 987654321234567891234  # Strava's spec example upload_id, kept exactly in raw
    stage.add([{"id": 1, "raw": {"upload_id": big}}, {"id": 2, "raw": {"x": float("nan")}}])
    lines = [json.loads(line) for line in stage.close().read_text().splitlines()]
    assert lines == [{"id": 1, "raw": {"upload_id": big}}, {"id": 2, "raw": {"x": None}}]
    stage.cleanup()


def test_ndjson_stage_without_key_keeps_every_row(tmp_path: Path) -> None:
    stage = NdjsonStage(key=None, directory=tmp_path)
    stage.add([{"id": 1}, {"id": 1}])
    assert stage.count == 2
    assert len(stage.close().read_text().splitlines()) == 2
    stage.cleanup()
