"""The DuckDB side: connecting, creating the raw schema, run provenance and the writer."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from .. import __version__
from ..core.config import SCHEMA_SQL, database_path
from ..core.errors import CensusError, WarehouseBusy
from ..core.ids import new_run_id
from ..core.rows import RunRow
from ..core.stages import STAGES, raw_tables
from .frame import rows_frame

#: schemas inside the warehouse: a file named after one of them cannot be opened unambiguously
SCHEMA_NAMES = frozenset({"raw", "main", "staging", "intermediate", "reference", "meta", "system", "temp"})


def connect(path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, turning DuckDB's lock error into a sentence a user can act on."""
    db = Path(path or database_path())
    if db.stem.lower() in SCHEMA_NAMES:
        # DuckDB names a file's catalog after its stem: a catalog "raw" makes raw.faces ambiguous
        raise CensusError(f"The warehouse file {db} is named like one of its schemas ({db.stem}); "
                          "give it another name, e.g. census.duckdb.")
    if read_only and not db.exists():
        raise CensusError(f"No warehouse at {db}: run `ingest init` or `ingest run` first.")
    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WarehouseBusy(
                f"The warehouse {db} is in use by another process (another `ingest` or a "
                "dbt/SQL session holding it open); wait for it to finish or point CENSUS_DB "
                "at another file."
            ) from error
        raise CensusError(f"Cannot open the warehouse {db}: {error}") from error


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema if absent; safe to run any number of times."""
    con.execute(SCHEMA_SQL.read_text())
    for stage in STAGES.values():
        if stage.ddl:
            con.execute(stage.ddl)


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection | sqlite3.Connection,
                begin: str = "begin transaction") -> Iterator[None]:
    """Run the block in one transaction: commit at its end, roll back on any exception, Ctrl-C included."""
    con.execute(begin)
    try:
        yield
        con.execute("commit")
    except BaseException:
        # a failed statement or commit (disk full) may have ended the transaction already;
        # the first error is the one to tell
        with contextlib.suppress(duckdb.Error, sqlite3.Error):
            con.execute("rollback")
        raise


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def run_row(
    *,
    stage: str,
    annotator: str,
    dataset: str,
    model_digest: str | None,
    params: dict,
    device: str | None = None,
    status: str = "running",
) -> RunRow:
    """A new raw.runs row (a fresh run_id, started now), for the warehouse or a run's parts."""
    return {
        "run_id": new_run_id(), "stage": stage, "annotator": annotator, "model_digest": model_digest,
        "params": json.dumps(params, sort_keys=True), "dataset": dataset, "started_at": now(),
        "finished_at": None, "status": status, "device": device,
        "tool_version": f"ingest {__version__} on {socket.gethostname()}",
    }


RUN_COLUMNS = ("run_id", "stage", "annotator", "model_digest", "params", "dataset", "started_at", "finished_at",
               "status", "device", "tool_version")


def insert_run(con: duckdb.DuckDBPyConnection, row: dict) -> str:
    con.execute(f"insert into raw.runs ({', '.join(RUN_COLUMNS)}) values ({', '.join('?' * len(RUN_COLUMNS))})",
                [row.get(c) for c in RUN_COLUMNS])
    return row["run_id"]


def start_run(con: duckdb.DuckDBPyConnection, **fields) -> str:
    """Record a new run (``run_row``'s fields) in the warehouse; returns its run_id."""
    return insert_run(con, run_row(**fields))


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str = "complete") -> None:
    con.execute(
        "update raw.runs set status = ?, finished_at = ? where run_id = ?",
        [status, now(), run_id],
    )


@dataclass
class Batch:
    """Rows for a set of images, by raw table, landed together in one transaction."""

    rows: dict[str, list[dict]] = field(default_factory=lambda: {"images": [], "image_runs": []})

    @classmethod
    def of(cls, **tables: list[dict]) -> Batch:
        """A batch holding these rows, e.g. ``Batch.of(images=[...])``."""
        batch = cls()
        for table, rows in tables.items():
            batch.add(table, rows)
        return batch

    def __len__(self) -> int:
        return len(self.rows["images"])

    def add(self, table: str, rows: list[dict]) -> None:
        self.rows.setdefault(table, []).extend(rows)

    def extend(self, other: Batch) -> None:
        for table, rows in other.rows.items():
            self.add(table, rows)

    def clear(self) -> None:
        for rows in self.rows.values():
            rows.clear()


def writable_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns of raw.<table> a writer fills: all but those the database fills by default."""
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
        "and column_default is null order by ordinal_position", [table]).fetchall()]


# A newer reading of a file replaces its facts in raw.images (a retried image loses its stale
# error); a failed read (no sha256) only replaces an earlier error, never facts read fine.
# rel_path, split, wnid and first_seen_at stay as first recorded.
IMAGE_FACTS = ("file_bytes", "sha256", "width", "height", "decode_error")
IMAGES_CONFLICT = (
    " on conflict (image_id) do update set "
    + ", ".join(f"{c} = excluded.{c}" for c in IMAGE_FACTS)
    + " where excluded.sha256 is not null or images.decode_error is not null"
)


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Land a batch atomically: an image's result rows never exist without its run row."""
    if not batch.rows["images"] and not batch.rows["image_runs"]:
        return
    with transaction(con):
        for name, rows in batch.rows.items():  # in this order: images first, results after their run rows
            if not rows:
                continue
            frame = rows_frame(name, rows, writable_columns(con, name))  # names: the stage registry
            con.register("_batch_frame", frame)
            cols = ", ".join(frame.column_names)
            conflict = IMAGES_CONFLICT if name == "images" else ""
            con.execute(
                f"insert into raw.{name} ({cols}) select {cols} from _batch_frame{conflict}"
            )
            con.unregister("_batch_frame")


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the warehouse holds schema.table (a table or a view)."""
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def mark_stale_runs(con: duckdb.DuckDBPyConnection) -> int:
    """Mark as failed the runs an earlier process left `running` (killed, power cut).

    Only one process can hold the warehouse for writing, so while this connection does, no
    run recorded in it can still be running. Their finished images stay and count."""
    stale = con.execute("select count(*) from raw.runs where status = 'running'").fetchone()[0]
    if stale:
        con.execute("update raw.runs set status = 'failed', finished_at = coalesce(finished_at, ?) "
                    "where status = 'running'", [now()])
    return stale


DISK_FULL_SIGNS = ("no space left on device", "disk is full", "file too large", "could not write")


def is_disk_full(error: BaseException) -> bool:
    text = str(error).lower()
    return any(sign in text for sign in DISK_FULL_SIGNS)


def disk_full_message(db: Path, error: BaseException) -> str:
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (f"The disk holding the warehouse {db} is full ({detail}); the images committed before "
            "are kept. Free some space there and rerun the same command to resume.")


def checkpoint(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """Fold the write-ahead log into the file now, so a failure to do so is an error, not silent.

    DuckDB checkpoints on close and swallows the error there; the rows stay safe in the WAL."""
    try:
        con.execute("checkpoint")
    except duckdb.Error as error:
        if is_disk_full(error):
            raise CensusError(disk_full_message(db, error)) from None
        raise


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per raw table; a table an older warehouse lacks (opened read-only, so never
    upgraded by init_schema) is left out."""
    present = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
    return {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in raw_tables() if t in present}
