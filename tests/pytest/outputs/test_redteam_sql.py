"""Red-team cases of issue 11 around SQL and user-supplied values: merge injection and shard
schemas (2), self-merge (11), `synth` over a live warehouse (4), import values (10), card
tables and the importer's rel_path (17). Warehouses are built with a few INSERTs."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.errors import CensusError
from ingest.core.ids import image_id
from ingest.core.stages import raw_tables
from ingest.warehouse.db import connect, init_schema
from ingest.warehouse.importer import import_file
from ingest.warehouse.merge import merge_warehouse

runner = CliRunner()
PATHS = ("train/n01440764/a.JPEG", "train/n01440764/b.JPEG", "val/c.JPEG")
EVIL_COLUMN = "run_id) select 'x' where false; delete from raw.faces; --"
ATTACK_NAME = "x' as z; drop table raw.nsfw; attach 'y"


def make_warehouse(path: Path, *, tag: str = "a", dataset: str = "ds",
                   paths: tuple[str, ...] = PATHS, annotator: str = "dex/2019") -> Path:
    """A tiny census warehouse: images, one faces run and one NSFW run over them."""
    con = connect(path)
    try:
        init_schema(con)
        con.execute("insert into raw.runs (run_id, stage, annotator, dataset, status) values "
                    "(?, 'faces', ?, ?, 'complete'), (?, 'nsfw', 'nsfw/x', ?, 'complete')",
                    [f"faces-{tag}", annotator, dataset, f"nsfw-{tag}", dataset])
        for rel_path in paths:
            key = image_id(dataset, rel_path)
            split, wnid = rel_path.split("/")[0], "n01440764"
            con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values (?, ?, ?, ?, ?)",
                        [key, dataset, split, wnid, rel_path])
            con.execute("insert into raw.image_runs (run_id, image_id, status) values (?, ?, 'ok'), (?, ?, 'ok')",
                        [f"faces-{tag}", key, f"nsfw-{tag}", key])
            con.execute("insert into raw.faces (run_id, image_id, face_idx, det_score, age, gender_score) "
                        "values (?, ?, 0, 0.99, 30, 0.5)", [f"faces-{tag}", key])
            con.execute("insert into raw.nsfw (run_id, image_id, nsfw_score) values (?, ?, 0.1)",
                        [f"nsfw-{tag}", key])
    finally:
        con.close()
    return path


def counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in raw_tables()}
    finally:
        con.close()


def assert_one_sentence(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    text = " ".join(result.output.split())
    assert text.startswith("error:"), result.output
    for fragment in fragments:
        assert fragment in text, (fragment, result.output)


def execute(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


# -- item 2: merge must not run SQL from the shard's file name or column names -------------

@pytest.fixture()
def target(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "target.duckdb", tag="t")


def test_merge_reads_a_shard_whose_path_holds_a_quote(tmp_path, target):
    shard = make_warehouse(tmp_path / "it's a shard.duckdb", tag="s", paths=("train/n01440764/z.JPEG",))
    added = merge_warehouse(shard, target)
    assert added == {"runs": 2, "images": 1, "image_runs": 2, "faces": 1, "face_attributes": 0, "nsfw": 1,
                     "predictions": 0, "image_face_labels": 0, "captions": 0, "reviews": 0, "label_synsets": 0}


def test_merge_file_name_cannot_drop_the_targets_tables(tmp_path, target):
    folder = tmp_path / "in"
    folder.mkdir()
    shard = make_warehouse(folder / ATTACK_NAME, tag="s", paths=("train/n01440764/z.JPEG",))
    before = counts(target)
    result = runner.invoke(app, ["merge", str(shard), "--db", str(target)])
    assert result.exit_code == 0, result.output
    assert counts(target)["nsfw"] == before["nsfw"] + 1
    assert sorted(p.name for p in folder.iterdir()) == [ATTACK_NAME]  # no stray file attached
    assert not (tmp_path / "y").exists() and not Path("y").exists()


def test_merge_attack_name_that_is_no_warehouse_is_one_sentence(tmp_path, target):
    bogus = tmp_path / ATTACK_NAME
    bogus.write_text("not a database")
    before = counts(target)
    result = runner.invoke(app, ["merge", str(bogus), "--db", str(target)])
    assert_one_sentence(result, "Cannot open", "nothing was merged")
    assert counts(target) == before


def test_merge_refuses_a_shard_column_the_contract_does_not_know(tmp_path, target):
    shard = make_warehouse(tmp_path / "shard.duckdb", tag="s", paths=("train/n01440764/z.JPEG",))
    quoted = '"' + EVIL_COLUMN.replace('"', '""') + '"'
    execute(shard, f"alter table raw.runs add column {quoted} varchar")
    before = counts(target)
    with pytest.raises(CensusError, match="does not know"):
        merge_warehouse(shard, target)
    result = runner.invoke(app, ["merge", str(shard), "--db", str(target)])
    assert_one_sentence(result, "raw.runs", "nothing was merged")
    assert counts(target) == before


@pytest.mark.parametrize(("damage", "message"), [
    (["drop table raw.predictions"], "has no raw.predictions table"),
    (["alter table raw.runs drop column stage"], "lacks the required columns stage"),
    (["alter table raw.images alter column file_bytes type varchar"], "file_bytes is VARCHAR, not BIGINT"),
    (["alter table raw.images alter column width type bigint"], "width is BIGINT, not INTEGER"),
    (["create table raw.kept as select * from raw.nsfw", "drop table raw.nsfw",
      "create view raw.nsfw as select * from raw.kept"], "raw.nsfw in it is a view, not tables"),
])
def test_merge_checks_the_shard_schema_before_reading_a_row(tmp_path, target, damage, message):
    shard = make_warehouse(tmp_path / "shard.duckdb", tag="s", paths=("train/n01440764/z.JPEG",))
    execute(shard, *damage)
    before = counts(target)
    result = runner.invoke(app, ["merge", str(shard), "--db", str(target)])
    assert_one_sentence(result, message, "nothing was merged")
    assert counts(target) == before


def test_merge_accepts_a_shard_without_optional_columns(tmp_path, target):
    shard = make_warehouse(tmp_path / "old.duckdb", tag="s", paths=("train/n01440764/z.JPEG",))
    execute(shard, "alter table raw.runs drop column tool_version", "alter table raw.faces drop column det_raw_score")
    assert merge_warehouse(shard, target)["faces"] == 1


# -- item 11: a warehouse merged into itself ----------------------------------------------------

@pytest.mark.parametrize("how", ["same", "symlink", "relative", "hardlink"])
def test_merging_a_warehouse_into_itself_is_refused(tmp_path, target, monkeypatch, how):
    other = {"same": lambda: target, "relative": lambda: Path("target.duckdb")}.get(how)
    if how == "symlink":
        (tmp_path / "link.duckdb").symlink_to(target)
        other = lambda: tmp_path / "link.duckdb"  # noqa: E731
    if how == "hardlink":
        os.link(target, tmp_path / "hard.duckdb")
        other = lambda: tmp_path / "hard.duckdb"  # noqa: E731
    monkeypatch.chdir(tmp_path)
    before = counts(target)
    result = runner.invoke(app, ["merge", str(other()), "--db", str(target)])
    assert_one_sentence(result, "itself")
    assert counts(target) == before


# -- item 4: `ingest synth` over a warehouse that holds rows ------------------------------------

def test_synth_refuses_a_warehouse_with_rows_unless_forced(tmp_path, target):
    before = counts(target)
    result = runner.invoke(app, ["synth", "--scale", "0.0001", "--db", str(target)])
    assert_one_sentence(result, "raw.runs 2", "raw.images 3", "raw.faces 3", "--force")
    assert counts(target) == before
    forced = runner.invoke(app, ["synth", "--scale", "0.0001", "--force", "--db", str(target)])
    assert forced.exit_code == 0, forced.output
    assert counts(target)["runs"] == 6


def test_synth_writes_an_empty_or_new_warehouse(tmp_path):
    empty = tmp_path / "empty.duckdb"
    assert runner.invoke(app, ["init", "--db", str(empty)]).exit_code == 0
    for path in (empty, tmp_path / "new.duckdb"):
        result = runner.invoke(app, ["synth", "--scale", "0.0001", "--db", str(path)])
        assert result.exit_code == 0, result.output
        assert counts(path)["images"] > 0


# -- item 10: import values that are not whole, not finite or not a box -------------------------

@pytest.fixture()
def images_only(tmp_path: Path) -> Path:
    path = tmp_path / "imp.duckdb"
    con = connect(path)
    init_schema(con)
    for rel_path in PATHS:
        con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values (?, 'ds', 'train', "
                    "'n01440764', ?)", [image_id("ds", rel_path), rel_path])
    con.close()
    return path


FACE = {"rel_path": PATHS[0], "det_score": "0.9", "age": "30", "gender_score": "0.5"}
BOXED = {**FACE, "x1": "1", "y1": "2", "x2": "10", "y2": "20"}
INDEXED = {**FACE, "face_idx": "0"}
PRED = {"rel_path": PATHS[0], "rank": "1", "class_index": "5", "prob": "0.5"}
NSFW = {"rel_path": PATHS[0], "nsfw_score": "0.5"}


@pytest.mark.parametrize(("kind", "base", "column", "value", "message"), [
    ("faces", INDEXED, "face_idx", "0.5", "face_idx is not a whole number"),
    ("faces", INDEXED, "face_idx", "1e10", "face_idx is above 2147483647"),
    ("faces", INDEXED, "face_idx", "-1", "face_idx is below 0"),
    ("predictions", PRED, "rank", "1.5", "rank is not a whole number"),
    ("predictions", PRED, "class_index", "5.5", "class_index is not a whole number"),
    ("predictions", PRED, "prob", "inf", "prob is not a finite number"),
    ("faces", BOXED, "x2", "0", "x2 is less than x1"),
    ("faces", BOXED, "y2", "0", "y2 is less than y1"),
    ("faces", BOXED, "x1", "-inf", "x1 is not a finite number"),
    ("faces", BOXED, "x2", "inf", "x2 is not a finite number"),
    ("faces", BOXED, "y1", "nan", "y1 is not a finite number"),
    ("faces", BOXED, "y2", "", "a box needs all of x1, y1, x2, y2 or none"),
    ("faces", FACE, "det_score", "nan", "det_score is not a finite number"),
    ("faces", FACE, "age", "inf", "age is not a finite number"),
    ("faces", FACE, "gender_score", "-Infinity", "gender_score is not a finite number"),
    ("nsfw", NSFW, "nsfw_score", "NaN", "nsfw_score is not a finite number"),
])
def test_import_rejects_bad_numbers_with_row_numbers(tmp_path, images_only, kind, base, column, value, message):
    path = tmp_path / "rows.csv"
    pd.DataFrame([{**base, "rel_path": PATHS[1]}, {**base, column: value}]).to_csv(path, index=False)
    result = runner.invoke(app, ["import", str(path), "--kind", kind, "--annotator", "x/y",
                                 "--dataset", "ds", "--db", str(images_only)])
    assert_one_sentence(result, f"row 3: {message}", "nothing was imported")
    assert "row 2:" not in result.output
    assert counts(images_only)["runs"] == 0


def test_import_rejects_out_of_range_integers_in_parquet(tmp_path, images_only):
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"rel_path": [PATHS[0]], "face_idx": [10**10], "det_score": [0.9], "age": [30.0],
                  "gender_score": [0.5]}).to_parquet(path)
    with pytest.raises(CensusError, match="row 1: face_idx is above"):
        import_file(path, kind="faces", annotator="x/y", dataset="ds", db=images_only)


def test_import_accepts_whole_numbers_written_as_decimals(tmp_path, images_only):
    path = tmp_path / "rows.csv"
    pd.DataFrame([{**BOXED, "face_idx": "1.0"}]).to_csv(path, index=False)
    assert import_file(path, kind="faces", annotator="x/y", dataset="ds", db=images_only)["rows"] == 1
    con = duckdb.connect(str(images_only), read_only=True)
    assert con.execute("select face_idx, x1, y2 from raw.faces").fetchall() == [(1, 1.0, 20.0)]
    con.close()


# -- item 17: rel_path with a backslash; pipes and newlines in card cells ---------------------

def test_import_matches_a_stored_backslash_rel_path_exactly(tmp_path):
    db = make_warehouse(tmp_path / "w.duckdb", paths=("train/a\\b.jpg", "train/a/b.jpg", "train/c/d.jpg"))
    path = tmp_path / "nsfw.csv"
    pd.DataFrame({"rel_path": ["train/a\\b.jpg", "train\\c\\d.jpg"], "nsfw_score": [0.7, 0.2]}).to_csv(
        path, index=False)
    import_file(path, kind="nsfw", annotator="imp/1", dataset="ds", db=db)
    con = duckdb.connect(str(db), read_only=True)
    landed = con.execute("select i.rel_path, n.nsfw_score from raw.nsfw n join raw.images i using (image_id) "
                         "join raw.runs r using (run_id) where r.annotator = 'imp/1' order by 1").fetchall()
    con.close()
    assert landed == [("train/a\\b.jpg", 0.7), ("train/c/d.jpg", 0.2)]


MARTS = {
    "annotator_coverage": "annotator, stage, dataset, n_images_ok, n_images_error, n_result_rows",
    "census_overview": "annotator, dataset, split, n_images, n_images_with_faces, n_faces, n_women, n_men, "
                       "share_images_with_faces, mean_age_women, mean_age_men",
    "demographics": "annotator, n_faces, pct_female, pct_over_60, mean_age",
    "nsfw_clusters": "nsfw_annotator, face_annotator, dataset, wnid, mean_nsfw, mean_gender, mean_age, "
                     "is_review_shortlist",
    "class_minors": "annotator, dataset, wnid, split, n_faces, n_minors, n_infants, share_minors, "
                    "is_paper_child_class",
    "annotator_agreement": "annotator_a, annotator_b, dataset, split, n_classes, pearson_eta, "
                           "pearson_gender_skewness, pearson_mean_age",
    "human_delta_ttest": "classifier_annotator, face_annotator, dataset, n_top, n_rest, mean_top, mean_rest, "
                         "t_statistic, p_value",
}
EVIL_ANNOTATOR = "evil | model\nwith\\ a <b>newline</b>"


def _fake_marts(db: Path) -> None:
    """One row per mart the card reads, every text column holding the hostile annotator name."""
    con = duckdb.connect(str(db))
    for mart, columns in MARTS.items():
        names = [c.strip() for c in columns.split(",")]
        values = ["'n01440764'" if c == "wnid" else "true" if c.startswith("is_") else
                  "'train'" if c == "split" else "'faces'" if c == "stage" else
                  "$1" if "annotator" in c or c == "dataset" else "1" for c in names]
        select = ", ".join(f"{v} as {c}" for v, c in zip(values, names, strict=True))
        con.execute(f"create table main.{mart} as select {select}", [EVIL_ANNOTATOR])
    con.close()


def test_card_tables_survive_pipes_and_newlines_in_names(tmp_path):
    from markdown_it import MarkdownIt

    from ingest.outputs.card import build_card

    db = make_warehouse(tmp_path / "w.duckdb", annotator=EVIL_ANNOTATOR)
    _fake_marts(db)
    card = build_card(db, dataset=EVIL_ANNOTATOR)  # the fake marts' dataset beside the raw rows' "ds"
    widths: list[set[int]] = []
    previous = ""
    for line in card.splitlines():  # cells per source line (unescaped pipes), per table
        if line.startswith("|"):
            if not previous.startswith("|"):
                widths.append(set())
            widths[-1].add(len(re.split(r"(?<!\\)\|", line)))
        previous = line
    assert len(widths) == 7 and all(len(w) == 1 for w in widths), widths
    markdown = MarkdownIt("commonmark").enable("table")
    html = markdown.render(build_card(db, dataset=EVIL_ANNOTATOR))
    assert html.count("<td>evil | model<br>with\\ a &lt;b&gt;newline&lt;/b&gt;</td>") >= 7, html


def test_summary_prints_annotator_names_that_look_like_markup(tmp_path):
    from rich.console import Console

    from ingest.outputs.summary import print_summary

    db = make_warehouse(tmp_path / "w.duckdb", annotator="evil[/]model [bold]x")
    con = duckdb.connect(str(db))  # the coverage the summary prints comes from the mart
    con.execute("create table main.annotator_coverage as select annotator, stage, dataset, 1 as n_images_ok, "
                "0 as n_images_error, 1 as n_result_rows from raw.runs")
    con.close()
    console = Console(record=True, width=200)
    print_summary(console, db)
    assert "evil[/]model [bold]x" in console.export_text()


def test_merge_into_a_copy_is_a_no_op_and_keeps_rows(tmp_path, target):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(target, copy)
    assert sum(merge_warehouse(copy, target).values()) == 0
