"""Red-team cases of `ingest land`, `ingest labels audit` and `ingest import`: a parts folder whose
run_id is another run's, non-finite values in parts, label-set files that shadow a built-in
label set or cannot be read, and import files with a column twice."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from runs import count
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.errors import CensusError
from ingest.core.rows import face_row
from ingest.warehouse.db import Batch, init_schema, run_row
from ingest.warehouse.land import land_parts
from ingest.warehouse.parts import PartsSink

runner = CliRunner()


# -- `ingest land`: run_id collisions and non-finite values ------------------------------------


def _faces_parts(root: Path, *, annotator: str, dataset: str, run_id: str | None = None,
                 face: dict | None = None) -> Path:
    """A finished faces run's parts folder: one image with one face (``face`` overrides its values)."""
    sink = PartsSink(root)
    row = run_row(stage="faces", annotator=annotator, dataset=dataset, model_digest=None, params={})
    if run_id:
        row["run_id"] = run_id
    sink.start_runs([row])
    image = f"{dataset}-img"
    values = {**face_row(0, (1.0, 1.0, 3.0, 3.0), det_score=0.99, det_raw_score=None, age=30.0, gender_score=0.5),
              **(face or {})}
    sink.write(Batch.of(
        images=[{"image_id": image, "dataset": dataset, "split": "train", "wnid": "n02123045",
                 "rel_path": f"train/{image}.JPEG", "file_bytes": 10, "sha256": "ab" * 32, "width": 4, "height": 4,
                 "decode_error": None}],
        image_runs=[{"run_id": row["run_id"], "image_id": image, "status": "ok", "error": None}],
        faces=[{"run_id": row["run_id"], "image_id": image, **values}]))
    sink.finish("complete")
    sink.close()
    return sink.folder


def _run_id(folder: Path) -> str:
    return pq.read_table(folder / "runs.parquet")["run_id"][0].as_py()


def test_land_refuses_a_run_id_of_a_different_run_and_lands_the_other_folders(tmp_path):
    db = tmp_path / "w.duckdb"
    cats = _faces_parts(tmp_path / "cats", annotator="test/faces-a", dataset="cats")
    land_parts([cats], db)
    stolen = _run_id(cats)
    evil = _faces_parts(tmp_path / "evil", annotator="test/faces-b", dataset="dogs", run_id=stolen)
    fine = _faces_parts(tmp_path / "fine", annotator="test/faces-b", dataset="dogs")
    with pytest.raises(CensusError) as caught:
        land_parts([evil, fine], db)
    message = str(caught.value)
    assert f"run {stolen}" in message and "test/faces-a" in message and "test/faces-b" in message
    assert "dataset cats" in message and "dataset dogs" in message and "nothing of its run was landed" in message
    assert "1 other run folder(s) were landed" in message
    # the stolen run is untouched: no dog image or face inside it; the other folder landed whole
    assert count(db, f"select count(*) from raw.faces where run_id = '{stolen}'") == [(1,)]
    assert count(db, "select count(*) from raw.images where dataset = 'dogs'") == [(1,)]
    assert count(db, f"select count(*) from raw.faces where run_id = '{_run_id(fine)}'") == [(1,)]
    assert count(db, "select annotator, dataset from raw.runs order by dataset") == [
        ("test/faces-a", "cats"), ("test/faces-b", "dogs")]


def test_every_refused_folder_is_named_and_the_valid_ones_land(tmp_path):
    db = tmp_path / "w.duckdb"
    bad_box = _faces_parts(tmp_path / "a", annotator="test/faces-a", dataset="cats", face={"x1": float("nan")})
    fine = _faces_parts(tmp_path / "b", annotator="test/faces-a", dataset="cats")
    bad_score = _faces_parts(tmp_path / "c", annotator="test/faces-a", dataset="cats")
    _tamper(bad_score, "gender_score", float("inf"))
    with pytest.raises(CensusError) as caught:
        land_parts([bad_box, fine, bad_score], db)
    message = str(caught.value)
    assert "x1 is not a finite number" in message and "gender_score is not a finite number" in message
    assert str(bad_box) in message and str(bad_score) in message
    assert "1 other run folder(s) were landed (raw.runs +1, raw.images +1, raw.image_runs +1, raw.faces +1)" in message
    assert count(db, "select run_id from raw.runs") == [(_run_id(fine),)]


def test_ingest_land_of_a_colliding_run_is_one_sentence_and_exit_2(tmp_path):
    db = tmp_path / "w.duckdb"
    cats = _faces_parts(tmp_path / "cats", annotator="test/faces-a", dataset="cats")
    land_parts([cats], db)
    evil = _faces_parts(tmp_path / "evil", annotator="test/faces-b", dataset="dogs", run_id=_run_id(cats))
    result = runner.invoke(app, ["land", str(evil), "--db", str(db)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "different run" in result.output and "land only parts written by that run's own" in result.output
    assert count(db, "select count(*) from raw.images") == [(1,)]


def test_landing_the_same_run_again_is_still_fine(tmp_path):
    db = tmp_path / "w.duckdb"
    cats = _faces_parts(tmp_path / "cats", annotator="test/faces-a", dataset="cats")
    land_parts([cats], db)
    assert not any(land_parts([cats], db).added.values())


def _tamper(folder: Path, column: str, value: float) -> Path:
    """Write ``value`` into the faces part's ``column`` as a float (the schema refuses NaN scores,
    so an attacker writes the file directly)."""
    path = next(folder.glob("part-*/faces.parquet"))
    data = pq.read_table(path)
    index = data.schema.get_field_index(column)
    pq.write_table(data.set_column(index, column, pa.array([value], type=pa.float64())), path)
    return path


@pytest.mark.parametrize(("column", "value", "words"), [
    ("x1", float("nan"), "x1 is not a finite number"),
    ("y2", float("inf"), "y2 is not a finite number"),
    ("x2", float("-inf"), "x2 is not a finite number"),
    ("det_score", float("nan"), "det_score is not a finite number"),
    ("age", float("inf"), "age is not a finite number"),
    ("det_raw_score", float("nan"), "det_raw_score is not a finite number"),
])
def test_land_refuses_non_finite_values_naming_the_file_and_column(tmp_path, column, value, words):
    db = tmp_path / "w.duckdb"
    folder = _faces_parts(tmp_path / "parts", annotator="test/faces-a", dataset="cats")
    path = _tamper(folder, column, value)
    with pytest.raises(CensusError) as caught:
        land_parts([folder], db)
    message = str(caught.value)
    assert str(path) in message and f"row 1: {words}" in message and "nothing of its run was landed" in message
    assert count(db, "select (select count(*) from raw.runs), (select count(*) from raw.faces)") == [(0, 0)]


def test_land_applies_the_importers_box_and_range_checks(tmp_path):
    db = tmp_path / "w.duckdb"
    folder = _faces_parts(tmp_path / "parts", annotator="test/faces-a", dataset="cats",
                          face={"x1": 5.0, "x2": 3.0, "age": 400.0})
    with pytest.raises(CensusError) as caught:
        land_parts([folder], db)
    assert "row 1: x2 is less than x1" in str(caught.value) and "row 1: age is above 150" in str(caught.value)
    assert count(db, "select count(*) from raw.faces") == [(0,)]


def test_an_older_warehouse_without_the_schemas_checks_gets_no_nan_score(tmp_path):
    """`create table if not exists` never adds the schema's CHECKs to an older table: there the
    value checks are what keeps a NaN score out."""
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    con.execute("create table raw.faces (run_id varchar not null, image_id varchar not null, face_idx integer "
                "not null, det_score double, x1 double, y1 double, x2 double, y2 double, age double, "
                "gender_score double, det_raw_score double, primary key (run_id, image_id, face_idx))")
    init_schema(con)
    con.close()
    folder = _faces_parts(tmp_path / "parts", annotator="test/faces-a", dataset="cats")
    _tamper(folder, "det_score", float("nan"))
    with pytest.raises(CensusError, match="row 1: det_score is not a finite number"):
        land_parts([folder], db)
    assert count(db, "select count(*) from raw.faces") == [(0,)]


def test_land_accepts_a_face_without_a_box(tmp_path):
    """Null boxes are fine (all four or none), as in an import."""
    db = tmp_path / "w.duckdb"
    folder = _faces_parts(tmp_path / "parts", annotator="test/faces-a", dataset="cats",
                          face={"x1": None, "y1": None, "x2": None, "y2": None, "age": None})
    assert land_parts([folder], db).added["faces"] == 1


# -- `ingest labels audit`: built-in names are never shadowed; unreadable files are one sentence --


def test_a_file_named_like_a_built_in_label_set_is_refused(tmp_path, monkeypatch):
    from ingest.labels.label_audit import label_set

    monkeypatch.chdir(tmp_path)
    Path("ilsvrc1k.txt").write_text("n02123045\nn00007846\n")
    for name in ("ilsvrc1k.txt", "./ilsvrc1k.txt", str(tmp_path / "ilsvrc1k.txt")):
        with pytest.raises(CensusError, match="built-in label set ilsvrc1k"):
            label_set(name)
    db = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["labels", "audit", "ilsvrc1k.txt", "--db", str(db)])
    assert result.exit_code == 2 and "Traceback" not in result.output and "rename the file" in result.output
    assert not db.exists()  # nothing written


def test_a_built_in_name_means_the_built_in_set_even_beside_a_file_of_that_name(tmp_path, monkeypatch):
    from ingest.labels.label_audit import label_set

    monkeypatch.chdir(tmp_path)
    Path("ilsvrc1k").write_text("n02123045\n")
    assert len(label_set("ilsvrc1k")) == 1000
    Path("IMAGENET21K.TXT").write_text("n02123045\n")
    with pytest.raises(CensusError, match="built-in label set imagenet21k"):
        label_set("IMAGENET21K.TXT")
    Path("mine.txt").write_text("n02123045\n\nn00007846\n")
    assert label_set("mine.txt") == ["n02123045", "n00007846"]


@pytest.mark.parametrize(("content", "words"), [
    (b"", "has no wnids"),
    (b"  \n\n \t\n", "has no wnids"),
    (b"n02123045\nn00007846 caf\xe9\n", "is not UTF-8 text: line 2"),
])
def test_an_empty_or_non_utf8_label_file_is_one_sentence(tmp_path, content, words):
    path = tmp_path / "labels.txt"
    path.write_bytes(content)
    db = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["labels", "audit", str(path), "--db", str(db)])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "Traceback" not in output and words in output and path.name in output
    assert not db.exists()


def test_a_label_file_with_a_byte_order_mark_is_read(tmp_path):
    from ingest.labels.label_audit import label_set

    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfn02123045\r\nn00007846\r\n")
    assert label_set(str(path)) == ["n02123045", "n00007846"]


# -- `ingest import`: a column twice is refused, for every kind ---------------------------------

DATASET = "dupds"
PATHS = ["train/n02123045/a.JPEG", "train/n02123045/b.JPEG"]


@pytest.fixture()
def small_db(tmp_path) -> Path:
    """A warehouse holding two images of one dataset (plain INSERTs, no model run)."""
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    init_schema(con)
    for i, rel in enumerate(PATHS):
        con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path, width, height) "
                    "values (?, ?, 'train', 'n02123045', ?, 100, 100)", [f"img{i}", DATASET, rel])
    con.close()
    return db


def _landed(db: Path) -> list[tuple]:
    return count(db, "select (select count(*) from raw.runs), (select count(*) from raw.faces), "
                     "(select count(*) from raw.nsfw), (select count(*) from raw.reviews)")


CSV_FILES = {
    "faces": "rel_path,det_score,x1,y1,x2,y2,x1,age,gender_score\n"
             f"{PATHS[0]},0.99,1,1,10,10,50,30,0.5\n",
    "nsfw": f"rel_path,nsfw_score, nsfw_score\n{PATHS[0]},0.1,0.9\n",
    "predictions": f"rel_path,rank,wnid,prob,rank\n{PATHS[0]},1,n02123045,0.6,2\n",
    "reviews": "reviewer,rel_path,question,answer,answer\n"
               f"imp-a,{PATHS[0]},nsfw_category,not_nsfw,upskirt\n",
}
DUPLICATED = {"faces": "x1", "nsfw": "nsfw_score", "predictions": "rank", "reviews": "answer"}


@pytest.mark.parametrize("kind", list(CSV_FILES))
def test_a_csv_with_a_column_twice_is_refused_naming_it(small_db, tmp_path, kind):
    path = tmp_path / f"{kind}.csv"
    path.write_text(CSV_FILES[kind])
    args = ["import", str(path), "--kind", kind, "--dataset", DATASET, "--db", str(small_db)]
    result = runner.invoke(app, args if kind == "reviews" else [*args, "--annotator", "x/y"])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "Traceback" not in output and f"more than once: {DUPLICATED[kind]}" in output
    assert "nothing was imported" in output.lower()
    assert _landed(small_db) == [(0, 0, 0, 0)]


def test_a_parquet_with_a_column_twice_is_refused(small_db, tmp_path):
    from ingest.warehouse.importer import import_file

    path = tmp_path / "faces.parquet"
    pq.write_table(pa.table([pa.array([PATHS[0]]), pa.array([0.99]), pa.array([1.0]), pa.array([0.4])],
                            names=["rel_path", "det_score", "age", " age"]), path)
    with pytest.raises(CensusError, match="more than once: age"):
        import_file(path, kind="faces", annotator="x/y", dataset=DATASET, db=small_db)
    exact = tmp_path / "nsfw.parquet"  # the same name twice: pyarrow writes it, but cannot read it by name
    pq.write_table(pa.table([pa.array([PATHS[0]]), pa.array([0.1]), pa.array([0.9])],
                            names=["rel_path", "nsfw_score", "nsfw_score"]), exact)
    with pytest.raises(CensusError, match="more than once: nsfw_score"):
        import_file(exact, kind="nsfw", annotator="x/y", dataset=DATASET, db=small_db)
    assert _landed(small_db) == [(0, 0, 0, 0)]


def test_headers_are_trimmed_and_an_unnamed_index_column_is_still_ignored(small_db, tmp_path):
    from ingest.warehouse.importer import import_file

    path = tmp_path / "faces.csv"
    pd.DataFrame({"rel_path": PATHS, " det_score": [0.99, 0.9], "age ": [30, 40],
                  "gender_score": [0.5, 0.2]}).to_csv(path)  # with pandas' unnamed index column
    result = import_file(path, kind="faces", annotator="x/y", dataset=DATASET, db=small_db)
    assert result["rows"] == 2
    assert count(small_db, "select det_score, age from raw.faces order by age") == [(0.99, 30.0), (0.9, 40.0)]
