"""Are the marts older than the raw rows? And `--build`: run `dbt build` before reading them.

Each mart records, when dbt builds it, what the raw tables held at that moment (a post-hook of
every mart, macros/mart_builds.sql, into ``meta.mart_builds``): the newest run time (its
finish, else its start) and the row count of every ``raw.*`` table. The record lives in the
warehouse itself, so it travels with the file and holds for any target path, partial build
(``--select``) or copy. A mart whose record differs from what the raw tables hold now is
stale: a run, an import, a landing, reviews, labels or a label audit came after it. Counting
catches what a timestamp alone misses (parts landed from another machine with an older start
time, rows without a run). `summary`, `card`, `report` and `export` then say so in one
sentence. A mart without a record (built before the record existed) and a warehouse without
raw tables (marts shipped alone) give no sentence: nothing to compare.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb

from ..core.config import database_path, dbt_env
from ..core.errors import CensusError
from ..core.quoting import quote_identifier
from ..warehouse.db import connect, table_exists
from .marts import MART_SCHEMA, PROJECT_DIR, dbt_executable

BUILD_LOG_SCHEMA = "meta"
BUILD_LOG = "mart_builds"
BUILD_COMMAND = "dbt build --profiles-dir ."


def raw_fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[object, dict[str, int]] | None:
    """(newest run time, row count of every raw table) now, as the post-hook records them;
    None without raw.runs."""
    if not table_exists(con, "raw", "runs"):
        return None
    tables = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = "
                                        "'raw' and table_type = 'BASE TABLE' order by 1").fetchall()]
    counts = {t: con.execute(f"select count(*) from {quote_identifier('raw', t)}").fetchone()[0] for t in tables}
    last = con.execute("select max(coalesce(finished_at, started_at)) from raw.runs").fetchone()[0]
    return last, counts


def _changed(record_last, record_rows: str | None, last, counts: dict[str, int]) -> list[str]:
    """The raw tables that differ from a build's record."""
    then = json.loads(record_rows) if record_rows else {}
    changed = [f"raw.{t}" for t in sorted(set(then) | set(counts)) if then.get(t, 0) != counts.get(t, 0)]
    if record_last != last and "raw.runs" not in changed:
        changed.insert(0, "raw.runs")
    return changed


def _when(value) -> str:
    if value is None:
        return "an unknown time"
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return f"{value:%Y-%m-%d %H:%M} UTC" if isinstance(value, dt.datetime) else str(value)


def stale_sentence(con: duckdb.DuckDBPyConnection) -> str | None:
    """One sentence when a built mart is older than the raw rows, else None."""
    if not table_exists(con, BUILD_LOG_SCHEMA, BUILD_LOG):
        return None
    now = raw_fingerprint(con)
    if now is None:
        return None
    last, counts = now
    records = con.execute(
        f"select log.built_at, log.last_run_at, log.raw_rows from {BUILD_LOG_SCHEMA}.{BUILD_LOG} as log "
        "inner join information_schema.tables as t on t.table_schema = ? and t.table_name = log.mart",
        [MART_SCHEMA]).fetchall()
    changed: list[str] = []
    built = []
    for built_at, record_last, record_rows in records:
        differs = _changed(record_last, record_rows, last, counts)
        if differs:
            built.append(built_at)
            changed += [t for t in differs if t not in changed]
    if not changed:
        return None
    oldest = min((b for b in built if b is not None), default=None)
    newest_run = f"; newest run {_when(last)}" if last is not None else ""
    return (f"The marts are older than the raw rows ({', '.join(changed)} changed since the build of "
            f"{_when(oldest)}{newest_run}): run `{BUILD_COMMAND}`, or add --build, to bring them up to date.")


def check(db: Path | None = None) -> str | None:
    """stale_sentence for the warehouse at db (default: CENSUS_DB); None where it cannot be opened."""
    path = Path(db or database_path())
    if not path.exists():
        return None
    con = connect(path, read_only=True)
    try:
        return stale_sentence(con)
    finally:
        con.close()


def build(db: Path | None = None, project_dir: Path = PROJECT_DIR) -> None:
    """`dbt build` of the project on the warehouse at db (default: CENSUS_DB); its log goes to
    stderr. A CensusError in one sentence where the project is missing or the build fails."""
    if not (project_dir / "dbt_project.yml").is_file():
        raise CensusError(f"--build needs the dbt project (dbt_project.yml), not found in {project_dir}: run "
                          f"`{BUILD_COMMAND}` from the project folder instead.")
    path = Path(db or database_path()).resolve()
    env = dbt_env(path)
    command = [*dbt_executable(BUILD_COMMAND), "build", "--profiles-dir", str(project_dir),
               "--project-dir", str(project_dir)]
    try:
        sys.stderr.fileno()
        result = subprocess.run(command, cwd=project_dir, env=env, stdout=sys.stderr, stderr=sys.stderr, check=False)
    except (AttributeError, OSError, ValueError):  # a stderr without a file (captured): relay the log
        result = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, check=False)
        sys.stderr.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise CensusError(f"dbt build failed (exit code {result.returncode}) on {path}: its log above names the "
                          "model or test; fix it and run the command again.")
