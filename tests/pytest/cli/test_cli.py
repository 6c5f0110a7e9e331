"""The Typer CLI: help a newcomer can act on, init idempotent, models listing, demo build."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from ingest.cli import app

runner = CliRunner()


def test_every_command_has_help():
    for command in ("init", "run", "demo", "import", "models", "merge", "summary", "bench", "synth"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


def test_run_help_lists_the_choices_of_each_closed_option():
    from ingest.core.choices import Device, LabelCheck, values
    from ingest.models.profiles import PROFILES
    from ingest.sources.layouts import LayoutChoice as Layout

    result = runner.invoke(app, ["run", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for option, choices in (("--profile", tuple(PROFILES)), ("--device", values(Device)),
                            ("--layout", values(Layout)), ("--labels", values(LabelCheck))):
        assert f"{option} <{'|'.join(choices)}>" in result.output, option


def test_closed_options_are_checked_once_in_the_library_too(tmp_path):
    """Python callers pass plain strings through RunOptions; each set is checked where it is used."""
    from ingest.core.errors import CensusError
    from ingest.pipeline.runner import RunOptions, run_dataset

    for field, value, message in (("layout", "zip", "Unknown layout"), ("device", "tpu", "Unknown device"),
                                  ("profile", "nope", "Unknown profile")):
        with pytest.raises(CensusError, match=message):
            run_dataset(RunOptions(dataset_root=tmp_path, db=tmp_path / "w.duckdb", workers=0, **{field: value}))
    assert not (tmp_path / "w.duckdb").exists()


def test_init_is_idempotent(tmp_path):
    db = tmp_path / "w.duckdb"
    for _ in range(2):
        result = runner.invoke(app, ["init", "--db", str(db)])
        assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
    con.close()
    assert tables == {"runs", "images", "image_runs", "faces", "face_attributes", "nsfw", "predictions", "reviews",
                      "captions", "label_synsets", "image_face_labels"}


def test_init_honours_census_db(tmp_path, monkeypatch):
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("CENSUS_DB", str(db))
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert db.exists()


def test_external_tools_can_insert_with_plain_sql(tmp_path):
    from ingest.core.ids import image_id

    db = tmp_path / "w.duckdb"
    runner.invoke(app, ["init", "--db", str(db)])
    con = duckdb.connect(str(db))
    con.execute("insert into raw.runs (run_id, stage, annotator, dataset, status) "
                "values ('r1', 'faces', 'dex/2019', 'imagenet', 'complete')")
    con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) "
                "values (left(sha256('imagenet/train/a.JPEG'), 16), 'imagenet', 'train', 'n01440764', 'train/a.JPEG')")
    con.execute("insert into raw.image_runs (run_id, image_id, status) select 'r1', image_id, 'ok' from raw.images")
    con.execute("insert into raw.faces (run_id, image_id, face_idx) select 'r1', image_id, 0 from raw.images")
    assert con.execute("select image_id from raw.images").fetchone()[0] == image_id("imagenet", "train/a.JPEG")
    con.close()


def test_models_lists_every_file_with_its_status(tmp_path):
    import json

    assert runner.invoke(app, ["models"]).exit_code == 0
    result = runner.invoke(app, ["models", "--json", "--models-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    status = {Path(r["file"]).name: r["status"] for r in rows}
    assert status["age-v1.onnx"] == status["open_nsfw.onnx"] == "present"
    assert status["det_10g.onnx"] == status["NASNet-mobile.h5"] == "missing"
    (tmp_path / "NASNet-mobile.h5").write_bytes(b"x" * 10)
    result = runner.invoke(app, ["models", "--json", "--models-dir", str(tmp_path)])
    assert any(json.loads(line)["status"].startswith("truncated") for line in result.output.splitlines())


def test_demo_builds_an_ilsvrc_dataset(tmp_path):
    from ingest.sources.layouts import list_images

    target = tmp_path / "demo"
    assert runner.invoke(app, ["demo", str(target)]).exit_code == 0
    refs = list_images(target)
    assert {r.split for r in refs} == {"train", "val"}
    assert all(r.wnid.startswith("n") for r in refs)
    assert runner.invoke(app, ["demo", str(target)]).exit_code == 0  # idempotent
    assert len(list_images(target)) == len(refs)


def test_a_warehouse_named_like_a_schema_is_one_sentence(tmp_path):
    from typer.testing import CliRunner

    from ingest.cli import app

    result = CliRunner().invoke(app, ["init", "--db", str(tmp_path / "raw.duckdb")])
    assert result.exit_code == 2 and "named like one of its schemas" in result.output
    assert not (tmp_path / "raw.duckdb").exists()
