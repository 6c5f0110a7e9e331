"""Crash safety (kill -9 then rerun equals one uninterrupted run), a second writer, bad
arguments, and the offline guarantee. These run the real CLI in subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import psutil
import pytest
from photos import build_small_ilsvrc, imagenet_size, noise_jpeg
from runs import KEYS, table

from ingest.devtools.demo import source_path

INGEST = [sys.executable, "-m", "ingest.cli"]
TABLES = list(KEYS)


def cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*INGEST, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = build_small_ilsvrc(tmp_path_factory.mktemp("crash") / "ds")
    folder = root / "train" / "n01440764"
    folder.mkdir()
    photo = source_path("insightface", "images/t1.jpg")
    for i in range(24):
        if i % 3 == 0:
            imagenet_size(photo, 360 + 4 * i).save(folder / f"n01440764_{i}.JPEG", quality=85)
        else:
            noise_jpeg(folder / f"n01440764_{i}.JPEG", seed=i)
    return root


@pytest.fixture(scope="module")
def reference_db(dataset, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("ref") / "ref.duckdb"
    done = cli("run", str(dataset), "--dataset", "ds", "--workers", "0", "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    return db


def _done_count(line: str) -> int:
    """N of a "census: N/M images done" log line, else -1."""
    if not line.startswith("census: ") or "images done" not in line:
        return -1
    return int(line.split()[1].split("/")[0].replace(",", ""))


#: where the run is killed, by what it has logged (not by a delay, which a fast machine outruns):
#: during start-up, while the models load (images listed, none done), after the first
#: committed batch of 4, and midway through the 32 images
KILL_POINTS = {
    "start-up": None,
    "loading models": lambda line: "images to do" in line,
    "first batch": lambda line: _done_count(line) >= 4,
    "midway": lambda line: _done_count(line) >= 16,
}


@pytest.mark.parametrize("kill_at", list(KILL_POINTS))
def test_kill_9_then_rerun_equals_uninterrupted(dataset, reference_db, tmp_path, kill_at):
    db = tmp_path / "crashed.duckdb"
    args = [*INGEST, "run", str(dataset), "--dataset", "ds", "--workers", "0", "--batch-size", "4",
            "--commit-every", "4", "--db", str(db)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    reached = KILL_POINTS[kill_at]
    if reached is None:
        time.sleep(0.5)  # python and the CLI take seconds to start
    else:
        for line in process.stderr:  # stderr is a pipe, so the run logs plain lines
            if reached(line):
                break
        else:
            raise AssertionError(f"the run ended before {kill_at!r}")
    assert process.poll() is None, f"the run had already finished when it was to be killed at {kill_at!r}"
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    if db.exists():  # the kill left the run unfinished: fewer ok images than the whole run
        con = duckdb.connect(str(db), read_only=True)
        done = con.execute("select count(*) from raw.image_runs where status = 'ok'").fetchone()[0]
        con.close()
        ref = duckdb.connect(str(reference_db), read_only=True)
        assert done < ref.execute("select count(*) from raw.image_runs where status = 'ok'").fetchone()[0]
        ref.close()
    rerun = cli("run", str(dataset), "--dataset", "ds", "--workers", "0", "--db", str(db), "--json")
    assert rerun.returncode == 0, rerun.stderr
    for name in TABLES:
        pd.testing.assert_frame_equal(table(db, name), table(reference_db, name), check_dtype=False)


@pytest.fixture(scope="module")
def noise_dataset(tmp_path_factory) -> Path:
    """200 small noise JPEGs: a run with two workers takes long enough to be stopped midway."""
    root = tmp_path_factory.mktemp("noise") / "ds"
    folder = root / "train" / "n01440764"
    folder.mkdir(parents=True)
    for i in range(200):
        noise_jpeg(folder / f"n01440764_{i}.JPEG", seed=i)
    return root


def _run_tree(process: subprocess.Popen) -> list[psutil.Process]:
    """The run's process and every process under it (workers, multiprocessing's resource tracker)."""
    parent = psutil.Process(process.pid)
    return [parent, *parent.children(recursive=True)]


def _wait_until_running(process: subprocess.Popen) -> None:
    """Read the run's log lines (stderr is a pipe, so it logs plain lines) until images are done."""
    for line in process.stderr:
        if "images done" in line and not line.startswith("census: 1/"):
            return
    raise AssertionError("the run ended before it reported finished images")


def _alive(processes: list[psutil.Process], wait: float = 15.0) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=wait)
    return alive


def _per_stage(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select r.stage, count(distinct ir.image_id), count(*) from raw.image_runs ir "
                           "join raw.runs r using (run_id) where ir.status = 'ok' group by 1 order by 1").fetchall()
    finally:
        con.close()


COMPLETE = [("classify", 200, 200), ("faces", 200, 200), ("nsfw", 200, 200)]


def _start_run(dataset: Path, tmp_path: Path):
    """A run with two workers and its own scratch folder, returned once images are done."""
    db = tmp_path / "stopped.duckdb"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    args = [*INGEST, "run", str(dataset), "--dataset", "ds", "--workers", "2", "--db", str(db)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_until_running(process)
    return db, scratch, env, process, _run_tree(process)


@pytest.mark.parametrize(("signum", "presses", "code", "word"), [
    (signal.SIGINT, 3, 130, "interrupted"),  # three quick Ctrl-C: still one clean stop
    (signal.SIGTERM, 1, 143, "terminated"),  # what timeout, systemd, Slurm and Kubernetes send
])
def test_stop_signal_keeps_finished_images_and_leaves_nothing_behind(noise_dataset, tmp_path, signum, presses,
                                                                     code, word):
    """SIGINT or SIGTERM in the middle of a run with worker processes: one sentence, exit code
    128 + signal, the images finished so far are written (even before the next 512-image
    commit), no process of the run is left, no scratch file, and a rerun adds exactly the rest."""
    db, scratch, env, process, tree = _start_run(noise_dataset, tmp_path)
    for _ in range(presses):
        process.send_signal(signum)
        time.sleep(0.1)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, "the run finished before the signal; the test needs a slower run"
    assert f"{word}: the images finished so far are saved" in stderr and "Traceback" not in stderr
    assert not _alive(tree), "a process of the run outlived it"
    assert not list(scratch.glob("census-worklist-*")), "the scratch work list was left behind"
    con = duckdb.connect(str(db), read_only=True)
    saved = con.execute("select count(*) from raw.images").fetchall()[0][0]
    assert con.execute("select distinct status from raw.runs").fetchall() == [("failed",)]
    con.close()
    assert 0 < saved < 200
    rerun = cli("run", str(noise_dataset), "--dataset", "ds", "--workers", "2", "--db", str(db), "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert _per_stage(db) == COMPLETE


def test_kill_9_of_the_main_process_takes_its_workers_with_it(noise_dataset, tmp_path):
    """kill -9 of the main process: the workers die too (the kernel kills them), and the next
    run marks the killed runs failed, removes the dead run's scratch folder and completes."""
    db, scratch, env, process, tree = _start_run(noise_dataset, tmp_path)
    assert len(tree) >= 3, "the workers had not started"
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not _alive(tree[1:]), "a worker outlived its killed parent"
    assert list(scratch.glob("census-worklist-*")), "expected the killed run's scratch folder"
    rerun = cli("run", str(noise_dataset), "--dataset", "ds", "--workers", "2", "--db", str(db), "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert '"stale_runs_marked_failed": 3' in rerun.stdout
    assert not list(scratch.glob("census-worklist-*"))
    assert _per_stage(db) == COMPLETE
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from raw.runs where status = 'running'").fetchone()[0] == 0
    con.close()


def test_second_writer_gets_a_clear_message(dataset, tmp_path):
    db = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); "
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        result = cli("run", str(dataset), "--workers", "0", "--db", str(db))
        assert result.returncode == 2
        assert "in use by another process" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
    con = duckdb.connect(str(db))
    assert con.execute("select count(*) from information_schema.tables where table_schema = 'raw'").fetchone()[0] == 0
    con.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "/no/such/dataset"], "does not exist"),
        (["run", "{ds}", "--profile", "nope"], "Invalid value for '--profile'"),
        (["run", "{ds}", "--shard", "3/2"], "--shard"),
        (["run", "{ds}", "--shard", "x"], "not of the form k/n"),
        (["run", "{ds}", "--stages", "faces,colour"], "Unknown stage"),
        (["run", "{ds}", "--device", "tpu"], "Invalid value for '--device'"),
        (["run", "{ds}", "--layout", "zip"], "Invalid value for '--layout'"),
        (["run", "{ds}", "--labels", "wordnet"], "Invalid value for '--labels'"),
        (["run", "{ds}", "--manifest", "{manifest}"], "lacks column"),
        (["run", "{ds}", "--manifest", "{escaping}"], "leaves the root"),
        (["run", "{ds}", "--manifest", "{unknown}", "--labels", "imagenet"], "not ILSVRC-2012 classes"),
    ],
)
def test_bad_arguments_one_sentence_nothing_written(dataset, tmp_path, args, message):
    manifest = tmp_path / "m.csv"
    manifest.write_text("rel_path,split\na.jpg,train\n")
    escaping = tmp_path / "e.csv"
    escaping.write_text("rel_path,split,label\n../../etc/passwd,train,n01440764\n")
    unknown = tmp_path / "u.csv"
    unknown.write_text("rel_path,split,label\ntrain/n01440764/n01440764_0.JPEG,train,n12345678\n")
    db = tmp_path / "bad.duckdb"
    filled = [a.format(ds=dataset, manifest=manifest, escaping=escaping, unknown=unknown) for a in args]
    result = cli(*filled, "--db", str(db))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.strip().splitlines() if line.strip()]) <= 3
    assert not db.exists()


def test_missing_weights_stop_before_any_row(dataset, tmp_path, monkeypatch):
    from ingest.core.errors import ModelUnavailable
    from ingest.models.nsfw_opennsfw import OpenNsfw
    from ingest.pipeline.runner import RunOptions, run_dataset

    missing = tmp_path / "gone.onnx"
    monkeypatch.setattr(OpenNsfw, "path", property(lambda self: missing))
    db = tmp_path / "w.duckdb"
    with pytest.raises(ModelUnavailable, match="gone.onnx"):
        run_dataset(RunOptions(dataset_root=dataset, db=db, workers=0, device="cpu"))
    truncated = tmp_path / "short.onnx"
    truncated.write_bytes(b"\x08\x01" * 10)
    monkeypatch.setattr(OpenNsfw, "path", property(lambda self: truncated))
    with pytest.raises(ModelUnavailable, match="truncated"):
        run_dataset(RunOptions(dataset_root=dataset, db=db, workers=0, device="cpu"))
    assert not db.exists()


def test_runs_offline(dataset, tmp_path):
    """Any attempt to open a network connection fails the run."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(
        "import socket\n"
        "def _blocked(*a, **k):\n"
        "    raise RuntimeError('network access attempted')\n"
        "socket.socket.connect = _blocked\n"
        "socket.create_connection = _blocked\n"
        "socket.getaddrinfo = _blocked\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(guard), os.environ.get("PYTHONPATH", "")])}
    db = tmp_path / "offline.duckdb"
    result = cli("run", str(dataset), "--dataset", "ds", "--workers", "1", "--db", str(db), "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert '"errors": 0' in result.stdout
