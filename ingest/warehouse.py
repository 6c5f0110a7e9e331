"""The DuckDB side: connecting, creating the raw schema, run provenance and the writer."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from . import __version__
from .config import SCHEMA_SQL, database_path
from .errors import CensusError, WarehouseBusy
from .ids import new_run_id

RAW_TABLES = ("runs", "images", "image_runs", "faces", "nsfw", "predictions")


def connect(path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, turning DuckDB's lock error into a sentence a user can act on."""
    db = Path(path or database_path())
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


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(
    con: duckdb.DuckDBPyConnection,
    *,
    stage: str,
    annotator: str,
    dataset: str,
    model_digest: str | None,
    params: dict,
    device: str | None = None,
    status: str = "running",
) -> str:
    run_id = new_run_id()
    con.execute(
        "insert into raw.runs (run_id, stage, annotator, model_digest, params, dataset,"
        " started_at, status, device, tool_version) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            stage,
            annotator,
            model_digest,
            json.dumps(params, sort_keys=True),
            dataset,
            now(),
            status,
            device,
            f"ingest {__version__} on {socket.gethostname()}",
        ],
    )
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str = "complete") -> None:
    con.execute(
        "update raw.runs set status = ?, finished_at = ? where run_id = ?",
        [status, now(), run_id],
    )


_COLUMNS = {
    "images": [
        "image_id", "dataset", "split", "wnid", "rel_path", "file_bytes", "sha256",
        "width", "height", "decode_error",
    ],
    "image_runs": ["run_id", "image_id", "status", "error"],
    "faces": [
        "run_id", "image_id", "face_idx", "det_score", "x1", "y1", "x2", "y2", "age",
        "gender_score", "det_raw_score",
    ],
    "nsfw": ["run_id", "image_id", "nsfw_score", "probs"],
    "predictions": ["run_id", "image_id", "rank", "class_index", "wnid", "prob"],
}


@dataclass
class Batch:
    """Rows for a set of images, landed together in one transaction."""

    images: list[dict] = field(default_factory=list)
    image_runs: list[dict] = field(default_factory=list)
    faces: list[dict] = field(default_factory=list)
    nsfw: list[dict] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def extend(self, other: Batch) -> None:
        for name in _COLUMNS:
            getattr(self, name).extend(getattr(other, name))

    def clear(self) -> None:
        for name in _COLUMNS:
            getattr(self, name).clear()


def _arrow(name: str, rows: list[dict]) -> pa.Table:
    columns = _COLUMNS[name]
    return pa.table({c: [row.get(c) for row in rows] for c in columns})


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Land a batch atomically: an image's result rows never exist without its run row."""
    if not batch.images and not batch.image_runs:
        return
    con.execute("begin transaction")
    try:
        for name in _COLUMNS:  # in this order: images first, results after their run rows
            rows = getattr(batch, name)
            if not rows:
                continue
            con.register("_batch_frame", _arrow(name, rows))
            cols = ", ".join(_COLUMNS[name])
            conflict = " on conflict do nothing" if name == "images" else ""
            con.execute(
                f"insert into raw.{name} ({cols}) select {cols} from _batch_frame{conflict}"
            )
            con.unregister("_batch_frame")
        con.execute("commit")
    except BaseException:  # Ctrl-C included: never leave the transaction open
        con.execute("rollback")
        raise


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in RAW_TABLES}
