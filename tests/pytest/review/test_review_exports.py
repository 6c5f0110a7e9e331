"""`ingest export blocklist` and `ingest export blurred` on the review world."""

from __future__ import annotations

import json
import os
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps
from review_world import ASTRONAUT, CAT, DATASET, FACES_A, NSFW_SCORES, PNG, ROTATED, SUIT, SURVEYED
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.errors import CensusError
from ingest.outputs.exports.blocklist import export_blocklist
from ingest.outputs.exports.blurred import export_blurred, grow

runner = CliRunner()


def query(db, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_blocklist_lists_confirmed_flags_with_their_evidence(review_world, tmp_path):
    result = runner.invoke(app, ["export", "blocklist", "--out", str(tmp_path / "bl"),
                                 "--db", str(review_world.db)])
    assert result.exit_code == 0, result.output
    assert "2 rows for 1 images" in result.output
    csv = pd.read_csv(tmp_path / "bl" / "blocklist.csv")
    parquet = pd.read_parquet(tmp_path / "bl" / "blocklist.parquet")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    assert list(csv.columns) == ["dataset", "rel_path", "image_id", "reason", "evidence"]
    assert sorted(csv.reason) == ["apparent_minor", "nsfw:beach_voyeur"]
    assert set(csv.rel_path) == {SURVEYED} and set(csv.dataset) == {DATASET}
    evidence = {row.reason: json.loads(row.evidence) for row in csv.itertuples()}
    nsfw = evidence["nsfw:beach_voyeur"]
    assert nsfw["nsfw_score"] == NSFW_SCORES[SURVEYED]
    assert nsfw["review"] | {"last_reviewed_at": None} == {"answer": "beach_voyeur", "share": 1.0, "n_labels": 2,
                                                           "reviewers": "alice, bob", "last_reviewed_at": None}
    [face] = evidence["apparent_minor"]["faces"]
    assert (face["annotator"], face["face_idx"], face["age"], face["det_score"]) == (FACES_A, 1, 12.0, 0.97)
    with pytest.raises(CensusError, match="no images of dataset"):
        export_blocklist(tmp_path / "x", dataset="nope", db=review_world.db)
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(CensusError, match="no confirmed_flags table"):
        export_blocklist(tmp_path / "y", db=empty)


def _oriented(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"), dtype=float)


def _boxes(db, rel_path: str) -> list[tuple]:
    """The blurred boxes of an image: kept faces of every annotator, and the confirmed face."""
    return query(db, "select f.x1, f.y1, f.x2, f.y2 from intermediate.int_kept_faces k join staging.stg_faces f "
                     "using (run_id, image_id, face_idx) join raw.images i using (image_id) where i.rel_path = ? "
                     "union all select f.x1, f.y1, f.x2, f.y2 from main.confirmed_flags c "
                     "join raw.faces f using (image_id, face_idx) join raw.runs r using (run_id) "
                     "where c.question = 'is_face' and r.annotator = c.annotator and c.rel_path = ?",
                 [rel_path, rel_path])


@pytest.fixture(scope="module")
def blurred(review_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("blurred") / "copy"
    return out, export_blurred(review_world.root, out, dataset=DATASET, db=review_world.db)


def test_blurred_copy_has_the_same_files_and_counts_what_the_marts_count(review_world, blurred):
    out, report = blurred
    files = lambda root: sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())  # noqa: E731
    assert files(out) == files(review_world.root)
    for rel in ("README.txt", CAT):  # no face: byte for byte
        assert (out / rel).read_bytes() == (review_world.root / rel).read_bytes()
    [(n_faces,)] = query(review_world.db, "select sum(n_faces) from class_census where dataset = ?", [DATASET])
    assert report["faces_kept"] == n_faces == 4 * 9 + 2
    assert report["faces_confirmed_by_review"] == 1  # A's 0.88 box on SURVEYED, confirmed is_face yes
    assert report["faces_blurred"] == n_faces + 1
    assert report["images_blurred"] == 5 and report["files"] == 7
    assert report["images_failed"] == report["links_skipped"] == report["faces_without_box"] == 0


@pytest.mark.parametrize("rel_path", [SURVEYED, PNG, ROTATED, ASTRONAUT, SUIT])
def test_every_kept_face_is_blurred_and_the_rest_untouched(review_world, blurred, rel_path):
    out, _ = blurred
    before, after = _oriented(review_world.root / rel_path), _oriented(out / rel_path)
    assert before.shape == after.shape
    outside = np.ones(before.shape[:2], dtype=bool)
    for box in _boxes(review_world.db, rel_path):
        x1, y1, x2, y2 = grow(box, 0.2, (before.shape[1], before.shape[0]))
        inner = (slice(int(box[1]) + 1, int(box[3]) - 1), slice(int(box[0]) + 1, int(box[2]) - 1))
        # the face region changes: its fine detail is gone
        sharp = np.abs(np.diff(before[inner].mean(axis=2), axis=1)).mean()
        assert np.abs(np.diff(after[inner].mean(axis=2), axis=1)).mean() < 0.5 * sharp, box
        outside[max(0, y1 - 8):y2 + 8, max(0, x1 - 8):x2 + 8] = False
    difference = np.abs(before - after)[outside]
    if rel_path == PNG:
        assert difference.max() == 0  # lossless: identical outside the boxes
    else:
        assert difference.mean() < 1.5  # JPEG: re-encode noise only (same quantisation tables)


def test_exif_is_kept(review_world, blurred):
    out, _ = blurred
    with Image.open(out / SURVEYED) as image:
        assert image.getexif()[0x013B] == "census test"
    with Image.open(out / ROTATED) as image, Image.open(review_world.root / ROTATED) as source:
        assert image.getexif()[0x0112] == 6 and image.size == source.size


def test_one_annotator_matches_its_class_census_counts(review_world, tmp_path):
    out = tmp_path / "a-only"
    result = runner.invoke(app, ["export", "blurred", str(review_world.root), "--out", str(out), "--annotator",
                                 FACES_A, "--json", "--db", str(review_world.db)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    [(faces, images)] = query(review_world.db, "select sum(n_faces), sum(n_images_with_faces) from class_census "
                                               "where dataset = ? and annotator = ?", [DATASET, FACES_A])
    assert (report["faces_kept"], report["images_blurred"]) == (faces, images) == (4 * 4 + 1, 5)


def test_never_writes_into_the_source_or_follows_links_out(review_world, tmp_path):
    root = tmp_path / DATASET
    shutil.copytree(review_world.root, root)
    for out in (root, root / "copy", root / "train" / "copy"):
        with pytest.raises(CensusError, match="Refusing to write into the source dataset"):
            export_blurred(root, out, dataset=DATASET, db=review_world.db)
    assert not (root / "copy").exists() and not (root / "train" / "copy").exists()
    (tmp_path / "into").symlink_to(root / "train")
    with pytest.raises(CensusError, match="Refusing"):
        export_blurred(root, tmp_path / "into", dataset=DATASET, db=review_world.db)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(CensusError, match="not empty"):
        export_blurred(root, busy, dataset=DATASET, db=review_world.db)
    result = runner.invoke(app, ["export", "blurred", str(root), "--out", str(root / "c"),
                                 "--db", str(review_world.db)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (root / "link.txt").symlink_to(secret)
    (root / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    (root / "inner.txt").symlink_to(root / "README.txt")
    out = tmp_path / "out"
    report = export_blurred(root, out, dataset=DATASET, db=review_world.db)
    assert report["links_skipped"] == 2
    assert not (out / "link.txt").exists() and not (out / "linked_dir").exists()
    assert (out / "inner.txt").read_text() == (root / "README.txt").read_text()  # a link inside the root: its content
    assert not os.path.islink(out / "inner.txt")
