"""Incremental builds give the marts a full rebuild gives (issue 27).

int_image_outcomes, the per-image winning-run layer, is incremental: a build recomputes only
the images of runs it has not seen, and the whole annotator and stage of a run that changed or
vanished. The mart fixture's warehouse (marts_data) is built, new runs are written on top of
it (new images, re-runs of old images that win or fail, a late shard whose older start time
loses, a retry of an image that always failed, a resumed run that grows, a deleted run), the
build is repeated incrementally, and every mart and the outcome table itself must equal what
`dbt build --full-refresh` builds from the same raw rows on a copy of the file.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import duckdb
from marts_data import (
    CLF_A,
    FACES_A,
    FACES_B,
    NSFW,
    REPO,
    SHARED,
    TEST_VARS,
    build_raw,
    dbt_command,
    query,
    write_raw,
)

from ingest.core.config import dbt_env


def dbt_models(db_path: Path, work: Path, *flags: str, wait: bool = True, dbt_vars: dict | None = None):
    """Seeds and models, no tests (test_marts and `make dbt-test` run those); with wait false,
    the started process (finish it with `finished`)."""
    args = dbt_command("build", work, "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
                       *flags, dbt_vars=dbt_vars or TEST_VARS)
    process = subprocess.Popen(args, cwd=REPO, env=dbt_env(db_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    return finished(process) if wait else process


def finished(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-6000:]


def append_run(con: duckdb.DuckDBPyConnection, *, run_id: str, stage: str, annotator: str, dataset: str,
               started_at: str, n_new: int, n_rerun: int, error_per_mille: int = 100,
               status: str = "complete") -> None:
    """A run of `stage` by `annotator` over n_new new images of `dataset` (labels drawn from its
    images) and n_rerun of its images already there, about error_per_mille of them in error,
    with result rows for the ok ones: 0-2 faces, an NSFW score, or five predictions with the
    label at a drawn rank (or none). Plain SQL, so it scales to any warehouse."""
    con.execute("insert into raw.runs (run_id, stage, annotator, dataset, started_at, status) "
                "values (?, ?, ?, ?, ?, ?)", [run_id, stage, annotator, dataset, started_at, status])
    if n_new:
        con.execute(f"""
            insert into raw.images (image_id, dataset, split, wnid, rel_path)
            with pool as (
                select split, wnid, row_number() over (order by image_id) - 1 as k
                from raw.images where dataset = $dataset
            )
            select left(md5($run_id || '/' || i), 16), $dataset, pool.split, pool.wnid,
                   $run_id || '/' || i || '.jpg'
            from range({n_new}) as t(i)
            inner join pool on pool.k = hash($run_id, i) % (select count(*) from pool)
        """, {"run_id": run_id, "dataset": dataset})
    con.execute(f"""
        insert into raw.image_runs (run_id, image_id, status, error)
        with chosen as (
            select image_id from raw.images
            where dataset = $dataset and rel_path like $run_id || '/%'
            union all
            (select image_id from raw.images
             where dataset = $dataset and rel_path not like $run_id || '/%'
             order by hash(image_id, $run_id) limit {n_rerun})
        )
        select $run_id, image_id,
               case when hash(image_id, $run_id, 'error') % 1000 < {error_per_mille} then 'error' else 'ok' end,
               case when hash(image_id, $run_id, 'error') % 1000 < {error_per_mille} then 'boom' end
        from chosen
    """, {"run_id": run_id, "dataset": dataset})
    ok = """
        select image_runs.image_id, images.wnid, hash(image_runs.image_id, $run_id) as h
        from raw.image_runs inner join raw.images using (image_id)
        where image_runs.run_id = $run_id and image_runs.status = 'ok'
    """
    if stage == "faces":
        con.execute(f"""
            insert into raw.faces (run_id, image_id, face_idx, det_score, x1, y1, x2, y2, age, gender_score)
            select $run_id, ok.image_id, f.i, 0.5 + ((ok.h >> 8) + f.i * 37) % 500 / 1000,
                   10, 10, 60, 70, 1 + ((ok.h >> 16) + f.i * 13) % 80, ((ok.h >> 24) + f.i * 101) % 1001 / 1000
            from ({ok}) as ok cross join range(3) as f(i)
            where f.i < ok.h % 3
        """, {"run_id": run_id})
    elif stage == "nsfw":
        con.execute(f"""
            insert into raw.nsfw (run_id, image_id, nsfw_score)
            select $run_id, ok.image_id, (ok.h >> 8) % 1000 / 1000 from ({ok}) as ok
        """, {"run_id": run_id})
    elif stage == "classify":
        con.execute(f"""
            insert into raw.predictions (run_id, image_id, rank, wnid, prob)
            with labels as (select distinct wnid, row_number() over (order by wnid) - 1 as k
                            from (select distinct wnid from raw.images where dataset = $dataset))
            select $run_id, ok.image_id, r.rank,
                   case when ok.h % 7 = r.rank then ok.wnid else other.wnid end, 0.5 / r.rank
            from ({ok}) as ok
            cross join range(1, 6) as r(rank)
            inner join labels as other
                on other.k = hash(ok.image_id, r.rank) % (select count(*) from labels)
        """, {"run_id": run_id, "dataset": dataset})


def first_round(con: duckdb.DuckDBPyConnection) -> None:
    """New runs only: the cheap path, images of the new runs recomputed."""
    # a later face run: new images, re-runs that win, re-runs that fail (the old ok stays)
    append_run(con, run_id="run-fa-3", stage="faces", annotator=FACES_A, dataset="imagenet",
               started_at="2024-04-01 10:00:00", n_new=15, n_rerun=40, error_per_mille=250)
    # a shard that landed late but started before every other run of its annotator: it wins
    # only where no other run has the image ok
    append_run(con, run_id="run-fb-0", stage="faces", annotator=FACES_B, dataset="imagenet",
               started_at="2023-12-01 10:00:00", n_new=5, n_rerun=60)
    append_run(con, run_id="run-nsfw-2", stage="nsfw", annotator=NSFW, dataset="imagenet",
               started_at="2024-04-02 10:00:00", n_new=10, n_rerun=30)
    append_run(con, run_id="run-clf-a-2", stage="classify", annotator=CLF_A, dataset="imagenet",
               started_at="2024-04-03 10:00:00", n_new=10, n_rerun=30, status="running")
    # the image that failed in every face run of the shared dataset finally succeeds
    failed = con.execute(
        "select image_id from raw.image_runs where run_id = 'run-fa-copy-retry' and status = 'error'").fetchone()[0]
    con.execute("insert into raw.runs (run_id, stage, annotator, dataset, started_at, status) "
                "values ('run-fa-copy-retry-2', 'faces', ?, ?, '2024-04-04 10:00:00', 'complete')", [FACES_A, SHARED])
    con.execute("insert into raw.image_runs (run_id, image_id, status) values ('run-fa-copy-retry-2', ?, 'ok')",
                [failed])
    con.execute("insert into raw.faces (run_id, image_id, face_idx, det_score, x1, y1, x2, y2, age, gender_score) "
                "values ('run-fa-copy-retry-2', ?, 0, 0.97, 1, 1, 40, 40, 33, 0.2)", [failed])


def second_round(con: duckdb.DuckDBPyConnection) -> None:
    """Runs that changed: the resumed classifier run grows, the failed classifier run is
    deleted with its rows; their annotators' images are recomputed whole."""
    grown = con.execute("""
        select image_id from raw.images
        where dataset = 'imagenet'
          and image_id not in (select image_id from raw.image_runs where run_id = 'run-clf-a-2')
        order by image_id limit 12
    """).fetchall()
    for (image_id,) in grown:
        con.execute("insert into raw.image_runs (run_id, image_id, status) values ('run-clf-a-2', ?, 'ok')", [image_id])
        con.execute("insert into raw.predictions (run_id, image_id, rank, wnid, prob) "
                    "select 'run-clf-a-2', image_id, 1, wnid, 0.9 from raw.images where image_id = ?", [image_id])
    for table in ("predictions", "image_runs", "runs"):
        con.execute(f"delete from raw.{table} where run_id = 'run-clf-b'")


#: the incremental tables of schema intermediate: the layer and the per-image models after it
INCREMENTAL = ["intermediate.int_image_outcomes", "intermediate.int_kept_faces"]


def mart_rows(db_path: Path, tables: list[str] | None = None) -> dict[str, list[tuple]]:
    """Every mart (schema main) and the incremental intermediate tables (but when each row was
    built), or the named tables: table name -> rows."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        if tables is None:
            tables = [row[0] for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main' order by 1"
            ).fetchall()] + INCREMENTAL
        return {table: con.execute(f"select * exclude (built_at) from {table}" if table.endswith("_outcomes")
                                   else f"select * from {table}" if "." in table
                                   else f"select * from main.{table}").fetchall()
                for table in tables}
    finally:
        con.close()


def sort_key(row: tuple) -> tuple:
    """A total order on rows of mixed types and NULLs; doubles rounded, so that two builds whose
    sums differ in the last bits (DuckDB adds in parallel, in no fixed order) sort alike."""
    def key(value):
        if value is None:
            return (0, 0)
        if isinstance(value, float):
            return (1, "nan") if math.isnan(value) else (2, round(value, 6))
        if isinstance(value, (bool, int)):
            return (2, value)
        return (3, str(value))
    return tuple(key(value) for value in row)


def same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_same_marts(incremental: Path, full: Path, tables: list[str] | None = None) -> None:
    got, want = mart_rows(incremental, tables), mart_rows(full, tables)
    assert sorted(got) == sorted(want)
    assert len(got) > (0 if tables else 25)  # every mart, not an empty schema
    for table, rows in want.items():
        mine = sorted(got[table], key=sort_key)
        theirs = sorted(rows, key=sort_key)
        assert len(mine) == len(theirs), f"{table}: {len(mine)} rows incremental, {len(theirs)} full"
        for a, b in zip(mine, theirs, strict=True):
            assert all(same_value(x, y) for x, y in zip(a, b, strict=True)), f"{table}: {a} incremental, {b} full"


def test_incremental_build_equals_a_full_rebuild(tmp_path):
    db = tmp_path / "census.duckdb"
    write_raw(db, build_raw())
    dbt_models(db, tmp_path / "first")

    con = duckdb.connect(str(db))
    first_round(con)
    touched = con.execute("select count(*) from raw.image_runs where run_id in "
                          "('run-fa-3', 'run-fb-0', 'run-nsfw-2', 'run-clf-a-2', 'run-fa-copy-retry-2')").fetchone()[0]
    con.close()
    dbt_models(db, tmp_path / "incremental")
    compiled = (tmp_path / "incremental/target/compiled/census/models/intermediate/int_image_outcomes.sql").read_text()
    assert "as new_runs" in compiled  # the incremental path, not a rebuild
    con = duckdb.connect(str(db), read_only=True)
    ledger = con.execute("select count(*) from intermediate.int_image_outcomes_runs").fetchone()[0]
    n_runs = con.execute("select count(*) from raw.runs").fetchone()[0]
    builds = con.execute("select kind from intermediate.int_image_outcomes_builds order by seq").fetchall()
    con.close()
    assert touched > 150 and ledger == n_runs == 18
    assert builds == [("full",), ("runs",)]
    # new runs only: the per-image models read just the images the layer rewrote
    assert_reads_only_rewritten_images(db, tmp_path / "incremental")
    first = tmp_path / "first.duckdb"
    shutil.copy(db, first)
    first_full = tmp_path / "first-full.duckdb"
    shutil.copy(db, first_full)
    rebuild_first = dbt_models(first_full, tmp_path / "first-full", "--full-refresh", wait=False)

    con = duckdb.connect(str(db))
    second_round(con)
    con.close()
    full = tmp_path / "full.duckdb"
    shutil.copy(db, full)
    # the builds side by side: separate files and target folders
    rebuild = dbt_models(full, tmp_path / "full", "--full-refresh", wait=False)
    dbt_models(db, tmp_path / "incremental-2")
    finished(rebuild_first)
    finished(rebuild)
    assert_same_marts(first, first_full)
    assert_same_marts(db, full)
    assert_built_at_marks_the_latest_build(db, full)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select kind from intermediate.int_image_outcomes_builds order by seq desc limit 1"
                       ).fetchone() == ("groups",)
    con.close()

    # other vars: a per-image model recomputes every image, as a full rebuild would
    changed = {**TEST_VARS, "face_min_score": 0.8}
    shutil.copy(db, full)
    rebuild = dbt_models(full, tmp_path / "vars-full", "--full-refresh", "--select", "int_kept_faces", wait=False,
                         dbt_vars=changed)
    dbt_models(db, tmp_path / "vars", "--select", "int_kept_faces", dbt_vars=changed)
    finished(rebuild)
    assert_same_marts(db, full, ["intermediate.int_kept_faces"])
    assert mart_rows(db, ["intermediate.int_kept_faces"]) != mart_rows(first, ["intermediate.int_kept_faces"])


def assert_reads_only_rewritten_images(db: Path, work: Path) -> None:
    """The per-image models read the layer's rows newer than its first build (the one they last
    read), which are the new runs' images only, and now record the second."""
    compiled = (work / "target/compiled/census/models/intermediate/int_kept_faces.sql").read_text()
    assert "results.built_at > (select since from intermediate.int_kept_faces_delta_since)" in compiled
    con = duckdb.connect(str(db), read_only=True)
    try:
        first, second = con.execute("select cast(built_at as varchar) from intermediate.int_image_outcomes_builds "
                                    "order by seq").fetchall()
        consumed = con.execute("select layer_seq, cast(layer_built_at as varchar) "
                               "from intermediate.int_kept_faces_consumed").fetchall()
        newer, n = con.execute("select count(*) filter (where built_at > cast(? as timestamp)), count(*) "
                               "from intermediate.int_image_outcomes", [first[0]]).fetchone()
    finally:
        con.close()
    log = " ".join((work / "logs/dbt.log").read_text().split())
    assert f"int_kept_faces_delta_since as select cast('{first[0]}' as timestamp) as since" in log
    assert consumed == [(2, second[0])] and 0 < newer < n / 2


def assert_built_at_marks_the_latest_build(incremental: Path, full: Path) -> None:
    """built_at, which the layer's key check reads, is every row's after a full build and the
    recomputed images' after an incremental one."""
    def builds(db):
        return query(db, "select count(*) as n, count(*) filter (where built_at = (select max(built_at) "
                         "from intermediate.int_image_outcomes)) as latest "
                         "from intermediate.int_image_outcomes").iloc[0].tolist()
    n_full, latest_full = builds(full)
    n_incremental, latest_incremental = builds(incremental)
    assert latest_full == n_full and 0 < latest_incremental < n_incremental / 2
