"""Data tests that the warehouse already enforces read no row; without the constraint they do.

The raw schema's PRIMARY KEYs and isfinite CHECKs make DuckDB refuse a duplicate key or a NaN
at INSERT, so the unique and finite tests on those columns compile to an empty select (at
ImageNet-21k size they read 14-142M rows each). An older warehouse, or a table an external tool
created without the constraints, still gets the full tests, and they still find bad rows."""

import json

import duckdb
from marts_data import SCHEMA_SQL, run_dbt

SELECT = ["--select", "source:raw.images", "source:raw.predictions"]


def _statuses(work) -> dict[str, str]:
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r["status"] for r in results}


def _compiled(work, name: str) -> str:
    return (work / "target/compiled/census/models/staging/_sources.yml" / f"{name}.sql").read_text()


def _faces_run(con: duckdb.DuckDBPyConnection, image_ids: list[str]) -> None:
    """One face run r1 of image i1 (dataset d), whose image runs are ok for these image ids."""
    con.execute("insert into raw.runs (run_id, stage, annotator, dataset, status) "
                "values ('r1', 'faces', 'test/faces', 'd', 'complete')")
    con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) "
                "values ('i1', 'd', 'train', 'n1', 'a.jpg')")
    con.executemany("insert into raw.image_runs (run_id, image_id, status) values ('r1', ?, 'ok')",
                    [[image_id] for image_id in image_ids])


def test_a_key_and_a_check_the_schema_declares_are_not_re_read(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(SCHEMA_SQL.read_text())
    con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) "
                "values ('a', 'd', 'train', 'n1', 'a.jpg'), ('b', 'd', 'train', 'n1', 'b.jpg')")
    con.close()
    result = run_dbt(db, tmp_path, "test", *SELECT)
    assert result.returncode == 0, result.stdout[-3000:]
    statuses = _statuses(tmp_path)
    assert statuses["source_unique_raw_images_image_id"] == "pass"
    assert statuses["source_finite_raw_predictions_prob"] == "pass"
    for name in ("source_unique_raw_images_image_id", "source_finite_raw_predictions_prob"):
        assert "where false" in _compiled(tmp_path, name)


def test_without_the_constraints_the_tests_read_the_rows_and_fail(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    # as an external tool or an older ingest might have created them: no key, no CHECK
    con.execute("create table raw.images (image_id varchar, dataset varchar, split varchar, wnid varchar, "
                "rel_path varchar, file_bytes bigint, sha256 varchar, width integer, height integer, "
                "decode_error varchar, first_seen_at timestamp)")
    con.execute("create table raw.predictions (run_id varchar, image_id varchar, rank integer, "
                "class_index integer, wnid varchar, prob double)")
    con.execute(SCHEMA_SQL.read_text())
    con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) "
                "values ('a', 'd', 'train', 'n1', 'a.jpg'), ('a', 'd', 'train', 'n1', 'a2.jpg')")
    con.execute("insert into raw.predictions values ('r', 'a', 1, 0, 'n1', 'nan'::double)")
    con.close()
    run_dbt(db, tmp_path, "test", *SELECT)
    statuses = _statuses(tmp_path)
    assert statuses["source_unique_raw_images_image_id"] == "fail"
    assert statuses["source_finite_raw_predictions_prob"] == "warn"
    assert "where false" not in _compiled(tmp_path, "source_unique_raw_images_image_id")


def test_a_repeated_image_run_fails_its_key_test_and_the_layers_build_writes_nothing(tmp_path):
    """An older raw.image_runs without its key, holding one image run twice: the source's key
    test reads the rows and fails, and the per-image layer's build refuses the repeated key it
    would store (its post-hook, inside the model's transaction) and leaves no table."""
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    con.execute("create table raw.image_runs (run_id varchar not null, image_id varchar not null, "
                "status varchar not null, error varchar, processed_at timestamp)")
    con.execute(SCHEMA_SQL.read_text())
    _faces_run(con, ["i1", "i1"])
    con.close()
    run_dbt(db, tmp_path / "test", "test", "--select", "source:raw.image_runs")
    key_test = "source_unique_combination_of_columns_raw_image_runs_run_id__image_id"
    assert _statuses(tmp_path / "test")[key_test] == "fail"
    result = run_dbt(db, tmp_path / "build", "build", "--select", "+int_image_outcomes",
                     "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
    assert result.returncode != 0
    assert "1 annotator, stage and image combinations repeat (e.g. test/faces, faces, i1)" in result.stdout
    con = duckdb.connect(str(db), read_only=True)
    tables = con.execute("select table_name from duckdb_tables() where schema_name = 'intermediate'").fetchall()
    con.close()
    assert ("int_image_outcomes",) not in tables


def test_the_layers_key_check_is_left_out_where_the_raw_keys_are_enforced(tmp_path):
    """With the raw schema's primary keys (runs, images, image_runs, nsfw) the layer's key
    follows from them: its build runs no key check (at ImageNet-21k size a hash of 71M rows);
    without raw.image_runs' key (the test above) the check runs and refuses the repeat."""
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(SCHEMA_SQL.read_text())
    _faces_run(con, ["i1"])
    con.close()
    result = run_dbt(db, tmp_path, "build", "--select", "+int_image_outcomes",
                     "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
    assert result.returncode == 0, result.stdout[-3000:]
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert "int_image_outcomes_runs" in log  # the log holds the hooks' SQL
    assert "combinations repeat" not in log


def test_an_image_landed_after_its_image_run_fills_in_at_the_next_build(tmp_path):
    """The per-image layer keeps an image run whose image is not in raw.images, with a NULL
    dataset that its not_null test reports (the raw contract's relationship); once the image
    lands, the next incremental build recomputes that row."""
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(SCHEMA_SQL.read_text())
    _faces_run(con, ["i1", "i2"])
    con.close()
    build = ["--select", "+int_image_outcomes", "--indirect-selection", "cautious",
             "--exclude-resource-type", "unit_test"]
    first = run_dbt(db, tmp_path / "first", "build", *build)
    assert first.returncode != 0 and "FAIL 1 not_null_int_image_outcomes_dataset" in first.stdout
    con = duckdb.connect(str(db))
    con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) "
                "values ('i2', 'd', 'val', 'n2', 'b.jpg')")
    con.close()
    second = run_dbt(db, tmp_path / "second", "build", *build)
    assert second.returncode == 0, second.stdout[-3000:]
    rows = duckdb.connect(str(db), read_only=True).execute(
        "select image_id, dataset, split, wnid from intermediate.int_image_outcomes order by image_id").fetchall()
    assert rows == [("i1", "d", "train", "n1"), ("i2", "d", "val", "n2")]


def test_face_rows_landed_after_their_image_run_reach_the_kept_faces_at_the_next_build(tmp_path):
    """The face readers skip images whose winning run had no face row when the layer was built
    (n_result_rows 0). Face rows that land later for an image run already built (the raw
    contract lands them together; a tool writing raw.faces by hand may not) change the run's
    result-row count in the ledger, so the next incremental build recomputes the run's group and
    the face is kept. A ledger stored before that count existed makes the build recompute every
    image once."""
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(SCHEMA_SQL.read_text())
    _faces_run(con, ["i1"])
    con.close()
    build = ["--select", "+int_kept_faces", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]

    def late_face(face_idx: int) -> tuple[list[tuple], str]:
        """The layer's count and the kept faces after a face row lands and the next build,
        and that build's compiled layer SQL."""
        with duckdb.connect(str(db)) as con:
            con.execute("insert into raw.faces (run_id, image_id, face_idx, det_score, x1, y1, x2, y2) "
                        "values ('r1', 'i1', ?, 0.99, 1, 1, 30, 30)", [face_idx])
        work = tmp_path / f"late-{face_idx}"
        result = run_dbt(db, work, "build", *build)
        assert result.returncode == 0, result.stdout[-3000:]
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute("select n_result_rows, (select count(*) from intermediate.int_kept_faces) "
                               "from intermediate.int_image_outcomes").fetchall()
        return rows, (work / "target/compiled/census/models/intermediate/int_image_outcomes.sql").read_text()

    first = run_dbt(db, tmp_path / "first", "build", *build)
    assert first.returncode == 0, first.stdout[-3000:]
    rows, compiled = late_face(0)
    assert rows == [(1, 1)]
    assert "as new_runs" in compiled  # an incremental build with its ledger: the count found it
    with duckdb.connect(str(db)) as con:  # a ledger from before the count
        con.execute("alter table intermediate.int_image_outcomes_runs drop column n_result_rows")
    rows, compiled = late_face(1)
    assert rows == [(2, 2)]
    assert "as new_runs" not in compiled  # every image recomputed
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select n_result_rows from intermediate.int_image_outcomes_runs").fetchall() == [(2,)]
