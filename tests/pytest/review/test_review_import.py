"""`ingest import --kind reviews`: answers collected elsewhere land in raw.reviews, validated
like every import (row numbers; any problem rejects the whole file and nothing lands)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from review_world import ASTRONAUT, CAT, DATASET, FACES_A, FACES_B, SURVEYED
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.errors import CensusError
from ingest.review.importer import import_reviews

runner = CliRunner()


def rows_of(db) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select reviewer, image_id, annotator, face_idx, question, answer, reviewed_at, note "
                           "from raw.reviews where reviewer like 'imp-%' order by reviewer, question").fetchall()
    finally:
        con.close()


def test_a_valid_file_lands_once_and_a_second_import_is_refused(review_world, tmp_path):
    db = review_world.writable(tmp_path)
    path = tmp_path / "reviews.csv"
    pd.DataFrame({
        "reviewer": ["imp-ann", "imp-ann", "imp-ben", "imp-ben"],
        "rel_path": [SURVEYED, SURVEYED, f" {ASTRONAUT} ", SURVEYED],
        "question": ["nsfw_category", "is_face", "nsfw_category", "apparent_minor"],
        "answer": ["upskirt", "No", "not_nsfw", "unsure"],
        "annotator": ["", FACES_A, "", FACES_B],
        "face_idx": ["", "5", "", "0"],
        "reviewed_at": ["2024-05-01T10:00:00Z", "", "2024-05-02 08:30", "2024-05-03"],
        "note": ["", "a painting", "", ""],
    }).to_csv(path, index=False)
    result = runner.invoke(app, ["import", str(path), "--kind", "reviews", "--dataset", DATASET, "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "Imported 4 answers of 2 reviewers about 2 images" in result.output
    landed = rows_of(db)
    assert [(r[0], r[4], r[5], r[2], r[3]) for r in landed] == [
        ("imp-ann", "is_face", "no", FACES_A, 5), ("imp-ann", "nsfw_category", "upskirt", None, None),
        ("imp-ben", "apparent_minor", "unsure", FACES_B, 0), ("imp-ben", "nsfw_category", "not_nsfw", None, None)]
    assert str(landed[1][6]) == "2024-05-01 10:00:00" and landed[0][7] == "a painting"
    again = runner.invoke(app, ["import", str(path), "--kind", "reviews", "--dataset", DATASET, "--db", str(db)])
    assert again.exit_code == 2
    assert "row 2: imp-ann already answered this item (answers are never overwritten)" in again.output
    assert len(rows_of(db)) == 4


@pytest.mark.parametrize(
    ("frame", "messages"),
    [
        ({"reviewer": ["imp-x", "imp-x"], "rel_path": [SURVEYED, ASTRONAUT], "question": ["is_face", "nsfw_category"],
          "answer": ["maybe", "porn"], "annotator": [FACES_A, ""], "face_idx": [0, ""]},
         ["row 2: answer 'maybe' is not an answer to is_face (yes, no)",
          "row 3: answer 'porn' is not an answer to nsfw_category (beach_voyeur, exposed_private_parts, upskirt, "
          "verifiably_pornographic, not_nsfw)"]),
        ({"reviewer": ["imp-x", ""], "rel_path": ["nope.jpg", SURVEYED], "question": ["colour", "nsfw_category"],
          "answer": ["red", ""]},
         ["row 2: rel_path is not an image of dataset", "row 2: question is not one of nsfw_category, is_face, "
          "apparent_minor", "row 3: reviewer is needed", "row 3: answer is empty"]),
        ({"reviewer": ["imp-x"] * 4, "rel_path": [SURVEYED, SURVEYED, CAT, SURVEYED],
          "question": ["is_face", "nsfw_category", "apparent_minor", "is_face"],
          "answer": ["yes", "upskirt", "no", "no"],
          "annotator": ["", FACES_A, FACES_A, FACES_A], "face_idx": ["", "1", "0", "1.5"]},
         ["row 2: a face question needs annotator and face_idx", "row 3: an image question (nsfw_category) leaves "
          "annotator and face_idx empty", f"row 4: the image has no face 0 of annotator {FACES_A}",
          "row 5: face_idx is not a whole number"]),
        ({"reviewer": ["imp-x", "imp-x"], "rel_path": [SURVEYED, SURVEYED], "question": ["nsfw_category"] * 2,
          "answer": ["upskirt", "not_nsfw"], "reviewed_at": ["yesterday", ""]},
         ["row 2: reviewed_at is not a date and time", "row 3: duplicate answer of this reviewer to this item"]),
    ],
)
def test_bad_answers_are_rejected_with_row_numbers_and_nothing_lands(review_world, tmp_path, frame, messages):
    db = review_world.writable(tmp_path)
    path = tmp_path / "bad.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    with pytest.raises(CensusError) as caught:
        import_reviews(path, dataset=DATASET, db=db)
    for message in messages:
        assert message in str(caught.value)
    assert "nothing was imported" in str(caught.value)
    assert rows_of(db) == []


def test_missing_columns_and_default_annotator(review_world, tmp_path):
    db = review_world.writable(tmp_path)
    path = tmp_path / "r.parquet"
    pd.DataFrame({"reviewer": ["imp-p"], "rel_path": [SURVEYED], "question": ["is_face"], "answer": ["yes"],
                  "face_idx": [2]}).to_parquet(path)
    assert import_reviews(path, dataset=DATASET, annotator=FACES_A, db=db)["rows"] == 1
    assert rows_of(db)[0][2:4] == (FACES_A, 2)
    pd.DataFrame({"reviewer": ["imp-p"], "rel_path": [SURVEYED], "answer": ["yes"]}).to_csv(tmp_path / "c.csv")
    with pytest.raises(CensusError, match="needs the column question"):
        import_reviews(tmp_path / "c.csv", dataset=DATASET, db=db)
