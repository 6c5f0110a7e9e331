"""Reference labels as an annotator (DESIGN.md, "Reference labels and measured annotator error"):
the faces import of a `reference/<name>` annotator, raw.face_attributes, merge, and the hand
labels that ship with the demo, carried through the demo's variants."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ingest.core.config import SCHEMA_SQL
from ingest.core.errors import CensusError
from ingest.devtools.demo import (
    REFERENCE_ANNOTATOR,
    REFERENCE_FILE,
    SOURCES,
    VARIANTS,
    _variant,
    build_demo,
    source_labels,
    source_path,
    variant_box,
)
from ingest.warehouse.importer import AlreadyImported, import_file
from ingest.warehouse.merge import merge_warehouse

DATASET = "bench"
# rel_path -> (width, height); NULL size for the last one (a file never decoded)
IMAGES = {"a.jpg": (100, 80), "b.jpg": (200, 100), "c.jpg": (50, 50), "d.jpg": (None, None)}


def image_id(rel_path: str) -> str:
    return hashlib.sha256(f"{DATASET}/{rel_path}".encode()).hexdigest()[:16]


def make_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute(SCHEMA_SQL.read_text())
        for rel, (w, h) in IMAGES.items():
            con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path, width, height) "
                        "values (?, ?, 'val', 'x', ?, ?, ?)", [image_id(rel), DATASET, rel, w, h])
    finally:
        con.close()
    return path


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def write(tmp_path: Path, rows: list[dict], name: str = "labels.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def counts(db: Path) -> tuple:
    return query(db, "select (select count(*) from raw.runs), (select count(*) from raw.image_runs), "
                     "(select count(*) from raw.faces), (select count(*) from raw.face_attributes)")[0]


def test_a_boxes_csv_lands_as_a_reference(tmp_path):
    db = make_warehouse(tmp_path / "w.duckdb")
    path = write(tmp_path, [
        {"rel_path": "a.jpg", "x1": 10, "y1": 5, "x2": 40, "y2": 45, "gender": "female", "age": 31,
         "attr_skin_type": "V"},
        {"rel_path": "a.jpg", "x1": 50, "y1": 5, "x2": 100, "y2": 80, "gender": "M", "age": "",
         "attr_skin_type": ""},
        {"rel_path": "b.jpg", "x1": 0, "y1": 0, "x2": 200, "y2": 100, "gender": "", "age": 70,
         "attr_skin_type": "II"},
        {"rel_path": "c.jpg", "x1": "", "y1": "", "x2": "", "y2": "", "gender": "", "age": "",
         "attr_skin_type": ""},  # listed, no face: "no face here"
    ])
    result = import_file(path, kind="faces", annotator="reference/bench", dataset=DATASET, db=db)
    assert result["images"] == 3 and result["rows"] == 3
    assert result["extra_rows"] == {"face_attributes": 2}
    faces = query(db, "select i.rel_path, f.face_idx, f.det_score, f.x1, f.y1, f.x2, f.y2, f.age, f.gender_score "
                      "from raw.faces f join raw.images i using (image_id) order by 1, 2")
    assert faces == [("a.jpg", 0, 1.0, 10.0, 5.0, 40.0, 45.0, 31.0, 0.0),
                     ("a.jpg", 1, 1.0, 50.0, 5.0, 100.0, 80.0, None, 1.0),
                     ("b.jpg", 0, 1.0, 0.0, 0.0, 200.0, 100.0, 70.0, None)]
    assert query(db, "select i.rel_path, a.face_idx, a.attribute, a.value from raw.face_attributes a "
                     "join raw.images i using (image_id) order by 1") == [
        ("a.jpg", 0, "skin_type", "V"), ("b.jpg", 0, "skin_type", "II")]
    assert query(db, "select i.rel_path, ir.status from raw.image_runs ir join raw.images i using (image_id) "
                     "order by 1") == [("a.jpg", "ok"), ("b.jpg", "ok"), ("c.jpg", "ok")]
    assert query(db, "select stage, annotator, status from raw.runs") == [("faces", "reference/bench", "complete")]
    with pytest.raises(AlreadyImported):
        import_file(path, kind="faces", annotator="reference/bench", dataset=DATASET, db=db)


BAD = [
    ({"rel_path": "a.jpg", "x1": 10, "y1": 5, "x2": 101, "y2": 45},
     "row 2: the box (10, 5, 101, 45) is outside the image of 100 x 80 pixels"),
    ({"rel_path": "a.jpg", "x1": -1, "y1": 5, "x2": 10, "y2": 45}, "row 2: the box (-1, 5, 10, 45) is outside"),
    ({"rel_path": "d.jpg", "x1": 0, "y1": -0.5, "x2": 10, "y2": 45}, "row 2: the box (0, -0.5, 10, 45) is outside"),
    ({"rel_path": "a.jpg", "x1": 10, "y1": 5, "x2": 10, "y2": 45}, "row 2: x2 is not greater than x1"),
    ({"rel_path": "a.jpg", "x1": 10, "y1": 50, "x2": 20, "y2": 45}, "row 2: y2 is not greater than y1"),
    ({"rel_path": "nope.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5}, "row 2: rel_path is not an image of dataset bench"),
    ({"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5, "det_score": 0.7},
     "row 2: det_score of a reference face is 1"),
    ({"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5, "gender_score": 0.3},
     "row 2: gender_score of a reference face is 0 or 1"),
    ({"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5, "gender": "x"}, "row 2: gender is not female or male"),
    ({"rel_path": "a.jpg", "x1": "", "y1": "", "x2": "", "y2": "", "age": 30},
     "row 2: a reference face needs a box"),
    ({"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": "", "y2": 5}, "row 2: a box needs all of x1, y1, x2, y2"),
    ({"rel_path": "a.jpg", "x1": "", "y1": "", "x2": "", "y2": "", "attr_skin": "IV"},
     "row 2: attr_skin is given for a row with no face"),
]


@pytest.mark.parametrize(("row", "message"), BAD, ids=[m.split(": ", 1)[1][:30] for _, m in BAD])
def test_bad_reference_rows_are_refused_with_row_numbers(tmp_path, row, message):
    db = make_warehouse(tmp_path / "w.duckdb")
    good = {"rel_path": "b.jpg", "x1": 1, "y1": 1, "x2": 9, "y2": 9, "attr_skin": "I"}
    path = write(tmp_path, [row, good])
    with pytest.raises(CensusError) as caught:
        import_file(path, kind="faces", annotator="reference/bench", dataset=DATASET, db=db)
    assert message in str(caught.value) and "nothing was imported" in str(caught.value)
    assert counts(db) == (0, 0, 0, 0)


@pytest.mark.parametrize(("rows", "message"), [
    ([{"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5},
      {"rel_path": "b.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5},
      {"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5}],
     "row 4: duplicate face (the same image and box twice)"),
    ([{"rel_path": "a.jpg", "face_idx": 0, "x1": 1, "y1": 1, "x2": 5, "y2": 5},
      {"rel_path": "a.jpg", "face_idx": 0, "x1": 2, "y1": 1, "x2": 5, "y2": 5}],
     "row 3: duplicate (image, face_idx)"),
])
def test_duplicate_reference_faces_are_refused(tmp_path, rows, message):
    db = make_warehouse(tmp_path / "w.duckdb")
    with pytest.raises(CensusError, match=r"nothing was imported") as caught:
        import_file(write(tmp_path, rows), kind="faces", annotator="reference/bench", dataset=DATASET, db=db)
    assert message in str(caught.value)
    assert counts(db) == (0, 0, 0, 0)


def test_a_detector_keeps_its_looser_rules(tmp_path):
    """Only references need boxes inside the image: detectors' boxes often leave it a little."""
    db = make_warehouse(tmp_path / "w.duckdb")
    path = write(tmp_path, [{"rel_path": "a.jpg", "det_score": 0.95, "x1": -3, "y1": 0, "x2": 104, "y2": 30,
                             "age": 20, "gender_score": 0.3},
                            {"rel_path": "a.jpg", "det_score": 0.91, "x1": -3, "y1": 0, "x2": 104, "y2": 30,
                             "age": 20, "gender_score": 0.3}])
    assert import_file(path, kind="faces", annotator="det/x", dataset=DATASET, db=db)["rows"] == 2
    # a box with no score is a face row of a detector, so its score is missing (it never vanishes)
    path = write(tmp_path, [{"rel_path": "b.jpg", "det_score": "", "x1": 1, "y1": 1, "x2": 5, "y2": 5}], "b.csv")
    with pytest.raises(CensusError, match="row 2: det_score is empty for a face row"):
        import_file(path, kind="faces", annotator="det/x", dataset=DATASET, db=db)


def test_both_gender_columns_are_ambiguous(tmp_path):
    db = make_warehouse(tmp_path / "w.duckdb")
    path = write(tmp_path, [{"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5, "gender": "f",
                             "gender_score": 0}])
    with pytest.raises(CensusError, match="both gender and gender_score"):
        import_file(path, kind="faces", annotator="reference/bench", dataset=DATASET, db=db)


def test_face_attributes_merge_and_old_shards_without_them(tmp_path):
    shard = make_warehouse(tmp_path / "shard.duckdb")
    path = write(tmp_path, [{"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5, "attr_skin_type": "III"}])
    import_file(path, kind="faces", annotator="reference/bench", dataset=DATASET, db=shard)
    target = tmp_path / "target.duckdb"
    assert merge_warehouse(shard, target)["face_attributes"] == 1
    assert merge_warehouse(shard, target)["face_attributes"] == 0
    old = make_warehouse(tmp_path / "old.duckdb")  # written before raw.face_attributes existed
    con = duckdb.connect(str(old))
    con.execute("drop table raw.face_attributes")
    con.close()
    added = merge_warehouse(old, tmp_path / "target2.duckdb")
    assert added["images"] == len(IMAGES) and "face_attributes" not in added


# ---------------------------------------------------------------- the shipped demo labels


def test_every_demo_photo_is_labelled_inside_its_pixels():
    labels = source_labels()
    assert set(labels) == {(package, name) for package, name, _ in SOURCES}
    n_faces = 0
    for (package, name), faces in labels.items():
        width, height = Image.open(source_path(package, name)).size
        for face in faces:
            x1, y1, x2, y2 = (float(face[c]) for c in ("x1", "y1", "x2", "y2"))
            assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, (name, face)
            assert face["gender"] in ("female", "male") and 0 < float(face["age"]) < 100
            n_faces += 1
    assert n_faces == 9
    assert labels[("insightface", "images/t1.jpg")] and not labels[("skimage", "chelsea.png")]


@pytest.mark.parametrize("kind", VARIANTS)
def test_variant_boxes_follow_the_pixels(kind):
    """A white rectangle drawn on a photo-sized canvas lands where variant_box says, within the
    blur of the resampling (a pixel and a half)."""
    size = (1280, 886)
    box = (300, 120, 420, 260)
    canvas = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    canvas[box[1]:box[3], box[0]:box[2]] = 255
    image = np.asarray(_variant(Image.fromarray(canvas), kind).convert("L"), dtype=float)
    ys, xs = np.nonzero(image > 127)
    found = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    expected = variant_box(box, size, kind)
    assert np.allclose(found, expected, atol=1.5), (found, expected)


def test_a_face_mostly_cut_by_the_crop_is_left_out():
    size = (1200, 600)  # the crop keeps x in [100, 1100)
    assert variant_box((1040, 100, 1140, 200), size, "crop") is not None  # 60 % stays
    assert variant_box((1060, 100, 1160, 200), size, "crop") is None  # 40 % stays


def test_the_demo_reference_imports_cleanly(tmp_path):
    """Every demo image is listed (with its faces or as "no face here") and passes the checks
    against the images' real sizes."""
    root = tmp_path / "demo"
    count = build_demo(root)
    with (root / REFERENCE_FILE).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len({r["rel_path"] for r in rows}) == count
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(SCHEMA_SQL.read_text())
    for rel in {r["rel_path"] for r in rows}:
        width, height = Image.open(root / rel).size
        con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path, width, height) "
                    "values (?, 'demo', 'train', 'x', ?, ?, ?)", [rel, rel, width, height])
    con.close()
    result = import_file(root / REFERENCE_FILE, kind="faces", annotator=REFERENCE_ANNOTATOR, dataset="demo",
                         db=db)
    # 9 faces in 4 photos, 5 variants each, less the one face the crop cuts to 40 %
    assert result == {"run_id": result["run_id"], "images": count, "rows": 44,
                      "extra_rows": {"face_attributes": 44}}


def test_the_cli_imports_a_reference_once(tmp_path):
    from typer.testing import CliRunner

    from ingest.cli import app

    db = make_warehouse(tmp_path / "w.duckdb")
    path = write(tmp_path, [{"rel_path": "a.jpg", "x1": 1, "y1": 1, "x2": 5, "y2": 5, "attr_pose": "profile"},
                            {"rel_path": "c.jpg"}])
    args = ["import", str(path), "--kind", "faces", "--annotator", "reference/bench", "--dataset", DATASET,
            "--db", str(db)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 images, 1 faces rows, 1 face_attributes rows" in " ".join(first.output.split())
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "already imported" in again.output
    skipped = CliRunner().invoke(app, [*args, "--skip-if-imported"])
    assert skipped.exit_code == 0 and "already imported" in skipped.output
    assert counts(db)[:3] == (1, 2, 1)
