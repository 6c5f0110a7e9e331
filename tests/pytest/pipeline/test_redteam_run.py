"""Red-team cases of `ingest run` and `ingest demo` (issue 11): a demo that must not delete a
user's folder, duplicated stages, ignored overrides, a full disk, absurd worker counts and a
summary that must not count what a limit or shard left out as done."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import duckdb
import pytest
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.errors import CensusError
from ingest.devtools.demo import MARKER, build_demo
from ingest.models.profiles import build_models, parse_stages
from ingest.pipeline.runner import RunOptions, choose_workers, run_dataset

runner = CliRunner()
INGEST = [sys.executable, "-m", "ingest.cli"]


def invoke(*args: str):
    return runner.invoke(app, list(args))


# -- 1. ingest demo never deletes -------------------------------------------------------
def test_demo_refuses_a_folder_holding_a_users_files(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    result = invoke("demo", str(target))
    assert result.exit_code == 2
    assert "not made by `ingest demo`" in result.output
    assert (target / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in target.iterdir()) == ["thesis.tex"]


def test_demo_refuses_a_file_and_a_link_where_it_writes(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert invoke("demo", str(afile)).exit_code == 2
    assert afile.read_text() == "x"
    target = tmp_path / "demo"
    build_demo(target)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = target / "train" / "n04350905" / "n04350905_0.JPEG"
    link.unlink()
    link.symlink_to(victim)
    result = invoke("demo", str(target))
    assert result.exit_code == 2 and "link" in result.output
    assert victim.read_text() == "keep"


def test_demo_rebuilds_its_own_folder_in_place_and_keeps_other_files(tmp_path):
    target = tmp_path / "demo"
    count = build_demo(target)
    assert (target / MARKER).is_file()
    (target / "my_notes.txt").write_text("mine")
    assert build_demo(target) == count
    assert (target / "my_notes.txt").read_text() == "mine"


def test_demo_accepts_an_older_unmarked_demo(tmp_path):
    target = tmp_path / "demo"
    build_demo(target)
    (target / MARKER).unlink()
    assert invoke("demo", str(target)).exit_code == 0
    (target / MARKER).unlink()
    (target / "train" / "n04350905" / "extra.JPEG").write_bytes(b"user")
    assert invoke("demo", str(target)).exit_code == 2


# -- 8, 17. stages and overrides ------------------------------------------------------
def test_stages_listed_twice_run_once():
    assert parse_stages("faces,faces, nsfw,faces") == ["faces", "nsfw"]


def test_an_override_for_a_stage_not_run_is_refused():
    with pytest.raises(CensusError, match="does not run"):
        build_models("default", stages=["nsfw"], overrides={"faces": "dlib/age-and-gender-v1"})


def test_duplicate_stages_and_bad_names_via_the_cli(small_ilsvrc, tmp_path):
    db = tmp_path / "w.duckdb"
    result = invoke("run", str(small_ilsvrc), "--stages", "nsfw,nsfw", "--workers", "0", "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from raw.runs").fetchone()[0] == 1
    assert con.execute("select distinct status from raw.runs").fetchall() == [("complete",)]
    con.close()
    empty = invoke("run", str(small_ilsvrc), "--dataset", "", "--db", str(tmp_path / "e.duckdb"))
    assert empty.exit_code == 2 and "--dataset is empty" in empty.output
    ignored = invoke("run", str(small_ilsvrc), "--stages", "nsfw", "--model", "faces=dlib/age-and-gender-v1",
                     "--db", str(tmp_path / "o.duckdb"))
    assert ignored.exit_code == 2 and "does not run" in ignored.output


# -- 15. worker counts ----------------------------------------------------------------
def test_worker_counts_are_validated_and_capped(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert choose_workers(2) == (2, None)
    assert choose_workers(0) == (0, None)
    count, note = choose_workers(100)
    assert count == 2 and "--workers 100" in note and "using 2" in note
    with pytest.raises(CensusError, match="negative"):
        choose_workers(-1)


def test_negative_workers_is_one_sentence(small_ilsvrc, tmp_path):
    result = invoke("run", str(small_ilsvrc), "--workers", "-1", "--db", str(tmp_path / "w.duckdb"))
    assert result.exit_code == 2 and "negative" in result.output


# -- 16. the summary counts only what was done before ------------------------------------
def test_summary_does_not_count_limit_or_shard_as_done(small_ilsvrc, tmp_path):
    db = tmp_path / "w.duckdb"
    limited = run_dataset(RunOptions(dataset_root=small_ilsvrc, device="cpu", db=db, workers=0,
                                     stages=["nsfw"], limit=3))
    assert (limited.listed, limited.skipped, limited.todo, limited.left_for_later) == (8, 0, 3, 5)
    sharded = run_dataset(RunOptions(dataset_root=small_ilsvrc, device="cpu", db=tmp_path / "s.duckdb",
                                     workers=0, stages=["nsfw"], shard=(0, 2)))
    assert sharded.skipped == 0 and sharded.todo == sharded.in_shard < 8
    again = run_dataset(RunOptions(dataset_root=small_ilsvrc, device="cpu", db=db, workers=0, stages=["nsfw"]))
    assert (again.skipped, again.todo, again.left_for_later) == (3, 5, 0)


def test_progress_is_shown_before_the_first_image_and_after_each(small_ilsvrc, tmp_path):
    events: list[tuple[str, int]] = []
    run_dataset(RunOptions(dataset_root=small_ilsvrc, device="cpu", db=tmp_path / "w.duckdb", workers=1,
                           stages=["nsfw"], batch_size=32),
                on_start=lambda total: events.append(("start", total)),
                on_progress=lambda stats: events.append(("progress", stats.seen)))
    assert events[0] == ("start", 8)
    seen = [n for kind, n in events if kind == "progress"]
    assert seen[:8] == list(range(1, 9)), "the workers infer, so each image shows at once, not per batch"


# -- 9. a full disk -------------------------------------------------------------------
@pytest.fixture()
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("needs a small tmpfs (root with mount rights) to fill a disk")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_one_sentence_and_the_next_run_completes(small_ilsvrc, small_disk):
    db = small_disk / "w.duckdb"
    assert invoke("init", "--db", str(db)).exit_code == 0
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as handle:  # fill the disk to the last byte
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    args = [*INGEST, "run", str(small_ilsvrc), "--dataset", "ds", "--stages", "nsfw", "--workers", "0",
            "--db", str(db), "--commit-every", "2", "--batch-size", "2", "--json"]
    full = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert full.returncode == 2, full.stdout + full.stderr
    assert "is full" in full.stderr and str(small_disk) in full.stderr
    assert "Traceback" not in full.stderr and "cannot rollback" not in full.stderr
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,size=32m", str(small_disk)], check=True)  # and more room
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["errors"] == 0
    shutil.copy(db, small_disk.parent / "copy.duckdb")  # read a copy, the tmpfs goes away
    con = duckdb.connect(str(small_disk.parent / "copy.duckdb"), read_only=True)
    assert con.execute("select count(*), count(distinct image_id) from raw.image_runs "
                       "where status = 'ok'").fetchone() == (8, 8)
    assert con.execute("select count(*) from raw.nsfw").fetchone()[0] == 8
    assert con.execute("select count(*) from raw.runs where status = 'running'").fetchone()[0] == 0
    con.close()
