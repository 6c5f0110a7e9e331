"""Parquet parts and `ingest land`: a `--parts` run leaves the warehouse to others, writes only
whole parts (even when killed), resumes from parts, and landing is one transaction per run
and idempotent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from runs import KEYS, count, ingest, table

from ingest.core.errors import CensusError
from ingest.core.stages import raw_tables
from ingest.warehouse.db import Batch, run_row
from ingest.warehouse.land import land_parts
from ingest.warehouse.parts import PartsSink, part_dirs, run_folders

TABLES = list(KEYS)
INGEST = [sys.executable, "-m", "ingest.cli"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """One uninterrupted run over the small dataset, straight into a warehouse."""
    from photos import build_small_ilsvrc

    base = tmp_path_factory.mktemp("ref")
    root = build_small_ilsvrc(base / "ilsvrc")
    db = base / "ref.duckdb"
    assert ingest(root, db).stats.seen == 8
    return root, db


def _start(root: Path, db: Path, parts: Path, *extra: str) -> subprocess.Popen:
    args = [*INGEST, "run", str(root), "--dataset", "ds", "--workers", "0", "--device", "cpu", "--db", str(db),
            "--parts", str(parts), "--commit-every", "1", "--json", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_parts(process: subprocess.Popen, parts: Path, n: int) -> list[Path]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = sorted(parts.glob("run-*/part-*"))
        if len(found) >= n:
            return found
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.02)
    raise AssertionError(f"no {n} parts within 120 s")


def _assert_whole(folder: Path) -> int:
    """Every part holds readable files whose images each have their image_runs rows; returns images."""
    images = 0
    for part in part_dirs(folder):
        ids = set(pq.read_table(part / "images.parquet")["image_id"].to_pylist())
        runs = pq.read_table(part / "image_runs.parquet").to_pandas()
        assert set(runs.image_id) == ids and len(runs) == 3 * len(ids)
        for name in ("faces", "nsfw", "predictions"):
            if (part / f"{name}.parquet").exists():
                assert set(pq.read_table(part / f"{name}.parquet")["image_id"].to_pylist()) <= ids
        images += len(ids)
    return images


def test_killed_parts_run_leaves_whole_parts_and_land_then_resume_equals_one_run(reference, tmp_path):
    root, ref_db = reference
    db, parts = tmp_path / "w.duckdb", tmp_path / "parts"
    process = _start(root, db, parts)
    _wait_for_parts(process, parts, 2)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    [killed] = run_folders(parts)
    done = _assert_whole(killed)
    assert 2 <= done < 8
    assert set(pq.read_table(killed / "runs.parquet")["status"].to_pylist()) == {"running"}

    first = land_parts([parts], db)
    assert set(first.statuses.values()) == {"failed"}  # it never finished
    assert first.added["images"] == done and first.added["image_runs"] == 3 * done
    again = land_parts([parts], db)  # landing twice adds nothing
    assert not any(again.added.values())

    summary = ingest(root, db, parts=parts)  # resume: done = the warehouse's and the parts'
    assert summary.skipped == done and summary.stats.seen == 8 - done
    assert summary.parts is not None and summary.parts.parent == parts and not summary.landed
    resumed = land_parts([summary.parts], db)
    assert set(resumed.statuses.values()) == {"complete"}
    for name in TABLES:
        pd.testing.assert_frame_equal(table(db, name), table(ref_db, name), check_dtype=False)
    assert count(db, "select status, count(*) from raw.runs group by 1 order by 1") == [("complete", 3), ("failed", 3)]


def test_warehouse_is_free_for_readers_and_writers_while_a_parts_run_goes_on(tmp_path):
    from photos import noise_jpeg

    root = tmp_path / "noise"
    (root / "train" / "n01440764").mkdir(parents=True)
    for i in range(40):  # enough that the run is still going when it is held
        noise_jpeg(root / "train" / "n01440764" / f"n01440764_{i}.JPEG", (160, 120), seed=i)
    db, parts = tmp_path / "w.duckdb", tmp_path / "parts"
    subprocess.run([*INGEST, "init", "--db", str(db)], check=True, capture_output=True)
    process = _start(root, db, parts, "--stages", "nsfw")
    try:
        _wait_for_parts(process, parts, 1)
        process.send_signal(signal.SIGSTOP)  # held mid-run, deterministically
        con = duckdb.connect(str(db), read_only=True)  # what an analyst or dbt's read does
        assert con.execute("select count(*) from raw.images").fetchone()[0] == 0
        con.close()
        landed = land_parts([parts], db)  # even a writer gets the warehouse mid-run
        assert landed.added["images"] >= 1 and set(landed.statuses.values()) == {"failed"}
        process.send_signal(signal.SIGCONT)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
    landed = land_parts([parts], db)  # the rest, and the run now recorded complete
    assert set(landed.statuses.values()) == {"complete"}
    assert count(db, "select status from raw.runs") == [("complete",)]
    assert count(db, "select count(*), count(distinct image_id) from raw.nsfw") == [(40, 40)]


def _batch(run_id: str, names: list[str]) -> Batch:
    images = [{"image_id": n, "dataset": "ds", "split": "train", "wnid": "n01440764", "rel_path": f"train/{n}.JPEG",
               "file_bytes": 10, "sha256": "ab" * 32, "width": 4, "height": 3, "decode_error": None} for n in names]
    return Batch.of(images=images,
                    image_runs=[{"run_id": run_id, "image_id": n, "status": "ok", "error": None} for n in names],
                    nsfw=[{"run_id": run_id, "image_id": n, "nsfw_score": 0.5, "probs": '{"nsfw": 0.5}'}
                          for n in names])


def _parts_run(root: Path, batches: int = 2) -> Path:
    sink = PartsSink(root)
    row = run_row(stage="nsfw", annotator="test/nsfw", dataset="ds", model_digest=None, params={})
    sink.start_runs([row])
    for k in range(batches):
        sink.write(_batch(row["run_id"], [f"img{k}a", f"img{k}b"]))
    sink.write(Batch())  # nothing to write: no part
    sink.finish("complete")
    sink.close()
    return sink.folder


def test_parts_hold_the_raw_contract_and_land_in_one_transaction(tmp_path):
    folder = _parts_run(tmp_path / "parts")
    assert [p.name for p in part_dirs(folder)] == ["part-000000", "part-000001"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary names left
    schema = pq.read_schema(folder / "part-000000" / "image_runs.parquet")
    assert schema.names == ["run_id", "image_id", "status", "error", "processed_at"]
    db = tmp_path / "w.duckdb"
    landed = land_parts([folder], db)
    assert landed.added["images"] == 4 and landed.added["nsfw"] == 4 and landed.added["runs"] == 1
    assert count(db, "select probs->>'nsfw', status from raw.nsfw join raw.runs using (run_id) limit 1") == [
        ("0.5", "complete")]
    assert set(land_parts([tmp_path / "parts"], db).added.values()) == {0}
    assert set(raw_tables()) >= set(landed.added)


@pytest.mark.parametrize(("tamper", "words"), [
    (lambda part: (part / "stray.parquet").write_bytes(b"x"), "is not a part file of a raw table"),
    (lambda part: (part / "nsfw.parquet").write_bytes(b"not parquet"), "Cannot read the part file"),
    (lambda part: pq.write_table(pq.read_table(part / "nsfw.parquet").append_column(
        "evil", pq.read_table(part / "nsfw.parquet")["run_id"]), part / "nsfw.parquet"), "does not know ('evil')"),
    (lambda part: pq.write_table(pq.read_table(part / "nsfw.parquet").drop_columns(["image_id"]),
                                 part / "nsfw.parquet"), "lacks the required columns image_id"),
    (lambda part: pq.write_table(pq.read_table(part / "nsfw.parquet").set_column(
        0, "run_id", pq.read_table(part / "nsfw.parquet")["image_id"]), part / "nsfw.parquet"),
     "belong to no run of its folder"),
])
def test_land_refuses_bad_parts_whole_with_one_sentence(tmp_path, tamper, words):
    good = _parts_run(tmp_path / "parts")
    tamper(good / "part-000001")
    db = tmp_path / "w.duckdb"
    with pytest.raises(CensusError, match=words.replace("(", r"\(").replace(")", r"\)")):
        land_parts([good], db)
    assert count(db, "select count(*) from raw.runs") == [(0,)]
    assert count(db, "select count(*) from raw.images") == [(0,)]  # the good part did not land alone


def test_land_names_a_missing_folder_and_an_empty_one(tmp_path):
    with pytest.raises(CensusError, match="No parts at"):
        land_parts([tmp_path / "nope"], tmp_path / "w.duckdb")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CensusError, match="No run folders"):
        land_parts([tmp_path / "empty"], tmp_path / "w.duckdb")


def test_ingest_land_command_prints_what_it_added(tmp_path):
    folder = _parts_run(tmp_path / "parts")
    db = tmp_path / "w.duckdb"
    env = {**os.environ, "CENSUS_DB": str(db)}
    first = subprocess.run([*INGEST, "land", str(folder.parent)], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert "Landed 1 run folder(s) (1 complete)" in first.stdout and "raw.images +4" in first.stdout
    again = subprocess.run([*INGEST, "land", str(folder.parent)], capture_output=True, text=True, env=env)
    assert "raw.images +0" in again.stdout
    bad = subprocess.run([*INGEST, "land", str(tmp_path / "nope")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "No parts at" in bad.stderr
