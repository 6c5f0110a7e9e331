"""The analyst's front door: `ingest sql` (Harlequin read-only, or one query with -c) and
`ingest analyses list|run`, on the review tests' warehouse (one dbt build per session)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from marts_data import REPO, read_seed, run_dbt
from review_world import DATASET, FACES_A, FACES_B, FLAGGED
from typer.testing import CliRunner

from ingest.cli import app
from ingest.outputs.analyses import available, render

runner = CliRunner()
FLAT = "flatds"  # a folder/webdataset/Parquet-like dataset: one split, `all`


def ingest(*args: str):
    result = runner.invoke(app, [str(a) for a in args], terminal_width=200)
    assert "Traceback" not in result.output, result.output
    return result


def sql(db: Path, query: str, *more: str):
    return ingest("sql", "-c", query, "--db", db, *more)


def one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- ingest sql -c


def test_the_commands_have_help():
    for args in (["sql"], ["analyses"], ["analyses", "list"], ["analyses", "run"]):
        result = ingest(*args, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, (args, result.output)
    listing = ingest("--help").output
    assert " sql " in listing and " analyses " in listing


def test_a_query_prints_a_table(review_world):
    query = "select annotator, split, sum(n_images) as n_images from class_census group by all order by annotator"
    result = sql(review_world.db, query)
    assert result.exit_code == 0, result.output
    expected = duckdb.connect(str(review_world.db), read_only=True).execute(query).fetchall()
    lines = result.output.splitlines()
    assert any(line.split() == ["annotator", "split", "n_images"] for line in lines), result.output
    for annotator, split, n_images in expected:
        assert any(line.split() == [annotator, split, str(n_images)] for line in lines), result.output
    assert f"({len(expected)} row(s))" in result.output


def test_long_results_say_how_many_rows_are_shown(review_world):
    result = sql(review_world.db, "select range as n from range(1500)")
    assert result.exit_code == 0, result.output
    assert "(1,000 row(s) shown)" in result.output
    assert "only the first 1,000 rows are shown" in one_line(result.output)
    cells = [line.strip() for line in result.output.splitlines()]
    assert "999" in cells and "1000" not in cells


def test_csv_and_parquet_hold_the_whole_result(review_world, tmp_path):
    query = "select annotator, wnid, n_images, mean_gender, '=1+1' as formula from class_census order by all"
    expected = duckdb.connect(str(review_world.db), read_only=True).execute(query).df()

    result = sql(review_world.db, query, "--format", "csv", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert f"Wrote {len(expected)} row(s) to {tmp_path / 'query.csv'}" in one_line(result.output)
    written = pd.read_csv(tmp_path / "query.csv")
    assert list(written.columns) == list(expected.columns)
    assert (written.formula == "'=1+1").all()  # a spreadsheet shows it as text (csv_safe)
    pd.testing.assert_frame_equal(written.drop(columns="formula"), expected.drop(columns="formula"),
                                  check_dtype=False)

    result = sql(review_world.db, query, "--format", "parquet", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "query.parquet"), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["query.csv", "query.parquet"]  # no temporary left


@pytest.mark.parametrize(("args", "sentence"), [
    (["--format", "csv"], "--format csv writes a file: name its folder with --out DIR."),
    (["--out", "x"], "--out writes a file: add --format csv or --format parquet"),
])
def test_format_and_out_go_together(review_world, args, sentence):
    result = sql(review_world.db, "select 1", *args)
    assert result.exit_code == 2
    assert sentence in one_line(result.output)


@pytest.mark.parametrize(("query", "sentence"), [
    ("selec * from census_overview", 'The query is not valid SQL: syntax error at or near "selec"'),
    ("select * from no_such_mart", "Table with name no_such_mart does not exist"),
    ("drop table class_census", "would change the warehouse, which `ingest sql` opens read-only"),
    ("insert into raw.runs (run_id) values ('x')", "opens read-only"),
    ("select * from \"[bold]x\"", "Table with name [bold]x does not exist"),  # printed as written, not markup
    (" ; ", "The query is empty"),
])
def test_a_bad_query_is_one_sentence(review_world, query, sentence):
    mtime = review_world.db.stat().st_mtime_ns
    result = sql(review_world.db, query)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and sentence in one_line(result.output), result.output
    assert review_world.db.stat().st_mtime_ns == mtime
    assert duckdb.connect(str(review_world.db), read_only=True).execute(
        "select count(*) from class_census").fetchone()[0] > 0


def test_missing_table_names_the_way_to_the_tables(review_world):
    result = sql(review_world.db, "select * from no_such_mart")
    assert '`ingest sql -c "show all tables"` lists the tables' in one_line(result.output)


def test_no_warehouse_file_and_no_marts_yet(tmp_path):
    missing = tmp_path / "none.duckdb"
    result = sql(missing, "select 1")
    assert result.exit_code == 2
    assert f"No warehouse at {missing}: run `ingest init` or `ingest run` first." in one_line(result.output)
    assert not missing.exists()

    raw_only = tmp_path / "census.duckdb"
    assert ingest("init", "--db", raw_only).exit_code == 0
    for args in (["sql", "-c", "select * from census_overview"], ["analyses", "run", "table4_humans_of_imagenet"]):
        result = ingest(*args, "--db", raw_only)
        assert result.exit_code == 2
        assert f"The warehouse {raw_only} has no marts yet: run dbt build (make demo does)." in one_line(
            result.output)
    assert sql(raw_only, "select count(*) as n from raw.images").exit_code == 0  # raw tables are there to read


# ---------------------------------------------------------------- ingest sql (the console)


def test_the_console_is_harlequin_read_only_on_the_warehouse(review_world, monkeypatch):
    from ingest.outputs import sql as sql_module

    calls = []
    monkeypatch.setattr(sql_module, "_interactive", lambda: True)
    monkeypatch.setattr(sql_module.subprocess, "call", lambda command: calls.append(command) or 0)
    monkeypatch.setenv("CENSUS_DB", str(review_world.db))  # the default: config.database_path()
    result = ingest("sql")
    assert result.exit_code == 0, result.output
    assert calls == [[sys.executable, "-m", "harlequin", "--adapter", "duckdb", "--read-only",
                      str(review_world.db)]]
    import importlib.util

    assert importlib.util.find_spec("harlequin") is not None  # what the command runs is installed


def test_the_console_opens_a_warehouse_without_marts_with_a_note(tmp_path, monkeypatch):
    from ingest.outputs import sql as sql_module

    calls = []
    monkeypatch.setattr(sql_module, "_interactive", lambda: True)
    monkeypatch.setattr(sql_module.subprocess, "call", lambda command: calls.append(command) or 0)
    db = tmp_path / "census.duckdb"
    assert ingest("init", "--db", db).exit_code == 0
    result = ingest("sql", "--db", db)
    assert result.exit_code == 0, result.output
    assert f"The warehouse {db} has no marts yet: run dbt build (make demo does)." in one_line(result.output)
    assert calls and calls[0][-1] == str(db)


def test_the_console_says_what_it_needs(review_world, tmp_path, monkeypatch):
    import importlib.util

    from ingest.outputs import sql as sql_module

    monkeypatch.setattr(sql_module.subprocess, "call", lambda command: pytest.fail("launched"))
    result = ingest("sql", "--db", review_world.db)  # CliRunner: no terminal
    assert result.exit_code == 2
    assert "needs a terminal; pass a query with -c" in one_line(result.output)

    monkeypatch.setattr(sql_module, "_interactive", lambda: True)
    result = ingest("sql", "--db", tmp_path / "none.duckdb")
    assert result.exit_code == 2 and "No warehouse at" in result.output

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    result = ingest("sql", "--db", review_world.db)
    assert result.exit_code == 2
    assert "The SQL console needs Harlequin, which is not installed" in one_line(result.output)

    result = ingest("sql", "--db", review_world.db, "--format", "csv")
    assert result.exit_code == 2 and "--format and --out go with a query" in one_line(result.output)


# ---------------------------------------------------------------- ingest analyses


def test_analyses_list_names_every_file():
    result = ingest("analyses", "list")
    assert result.exit_code == 0, result.output
    names = sorted(p.stem for p in (REPO / "analyses").glob("*.sql"))
    assert len(names) >= 9
    for name in names:
        assert name in result.output
    assert "Table 4 of the 2020 paper" in result.output


def test_analyses_run_prints_the_papers_table(review_world, tmp_path):
    name = "dulhanty2019_headline_shares"  # reads intermediate models: the review world has them
    result = ingest("analyses", "run", name, "--db", review_world.db)
    assert result.exit_code == 0, result.output
    for annotator in (FACES_A, FACES_B):
        assert any(line.split()[:2] == [annotator, DATASET] for line in result.output.splitlines()), result.output
    assert "(2 row(s))" in result.output

    result = ingest("analyses", "run", f"analyses/{name}.sql", "--db", review_world.db,
                    "--format", "csv", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / f"{name}.csv")
    assert sorted(table.annotator) == [FACES_A, FACES_B]
    assert {"pct_female", "pct_over_60", "largest_subgroup"} <= set(table.columns)


def test_analyses_run_names_what_is_missing(review_world):
    result = ingest("analyses", "run", "table_99", "--db", review_world.db)
    assert result.exit_code == 2
    text = one_line(result.output)
    assert "No analysis named 'table_99'; the analyses are: b6_human_delta_ttest," in text
    assert "table4_humans_of_imagenet" in text

    # the review world builds no accuracy marts
    result = ingest("analyses", "run", "b6_human_delta_ttest", "--db", review_world.db)
    assert result.exit_code == 2
    text = one_line(result.output)
    assert "The analysis b6_human_delta_ttest failed" in text and "human_delta_ttest does not exist" in text
    assert "run dbt build, as make demo does, if a mart is missing" in text


# ---------------------------------------------------------------- rows per dataset: train, else every split


@pytest.fixture(scope="module")
def flat_world(review_world, tmp_path_factory) -> Path:
    """The review world plus FLAT: the same faces and classes under split `all` (as a folder,
    webdataset or Parquet dataset lands), and for the ILSVRC-like dataset a val class that the
    train-only analyses must leave out. Rows added to the built tables, no second dbt build."""
    db = review_world.writable(tmp_path_factory.mktemp("flat"))
    dog = read_seed("akc_dog_groups").iloc[0]
    con = duckdb.connect(str(db))
    try:
        con.execute("insert into intermediate.int_kept_faces by name select * replace ('flatds' as dataset, "
                    "'all' as split) from intermediate.int_kept_faces where dataset = ?", [DATASET])
        con.execute("insert into intermediate.int_class_images by name select * replace ('flatds' as dataset, "
                    "'all' as split) from intermediate.int_class_images where dataset = ?", [DATASET])
        for dataset, split in ((DATASET, "train"), (DATASET, "val"), (FLAT, "all")):
            con.execute("insert into main.class_census by name select * replace (? as dataset, ? as split, "
                        "? as wnid) from main.class_census where dataset = ? and wnid = ?",
                        [dataset, split, dog.wnid, DATASET, FLAGGED])
        con.execute("create schema if not exists reference")
        for seed in ("seeds/akc_dog_groups.csv", "ingest/data/imagenet_classes.csv"):
            con.execute(f"create or replace table reference.{Path(seed).stem} as select * from read_csv(?)",
                        [str(REPO / seed)])
    finally:
        con.close()
    return db


def run_analysis(db: Path, name: str) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(render(available()[name], db.stem)).df()
    finally:
        con.close()


def test_headline_shares_use_train_else_every_split(flat_world):
    shares = run_analysis(flat_world, "dulhanty2019_headline_shares")
    by_dataset = {dataset: frame.drop(columns=["dataset", "split"]).reset_index(drop=True)
                  for dataset, frame in shares.groupby("dataset")}
    assert set(by_dataset) == {DATASET, FLAT}
    assert set(shares.loc[shares.dataset == DATASET, "split"]) == {"train"}
    assert set(shares.loc[shares.dataset == FLAT, "split"]) == {"all"}
    pd.testing.assert_frame_equal(by_dataset[FLAT], by_dataset[DATASET])  # the same faces, the same shares


def test_dog_groups_use_train_else_every_split(flat_world):
    dogs = run_analysis(flat_world, "figure14a_dog_groups")
    assert sorted(map(tuple, dogs[["dataset", "split"]].drop_duplicates().values)) == [(FLAT, "all"),
                                                                                       (DATASET, "train")]


def readme_queries() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Ask your own questions")[1].split("\n## ")[0]
    return re.findall(r'^ingest sql -c "\n(.*?)"$', section, flags=re.M | re.S)


def test_the_readme_queries_run(flat_world):
    queries = readme_queries()
    assert len(queries) == 3
    for query in queries:
        result = sql(flat_world, query)
        assert result.exit_code == 0, (query, result.output)
        assert "(0 row(s))" not in result.output, (query, result.output)


# ---------------------------------------------------------------- the renderer is dbt's compile


def _dbt(work: Path, *args: str) -> subprocess.CompletedProcess:
    return run_dbt(work / "census.duckdb", work, "compile", "--no-populate-cache", "--quiet", *args, timeout=300)


@pytest.fixture(scope="module")
def dbt_work(tmp_path_factory) -> Path:
    """One target folder for both compiles: the second reuses the first's parse of the project."""
    return tmp_path_factory.mktemp("compile")


def test_analyses_render_as_dbt_compiles_them(dbt_work):
    result = _dbt(dbt_work, "--select", "path:analyses")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    compiled = dbt_work / "target" / "compiled" / "census" / "analyses"
    for name, analysis in available().items():
        assert render(analysis, "census") == (compiled / f"{name}.sql").read_text(), name
    assert not (dbt_work / "census.duckdb").exists()  # compiling opened no warehouse


def test_project_macros_render_as_dbt_compiles_them(dbt_work):
    """return(), a macro calling its neighbour in the file, vars, ref and source, as an analysis may use them."""
    from ingest.outputs.analyses import Analysis

    text = ("select {{ age_bucket('age') }} as bucket, {{ safe_divide('a', 'b') }}, {{ var('face_min_score') }}, "
            "{{ wilson_interval('k', 'n', 'lo') }} from {{ ref('int_kept_faces') }} "
            "join {{ source('raw', 'images') }} using (image_id)")
    result = _dbt(dbt_work, "--inline", text)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    inline = dbt_work / "inline.sql"
    inline.write_text(text)
    assert render(Analysis("inline", inline), "census") == result.stdout.rstrip("\n")
