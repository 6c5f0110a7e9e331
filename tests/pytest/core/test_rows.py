"""The typed raw rows have exactly the columns of their tables in ingest/data/schema.sql."""

from __future__ import annotations

import duckdb
import pytest

from ingest.core.rows import MODEL_ROWS, RUN_KEYS, RUNTIME_ROWS, face_row, nsfw_row, prediction_row
from ingest.warehouse.db import init_schema, writable_columns


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect(":memory:")
    init_schema(con)
    yield con
    con.close()


def all_columns(con, table: str) -> list[str]:
    return [r[0] for r in con.execute("select column_name from information_schema.columns where table_schema = 'raw' "
                                      "and table_name = ? order by ordinal_position", [table]).fetchall()]


@pytest.mark.parametrize("table", sorted(MODEL_ROWS))
def test_a_model_row_is_its_table_less_the_run_keys(con, table):
    assert [*RUN_KEYS, *MODEL_ROWS[table].__annotations__] == writable_columns(con, table)


@pytest.mark.parametrize("table", ["images", "image_runs"])
def test_a_runtime_row_is_its_table_less_the_columns_the_database_fills(con, table):
    assert list(RUNTIME_ROWS[table].__annotations__) == writable_columns(con, table)


def test_a_run_row_is_every_column_of_raw_runs(con):
    from ingest.warehouse.db import RUN_COLUMNS, run_row

    assert list(RUNTIME_ROWS["runs"].__annotations__) == all_columns(con, "runs") == list(RUN_COLUMNS)
    row = run_row(stage="faces", annotator="a", dataset="d", model_digest=None, params={})
    assert list(row) == list(RUN_COLUMNS)


def test_the_builders_fill_every_key():
    assert list(face_row(0, (1, 2, 3, 4), det_score=0.9, det_raw_score=None, age=None, gender_score=None)) \
        == list(MODEL_ROWS["faces"].__annotations__)
    assert nsfw_row(0.5) == {"nsfw_score": 0.5, "probs": None}
    assert nsfw_row(0.5, {"sfw": 0.5, "nsfw": 0.5})["probs"] == '{"sfw": 0.5, "nsfw": 0.5}'
    assert list(prediction_row(1, 2, "n0", 0.3)) == list(MODEL_ROWS["predictions"].__annotations__)
