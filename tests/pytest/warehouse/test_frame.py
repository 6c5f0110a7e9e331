"""The writer refuses a row whose keys are not its table's columns, in one sentence, and lands
nothing of that batch (in the warehouse and in Parquet parts alike)."""

from __future__ import annotations

import duckdb
import pytest

from ingest.core.errors import CensusError
from ingest.core.rows import face_row
from ingest.warehouse.db import Batch, init_schema, run_row, write_batch
from ingest.warehouse.parts import PartsSink


def _batch(face: dict) -> Batch:
    return Batch.of(
        images=[{"image_id": "i1", "dataset": "ds", "split": "train", "wnid": "n02123045", "rel_path": "train/i1.JPEG",
                 "file_bytes": 10, "sha256": "ab" * 32, "width": 4, "height": 4, "decode_error": None}],
        image_runs=[{"run_id": "r1", "image_id": "i1", "status": "ok", "error": None}],
        faces=[{"run_id": "r1", "image_id": "i1",
                **face_row(0, (1.0, 1.0, 3.0, 3.0), det_score=0.99, det_raw_score=0.99, age=30.0, gender_score=0.5)},
               {"run_id": "r1", "image_id": "i1", **face}])


def _face(**changes) -> dict:
    row = dict(face_row(1, (2.0, 2.0, 4.0, 4.0), det_score=0.95, det_raw_score=0.95, age=40.0, gender_score=0.2))
    return {**row, **changes}


@pytest.fixture()
def con():
    con = duckdb.connect(":memory:")
    init_schema(con)
    yield con
    con.close()


def test_whole_rows_land(con):
    write_batch(con, _batch(_face()))
    assert con.execute("select face_idx, age, verified from raw.faces order by 1").fetchall() == [
        (0, 30.0, None), (1, 40.0, None)]



def test_a_column_the_table_gained_is_left_null(con):
    """The schema may gain columns (never rename them): rows of the typed record still land."""
    con.execute("alter table raw.faces add column landmarks json")
    write_batch(con, _batch(_face()))
    assert con.execute("select face_idx, landmarks from raw.faces order by 1").fetchall() == [(0, None), (1, None)]

def test_a_misspelt_key_is_one_sentence_and_nothing_lands(con):
    face = _face(gender=0.2)
    del face["gender_score"]
    with pytest.raises(CensusError, match=r"^A row for raw\.faces has keys that are not its columns "
                                          r"\(unknown gender; missing gender_score\)"):
        write_batch(con, _batch(face))
    assert con.execute("select count(*) from raw.images").fetchone() == (0,)


def test_an_extra_key_and_a_missing_key_are_named(con):
    with pytest.raises(CensusError, match=r"\(unknown apparent_age\)"):
        write_batch(con, _batch(_face(apparent_age=3.0)))
    face = _face()
    del face["evidence"]
    with pytest.raises(CensusError, match=r"\(missing evidence\)"):
        write_batch(con, _batch(face))


def test_parts_refuse_the_same_rows(tmp_path):
    sink = PartsSink(tmp_path / "parts")
    sink.start_runs([run_row(stage="faces", annotator="a", dataset="ds", model_digest=None, params={})])
    with pytest.raises(CensusError, match=r"unknown x_1; missing x1"):
        face = _face(x_1=2.0)
        del face["x1"]
        sink.write(_batch(face))
    sink.close()
    assert not list(sink.folder.glob("part-*"))
