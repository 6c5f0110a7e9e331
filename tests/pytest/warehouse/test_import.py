"""`ingest import`: rows made elsewhere land as one complete run, or nothing lands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from runs import count, ingest

from ingest.core.errors import CensusError
from ingest.warehouse.importer import import_file


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> tuple[Path, Path]:
    from photos import build_small_ilsvrc

    base = tmp_path_factory.mktemp("imp")
    root = build_small_ilsvrc(base / "ds")
    db = base / "w.duckdb"
    ingest(root, db, stages=["nsfw"])
    return root, db


def _copy(db: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy.duckdb"
    shutil.copy(db, target)
    return target


def test_faces_import_lands_one_complete_run(warehouse, tmp_path):
    _, base_db = warehouse
    db = _copy(base_db, tmp_path)
    rows = pd.DataFrame({
        "rel_path": ["train/n04350905/n04350905_1.JPEG"] * 2 + ["train/n02123045/n02123045_1.JPEG"],
        "det_score": [0.99, 0.95, ""], "age": [31.5, 22.0, ""], "gender_score": [0.8, 0.1, ""],
        "x1": [1, 2, ""], "y1": [1, 2, ""], "x2": [10, 20, ""], "y2": [10, 20, ""],
    })
    path = tmp_path / "dex.csv"
    rows.to_csv(path, index=False)
    result = import_file(path, kind="faces", annotator="dex/2019", dataset="ds", db=db)
    assert result["images"] == 2 and result["rows"] == 2
    assert count(db, "select stage, status, model_digest from raw.runs where annotator = 'dex/2019'") == [
        ("faces", "complete", None)]
    assert count(db, "select count(*) from raw.image_runs ir join raw.runs r using (run_id) "
                     "where r.annotator = 'dex/2019' and ir.status = 'ok'") == [(2,)]
    assert count(db, "select face_idx, age from raw.faces order by face_idx") == [(0, 31.5), (1, 22.0)]
    with pytest.raises(CensusError, match="already imported"):
        import_file(path, kind="faces", annotator="dex/2019", dataset="ds", db=db)


def test_covers_dataset_marks_every_image_processed(warehouse, tmp_path):
    _, base_db = warehouse
    db = _copy(base_db, tmp_path)
    path = tmp_path / "faces.parquet"
    pd.DataFrame({"rel_path": ["train/n04350905/n04350905_1.JPEG"], "det_score": [0.99], "age": [30.0],
                  "gender_score": [0.2], "face_idx": [0]}).to_parquet(path)
    result = import_file(path, kind="faces", annotator="if/x", dataset="ds", covers_dataset=True, db=db)
    assert result["images"] == 8


def test_nsfw_and_predictions_import(warehouse, tmp_path):
    _, base_db = warehouse
    db = _copy(base_db, tmp_path)
    ids = [r[0] for r in count(db, "select image_id from raw.images order by image_id")]
    nsfw = tmp_path / "nsfw.csv"
    pd.DataFrame({"image_id": ids, "nsfw_score": [0.1] * 8, "prob_drawings": [0.1] * 8,
                  "prob_neutral": [0.8] * 8}).to_csv(nsfw, index=False)
    assert import_file(nsfw, kind="nsfw", annotator="keras/nsfw-mobilenet-v2", dataset="ds", db=db)["rows"] == 8
    probs = count(db, "select probs->>'neutral' from raw.nsfw n join raw.runs r using (run_id) "
                      "where r.annotator = 'keras/nsfw-mobilenet-v2' limit 1")
    assert float(probs[0][0]) == 0.8
    preds = tmp_path / "preds.csv"
    pd.DataFrame({"image_id": ids[0], "rank": [1, 2], "wnid": ["n01440764", "n02123045"],
                  "prob": [0.6, 0.3]}).to_csv(preds, index=False)
    import_file(preds, kind="predictions", annotator="keras/resnet50", dataset="ds", db=db)
    assert count(db, "select class_index from raw.predictions order by rank") == [(0,), (281,)]


@pytest.mark.parametrize(
    ("kind", "frame", "messages"),
    [
        ("faces", {"rel_path": ["train/n04350905/n04350905_1.JPEG"], "det_score": [1.5], "age": [20],
                   "gender_score": [0.5]}, ["row 2: det_score is above 1"]),
        ("faces", {"rel_path": ["train/n04350905/n04350905_1.JPEG", "nope.jpg"], "det_score": [0.9, 0.9],
                   "age": ["abc", 20], "gender_score": [0.5, -1]},
         ["row 2: age is not a number", "row 3: rel_path is not an image", "row 3: gender_score is below 0"]),
        ("faces", {"rel_path": ["train/n04350905/n04350905_1.JPEG"] * 2, "face_idx": [0, 0],
                   "det_score": [0.9, 0.9], "age": [1, 2], "gender_score": [0.1, 0.2]},
         ["row 3: duplicate (image, face_idx)"]),
        ("nsfw", {"rel_path": ["train/n04350905/n04350905_1.JPEG"]}, ["lacks the column nsfw_score"]),
        ("nsfw", {"rel_path": ["train/n04350905/n04350905_1.JPEG"], "nsfw_score": [""]},
         ["row 2: nsfw_score is empty"]),
        ("predictions", {"rel_path": ["train/n04350905/n04350905_1.JPEG"], "rank": [7], "wnid": ["n99999999"],
                         "prob": [0.5]}, ["row 2: rank is above 5", "row 2: wnid is not an ILSVRC-2012 class"]),
    ],
)
def test_invalid_files_are_rejected_with_row_numbers(warehouse, tmp_path, kind, frame, messages):
    _, base_db = warehouse
    db = _copy(base_db, tmp_path)
    before = count(db, "select (select count(*) from raw.runs), (select count(*) from raw.image_runs)")
    path = tmp_path / "bad.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    with pytest.raises(CensusError) as caught:
        import_file(path, kind=kind, annotator="x/y", dataset="ds", db=db)
    for message in messages:
        assert message in str(caught.value)
    assert "nothing was imported" in str(caught.value)
    assert count(db, "select (select count(*) from raw.runs), (select count(*) from raw.image_runs)") == before


def test_missing_columns_and_unknown_dataset(warehouse, tmp_path):
    _, base_db = warehouse
    db = _copy(base_db, tmp_path)
    path = tmp_path / "x.csv"
    pd.DataFrame({"foo": [1]}).to_csv(path, index=False)
    with pytest.raises(CensusError, match="image_id or a rel_path"):
        import_file(path, kind="nsfw", annotator="a", dataset="ds", db=db)
    with pytest.raises(CensusError, match="no images of dataset"):
        import_file(path, kind="nsfw", annotator="a", dataset="other", db=db)
    with pytest.raises(CensusError, match="Unknown kind"):
        import_file(path, kind="boxes", annotator="a", dataset="ds", db=db)


# -- issue 12, item 5: non-finite values never land --------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_nan_age_is_rejected_by_row_and_nothing_lands(warehouse, tmp_path, suffix):
    """A NaN age (text "nan" in a CSV, a float NaN in Parquet, which pandas alone cannot tell
    from a null) is reported with its row number; a blank age is fine; nothing is imported."""
    _, base_db = warehouse
    db = _copy(base_db, tmp_path)
    before = count(db, "select (select count(*) from raw.runs), (select count(*) from raw.faces)")
    rel = "train/n04350905/n04350905_1.JPEG"
    frame = pd.DataFrame({"rel_path": [rel] * 3, "face_idx": [0, 1, 2], "det_score": [0.99, 0.95, 0.97],
                          "age": [31.5, None, float("nan")], "gender_score": [0.8, 0.1, 0.3]})
    path = tmp_path / f"faces{suffix}"
    if suffix == ".csv":
        frame["age"] = ["31.5", "", "nan"]
        frame.to_csv(path, index=False)
        row = 4  # the header is row 1
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        ages = pa.array([31.5, None, float("nan")], type=pa.float64())  # a null, then a real NaN
        pq.write_table(table.set_column(table.schema.get_field_index("age"), "age", ages), path)
        row = 3
    with pytest.raises(CensusError) as caught:
        import_file(path, kind="faces", annotator="dex/2019", dataset="ds", db=db)
    message = str(caught.value)
    assert f"row {row}: age is not a finite number" in message and "nothing was imported" in message
    assert f"row {row - 1}:" not in message  # the blank age is not a problem
    assert count(db, "select (select count(*) from raw.runs), (select count(*) from raw.faces)") == before


@pytest.mark.parametrize(("table", "column", "value"), [
    ("faces", "age", "nan"), ("faces", "age", "inf"), ("faces", "gender_score", "nan"),
    ("faces", "det_score", "-inf"), ("nsfw", "nsfw_score", "nan"), ("predictions", "prob", "inf"),
])
def test_the_schema_refuses_non_finite_values_from_plain_inserts(tmp_path, table, column, value):
    """External tools write with plain INSERTs: the raw schema's CHECKs refuse NaN and inf
    (DuckDB's NaN = NaN is true, so isfinite() does the check), and nothing lands."""
    import duckdb

    from ingest.warehouse.db import init_schema

    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    init_schema(con)
    keys = {"faces": "run_id, image_id, face_idx", "nsfw": "run_id, image_id", "predictions": "run_id, image_id, rank"}
    key_values = {"faces": "'r', 'i', 0", "nsfw": "'r', 'i'", "predictions": "'r', 'i', 1"}
    with pytest.raises(duckdb.ConstraintException, match="CHECK constraint failed"):
        con.execute(f"insert into raw.{table} ({keys[table]}, {column}) "
                    f"values ({key_values[table]}, '{value}'::double)")
    con.execute(f"insert into raw.{table} ({keys[table]}, {column}) values ({key_values[table]}, null)")
    assert con.execute(f"select count(*), count({column}) from raw.{table}").fetchone() == (1, 0)
    con.close()
