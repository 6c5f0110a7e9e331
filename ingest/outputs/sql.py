"""Read-only SQL over the warehouse: the analyst's console (`ingest sql`, Harlequin on the
warehouse file), one query (`ingest sql -c`) printed as a table or written as CSV/Parquet,
and the runner behind `ingest analyses run`.

The warehouse is always opened read-only, so a write statement typed by mistake is refused
(a safety catch, not a permission: whoever can run this can write the file anyway); DuckDB's
errors come back as one sentence each (``CensusError``)."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..core.config import database_path
from ..core.csv_safe import sql_cell
from ..core.errors import CensusError
from ..core.quoting import quote_identifier
from ..warehouse.db import connect
from .marts import built_marts

#: rows a printed table shows; the rest are named, never dropped silently
MAX_PRINTED_ROWS = 1000
NO_MARTS = "The warehouse {db} has no marts yet: run dbt build (make demo does)."


@dataclass(frozen=True)
class Rows:
    """The first rows of a result, and whether there are more."""

    columns: list[str]
    types: list[str]
    rows: list[tuple]
    more: bool


def _first_lines(error: duckdb.Error) -> str:
    """DuckDB's message without its caret picture (``LINE 1: ...``), on one line."""
    text = str(error).split("\nLINE ")[0]
    return " ".join(text.split())


def _has_marts(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        return bool(built_marts(con))
    except duckdb.Error:  # the connection is past use: say what DuckDB said, not this
        return True


def _sentence(error: duckdb.Error, db: Path, con: duckdb.DuckDBPyConnection, what: str) -> str:
    message = _first_lines(error)
    if isinstance(error, duckdb.ParserException):
        return f"{what} is not valid SQL: {message.removeprefix('Parser Error: ')}"
    if isinstance(error, duckdb.InvalidInputException) and "read-only" in message:
        return (f"{what} would change the warehouse, which `ingest sql` opens read-only ({message}); "
                "the warehouse is written by `ingest run`/`ingest import` and dbt build only.")
    if isinstance(error, duckdb.CatalogException):
        if not _has_marts(con):
            return NO_MARTS.format(db=db)
        return (f"{what} failed: {message}; `ingest sql -c \"show all tables\"` lists the tables "
                "(run dbt build, as make demo does, if a mart is missing).")
    return f"{what} failed: {message}"


@contextlib.contextmanager
def reading(db: Path | None = None, what: str = "The query") -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection whose DuckDB errors leave as one sentence."""
    path = Path(db or database_path())
    con = connect(path, read_only=True)
    try:
        yield con
    except duckdb.Error as error:
        raise CensusError(_sentence(error, path, con, what)) from error
    finally:
        con.close()


def execute(con: duckdb.DuckDBPyConnection, query: str) -> duckdb.DuckDBPyRelation | None:
    """The result of the query's last statement (None when it returns nothing, e.g. SET)."""
    if not query.strip().strip(";").strip():
        raise CensusError("The query is empty: pass SQL with -c, e.g. -c \"show all tables\".")
    return con.sql(query)


def first_rows(relation: duckdb.DuckDBPyRelation | None, limit: int = MAX_PRINTED_ROWS) -> Rows:
    if relation is None:
        return Rows([], [], [], False)
    rows = relation.limit(limit + 1).fetchall()
    return Rows(list(relation.columns), [str(t) for t in relation.types], rows[:limit], len(rows) > limit)


def _unique(names: list[str]) -> list[str]:
    """Column names made unique as DuckDB's own writers do (a, a_1, ...)."""
    seen: set[str] = set()
    result = []
    for name in names:
        unique, n = name, 0
        while unique in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique)
        result.append(unique)
    return result


def _csv_safe(relation: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """The result with spreadsheet-safe text cells (``csv_safe``); columns picked by position,
    so that two columns of the same name stay two columns."""
    names = _unique(list(relation.columns))
    renamed = relation.project(", ".join(f"#{i} as {quote_identifier(name)}" for i, name in enumerate(names, start=1)))
    return renamed.project(", ".join(sql_cell(name, str(kind)) for name, kind in zip(names, relation.types,
                                                                                      strict=True)))


def write_file(relation: duckdb.DuckDBPyRelation | None, out_dir: Path, stem: str, fmt: str) -> tuple[Path, int]:
    """Write the result as out_dir/<stem>.<fmt> (atomically: a failed write leaves no file) and
    count its rows; CSV text cells a spreadsheet would run as a formula get a leading '."""
    if relation is None:
        raise CensusError("The query returns no result to write (e.g. a SET or PRAGMA statement).")
    if out_dir.exists() and not out_dir.is_dir():
        raise CensusError(f"--out {out_dir} is a file: name a folder (it is created if missing).")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}.{fmt}"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "parquet":
            relation.write_parquet(str(tmp))
            read = "read_parquet(?)"
        else:
            _csv_safe(relation).write_csv(str(tmp), header=True)
            read = "read_csv(?, header = true, all_varchar = true, delim = ',', quote = '\"')"
        with duckdb.connect() as scratch:
            count = scratch.execute(f"select count(*) from {read}", [str(tmp)]).fetchone()[0]
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path, count


# ---------------------------------------------------------------- the interactive console


def console_command(db: Path) -> list[str]:
    """Harlequin on the warehouse file, read-only, with DuckDB's adapter."""
    return [sys.executable, "-m", "harlequin", "--adapter", "duckdb", "--read-only", str(db)]


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def open_console(db: Path | None = None, notify: Callable[[str], None] = print) -> int:
    """Run Harlequin on the warehouse until the user quits; its exit code."""
    path = Path(db or database_path())
    if not path.is_file():
        raise CensusError(f"No warehouse at {path}: run `ingest init` or `ingest run` first (make demo builds one).")
    if importlib.util.find_spec("harlequin") is None:
        raise CensusError("The SQL console needs Harlequin, which is not installed (pip install harlequin, or "
                          "make setup); `ingest sql -c \"select ...\"` runs one query without it.")
    if not _interactive():
        raise CensusError("`ingest sql` without -c opens an interactive console and needs a terminal; "
                          "pass a query with -c \"select ...\" instead.")
    with reading(path) as con:
        if not built_marts(con):
            notify(NO_MARTS.format(db=path) + " The raw tables can be browsed meanwhile.")
    return subprocess.call(console_command(path))


def plain(value: object) -> str:
    """A cell as printed: NULL for a missing value, else its text."""
    return "NULL" if value is None else str(value)


def is_numeric(duckdb_type: str) -> bool:
    return bool(re.match(r"(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|REAL|DOUBLE|DECIMAL)", duckdb_type.upper()))
