"""Parquet parts: a run's raw rows as files instead of warehouse transactions, so that a run
does not hold the warehouse (analysts and dbt read it meanwhile) and runs on other machines
(or the Ray engine) can deliver their rows; ``ingest land`` (``land.py``) loads them.

Layout, under the folder given to ``ingest run --parts DIR``::

    DIR/run-20250101T120000-1a2b3c4d/   one folder per `ingest run` (its runs, one per model)
        runs.parquet                    raw.runs rows; status `running` until the run ends
        part-000000/                    one part: a batch of finished images, whole
            images.parquet  image_runs.parquet  faces.parquet  nsfw.parquet  predictions.parquet
        .part-000001.tmp/               a part being written (ignored by readers)

Every file has the raw contract's columns and types: rows go through ``write_batch`` into an
in-memory DuckDB holding the raw schema (the same checks, casts and defaults as the warehouse)
and out with DuckDB's Parquet writer. A part is written under a temporary name in the run's
folder, each file fsynced, then renamed into place (a rename is atomic), so a killed run leaves
only whole parts. ``runs.parquet`` is replaced the same way when the run ends."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.errors import CensusError
from ..core.quoting import quote_identifier, quote_literal
from ..core.stages import raw_tables
from .db import Batch, init_schema, insert_run, now, write_batch

RUNS_FILE = "runs.parquet"
PART_NAME = re.compile(r"part-\d{6,}")


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PartsSink:
    """Writes a run's rows as Parquet parts under ``root``: the runner's ``Sink`` for `--parts`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder: Path | None = None
        self._con = duckdb.connect(":memory:")
        init_schema(self._con)
        self._next = 0

    def start_runs(self, runs: list[dict]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = now().strftime("%Y%m%dT%H%M%S")
        self.folder = self.root / f"run-{stamp}-{runs[0]['run_id'][:8]}"
        self.folder.mkdir()
        _fsync(self.root)
        for row in runs:
            insert_run(self._con, row)
        self._write_runs()

    def write(self, batch: Batch) -> None:
        if not batch.rows["images"] and not batch.rows["image_runs"]:
            return
        tables = [t for t in raw_tables() if t != "runs"]
        for table in tables:  # a write cut short (Ctrl-C) may have left rows behind
            self._con.execute(f"delete from {quote_identifier('raw', table)}")
        write_batch(self._con, batch)  # the warehouse's own checks, casts and defaults
        while (self.folder / f"part-{self._next:06d}").exists():
            self._next += 1
        name = f"part-{self._next:06d}"
        tmp = self.folder / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for table in tables:
            if self._con.execute(f"select count(*) from {quote_identifier('raw', table)}").fetchone()[0]:
                self._copy(table, tmp / f"{table}.parquet")
        _fsync(tmp)
        os.rename(tmp, self.folder / name)
        _fsync(self.folder)
        self._next += 1

    def finish(self, status: str) -> None:
        if self.folder is None:
            return
        self._con.execute("update raw.runs set status = ?, finished_at = ?", [status, now()])
        self._write_runs()

    def close(self) -> None:
        self._con.close()

    def _copy(self, table: str, path: Path) -> None:
        self._con.execute(f"copy {quote_identifier('raw', table)} to {quote_literal(str(path))} (format parquet)")
        _fsync(path)

    def _write_runs(self) -> None:
        tmp = self.folder / f".{RUNS_FILE}.tmp"
        self._copy("runs", tmp)
        os.replace(tmp, self.folder / RUNS_FILE)
        _fsync(self.folder)


# -- reading ---------------------------------------------------------------------------------
def is_run_folder(path: Path) -> bool:
    return (path / RUNS_FILE).is_file()


def run_folders(path: Path) -> list[Path]:
    """The run folders at ``path``: itself, if it is one, else the run folders in it."""
    if is_run_folder(path):
        return [path]
    if not path.is_dir():
        raise CensusError(f"No parts at {path}: name a folder given to `ingest run --parts`, or one run's folder "
                          "in it.")
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and is_run_folder(p))


def part_dirs(folder: Path) -> list[Path]:
    """A run folder's whole parts, in the order written (parts still being written are left out)."""
    return sorted(p for p in folder.iterdir() if PART_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink())


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One part file, or one sentence naming it."""
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as error:
        raise CensusError(f"Cannot read the part file {path} ({error}); was it written by `ingest run --parts`?") \
            from None


def done_image_ids(root: Path, annotator: str, dataset: str, ok_only: bool) -> Iterator[pa.Table]:
    """Image ids that runs of this annotator on this dataset recorded in the parts under ``root``
    (only those `ok` with ``ok_only``), a part at a time: what a resumed run skips."""
    if not root.is_dir():
        return
    for folder in run_folders(root):
        runs = read_parquet(folder / RUNS_FILE, ["run_id", "annotator", "dataset"])
        mine = runs.filter(pc.and_(pc.equal(runs["annotator"], annotator), pc.equal(runs["dataset"], dataset)))
        if not mine.num_rows:
            continue
        for part in part_dirs(folder):
            path = part / "image_runs.parquet"
            if not path.is_file():
                continue
            rows = read_parquet(path, ["run_id", "image_id", "status"])
            keep = pc.is_in(rows["run_id"], value_set=mine["run_id"])
            if ok_only:
                keep = pc.and_(keep, pc.equal(rows["status"], "ok"))
            yield rows.filter(keep).select(["image_id"])
