"""``ingest land``: load Parquet parts (``parts.py``) into the warehouse, one transaction per run
folder. Keys decide identity (``stages.table_keys``), so landing twice adds nothing; a run
still being written can be landed now and again later for the rest.

Parts are untrusted input like a shard for ``ingest merge``: each file's columns are checked
against this warehouse's raw tables with merge's checks before any row lands, table names come
from the stage registry (a file for a table the registry does not know is refused), the
columns copied are the warehouse's own, quoted, and the data is handed to DuckDB as an Arrow
table, never spliced into SQL. Every row must belong to one of the folder's own runs, a run_id
the warehouse holds must name the same run (stage, annotator, dataset, weights), and every
value passes the importer's checks (``import_checks.check_part``: finite numbers, scores in
[0, 1], whole boxes with x1 <= x2 and y1 <= y2, ...).

A folder that fails a check is refused whole (one sentence naming the file and what is wrong);
the other folders of the same command still land, each in its own transaction, and the command
ends with the refusals and what did land."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from ..core.config import database_path
from ..core.errors import CensusError
from ..core.import_checks import check_part
from ..core.quoting import quote_identifier
from ..core.stages import raw_tables
from .db import IMAGES_CONFLICT, connect, init_schema, now, transaction
from .merge import Column, check_columns
from .parts import RUNS_FILE, part_dirs, read_parquet, run_folders

FRAME = "_census_land_part"
RUNS_FRAME = "_census_land_runs"


REFUSED = "cannot be landed, nothing of its run was landed"
#: what makes a run the same run: a run_id the warehouse holds must agree on all of these
IDENTITY = ("stage", "annotator", "dataset", "model_digest")


@dataclass
class Landed:
    folders: list[Path] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)  # run_id -> status as landed
    added: dict[str, int] = field(default_factory=dict)  # raw table -> rows added


class FolderRefused(CensusError):
    """One run folder failed a check; nothing of it landed, the other folders may have."""


class LandRefused(CensusError):
    """Some run folders were refused; ``landed`` holds what the others added."""

    def __init__(self, message: str, landed: Landed) -> None:
        super().__init__(message)
        self.landed = landed


def _target_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, Column]:
    rows = con.execute(
        "select column_name, data_type, is_nullable = 'NO' and column_default is null "
        "from information_schema.columns where table_catalog = current_database() and table_schema = 'raw' "
        "and table_name = ? order by ordinal_position", [table]).fetchall()
    return {name: Column(name, data_type, required) for name, data_type, required in rows}


def _frame_columns(con: duckdb.DuckDBPyConnection, frame: str) -> dict[str, Column]:
    rows = con.execute(f"select column_name, column_type from (describe {frame})").fetchall()
    return {name: Column(name, data_type, False) for name, data_type in rows}


def _checked(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, path: Path, frame: str) -> list[str]:
    """Register a part file's rows as ``frame`` and return the columns to copy, after the checks."""
    con.register(frame, data)
    return check_columns(table, _target_columns(con, table), _frame_columns(con, frame),
                         f"{path} {REFUSED}", f"its {table} file",
                         "land only parts written by `ingest run --parts` with this raw schema.")


def _identity(stage: str, annotator: str, dataset: str, digest: str | None) -> str:
    weights = f", weights sha256 {digest[:12]}" if digest else ""
    return f"{stage} of {annotator} on dataset {dataset}{weights}"


def _check_identities(con: duckdb.DuckDBPyConnection, path: Path, columns: list[str]) -> None:
    """Refuse a run_id the warehouse holds for a different run: its rows would land inside that run."""
    mine = ", ".join(f"f.{c}" if c in columns else "null" for c in IDENTITY)
    differs = " or ".join(f"f.{c} is distinct from r.{c}" for c in IDENTITY if c in columns)
    clash = con.execute(f"select f.run_id, {mine}, {', '.join(f'r.{c}' for c in IDENTITY)} from {RUNS_FRAME} f "
                        f"join raw.runs r using (run_id) where {differs} order by f.run_id limit 1").fetchone()
    if clash:
        raise CensusError(f"{path} {REFUSED}: its run {clash[0]} ({_identity(*clash[1:5])}) has the run_id of "
                          f"a different run in the warehouse ({_identity(*clash[5:9])}); land only parts "
                          "written by that run's own `ingest run --parts`.")


def _part_files(folder: Path) -> list[tuple[str, Path]]:
    tables = set(raw_tables()) - {"runs"}
    files = []
    for part in part_dirs(folder):
        for path in sorted(part.iterdir()):
            table = path.name.removesuffix(".parquet")
            if not path.name.endswith(".parquet") or table not in tables or not path.is_file():
                raise CensusError(f"{path} is not a part file of a raw table ({', '.join(sorted(tables))}); "
                                  f"nothing of {folder} was landed.")
            files.append((table, path))
    order = {t: i for i, t in enumerate(raw_tables())}  # images before the rows that use them
    return sorted(files, key=lambda tp: (order[tp[0]], str(tp[1])))


def _land_runs(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, str]:
    path = folder / RUNS_FILE
    columns = _checked(con, "runs", read_parquet(path), path, RUNS_FRAME)
    if "status" not in columns or con.execute(f"select count(*) - count(distinct run_id) from {RUNS_FRAME}"
                                              ).fetchone()[0]:
        raise CensusError(f"{path} {REFUSED}: it lacks a status, or names a run twice.")
    _check_identities(con, path, columns)
    names = ", ".join(map(quote_identifier, columns))
    # The parts say `complete` only once the run finished; `running` is a run killed or still going:
    # it lands as `failed`, and landing again after it completes records `complete`.
    values = ", ".join(
        "case when status = 'complete' then 'complete' else 'failed' end" if c == "status"
        else "coalesce(finished_at, ?::timestamp)" if c == "finished_at" else quote_identifier(c) for c in columns)
    params = [now()] if "finished_at" in columns else []
    con.execute(f"insert into raw.runs ({names}) select {values} from {RUNS_FRAME} on conflict (run_id) do update "
                "set status = excluded.status, finished_at = excluded.finished_at "
                "where excluded.status = 'complete' and runs.status <> 'complete'", params)
    return dict(con.execute(f"select run_id, case when status = 'complete' then 'complete' else 'failed' end "
                            f"from {RUNS_FRAME}").fetchall())


def _land_file(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    data = read_parquet(path)
    columns = _checked(con, table, data, path, FRAME)
    check_part(table, data, path, REFUSED)
    owner, runs = ("dataset", "dataset") if table == "images" else ("run_id", "run_id")
    if owner in columns:
        stray = con.execute(f"select count(*) from {FRAME} where {owner} is null "
                            f"or {owner} not in (select {runs} from {RUNS_FRAME})").fetchone()[0]
        if stray:
            raise CensusError(f"{path} {REFUSED}: {stray} of its rows "
                              f"belong to no run of its folder ({owner} not in its {RUNS_FILE}).")
    names = ", ".join(map(quote_identifier, columns))
    conflict = IMAGES_CONFLICT if table == "images" else " on conflict do nothing"
    con.execute(f"insert into {quote_identifier('raw', table)} ({names}) select {names} from {FRAME}{conflict}")
    con.unregister(FRAME)


def land_folder(con: duckdb.DuckDBPyConnection, folder: Path) -> tuple[dict[str, str], dict[str, int]]:
    """Land one run's folder in one transaction; returns its runs' statuses and the rows added.
    A check the folder fails is a ``FolderRefused``; any other failure (the disk, say) a CensusError."""
    try:
        files = _part_files(folder)
    except CensusError as error:
        raise FolderRefused(str(error)) from None
    before = {t: con.execute(f"select count(*) from {quote_identifier('raw', t)}").fetchone()[0] for t in raw_tables()}
    try:
        with transaction(con):  # Ctrl-C included: nothing of the run lands
            statuses = _land_runs(con, folder)
            for table, path in files:
                _land_file(con, table, path)
    except duckdb.Error as error:
        raise CensusError(f"Cannot land {folder}, nothing of its run was landed: {error}") from None
    except CensusError as error:
        raise FolderRefused(str(error)) from None
    finally:
        for frame in (FRAME, RUNS_FRAME):
            with contextlib.suppress(duckdb.Error):
                con.unregister(frame)
    added = {t: con.execute(f"select count(*) from {quote_identifier('raw', t)}").fetchone()[0] - n
             for t, n in before.items()}
    return statuses, added


def _landed_complete(con: duckdb.DuckDBPyConnection, folder: Path) -> bool:
    """Whether the warehouse holds every run of this folder as complete (so all of its parts)."""
    try:
        run_ids = read_parquet(folder / RUNS_FILE, ["run_id"])["run_id"].to_pylist()
    except CensusError:
        return False  # landing it tells what is wrong with it
    complete = con.execute("select count(*) from raw.runs where status = 'complete' and run_id in "
                           "(select unnest(?::varchar[]))", [run_ids]).fetchone()[0]
    return complete == len(set(run_ids))


def land_parts(paths: list[Path], db: Path | None = None, pending_only: bool = False) -> Landed:
    """Land every run folder at ``paths`` (run folders, or folders of them), one transaction each;
    with ``pending_only``, only those the warehouse does not yet hold complete."""
    folders = list(dict.fromkeys(f.resolve() for p in paths for f in run_folders(p)))
    if not folders and not pending_only:
        raise CensusError(f"No run folders (with a {RUNS_FILE}) at {', '.join(map(str, paths))}; "
                          "nothing was landed.")
    landed = Landed(added={t: 0 for t in raw_tables()})
    con = connect(db or database_path())
    try:
        init_schema(con)
        if pending_only:
            folders = [f for f in folders if not _landed_complete(con, f)]
        refused = []
        for folder in folders:
            try:
                statuses, added = land_folder(con, folder)
            except FolderRefused as error:
                refused.append(str(error))  # the folder's own problem: the other folders still land
                continue
            landed.folders.append(folder)
            landed.statuses.update(statuses)
            for table, count in added.items():
                landed.added[table] = landed.added.get(table, 0) + count
    finally:
        con.close()
    if refused:
        others = f" {_others(landed)}" if len(folders) > 1 else ""
        raise LandRefused(" ".join(refused) + others, landed)
    return landed


def _others(landed: Landed) -> str:
    if not landed.folders:
        return "No other run folder was landed."
    added = ", ".join(f"raw.{t} +{n:,}" for t, n in landed.added.items() if n)
    return f"{len(landed.folders)} other run folder(s) were landed ({added or 'no new rows'})."
