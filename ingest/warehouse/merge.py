"""``ingest merge``: fold another warehouse's raw rows (e.g. a shard run elsewhere) into this
one. Keys decide identity, so merging twice adds nothing.

The shard is untrusted input: its path is passed as a quoted SQL string literal, its schema is
checked against this warehouse's raw tables before any row is read, and the columns copied
are this warehouse's own (quoted), never names read from the shard."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..core.config import database_path
from ..core.errors import CensusError
from ..core.quoting import quote_identifier, quote_literal
from ..core.stages import SIDE_TABLES, optional_tables, raw_tables
from .db import connect, init_schema, transaction

ALIAS = "census_merge_shard"
# Shard column types a target column of the key type accepts without loss.
WIDENS = {
    "BIGINT": {"INTEGER", "SMALLINT", "TINYINT"},
    "INTEGER": {"SMALLINT", "TINYINT"},
    "DOUBLE": {"FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT"},
}


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    required: bool  # NOT NULL without a default: a shard must supply it


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> dict[str, Column]:
    rows = con.execute(
        "select column_name, data_type, is_nullable = 'NO' and column_default is null "
        "from information_schema.columns where table_catalog = ? and table_schema = 'raw' "
        "and table_name = ? order by ordinal_position",
        [catalog, table],
    ).fetchall()
    return {name: Column(name, data_type, required) for name, data_type, required in rows}


def _compatible(target: Column, shard: Column) -> bool:
    return shard.data_type == target.data_type or shard.data_type in WIDENS.get(target.data_type, ())


def check_columns(table: str, target: dict[str, Column], source: dict[str, Column], where: str,
                  its: str, hint: str) -> list[str]:
    """The target's columns to copy from a source table (a shard's, a part file's), after checking
    the source against them; ``where`` starts each sentence, ``its`` names the source's table."""
    if not source:
        raise CensusError(f"{where}: {its} has no columns; {hint}")
    unknown = sorted(set(source) - set(target))
    if unknown:
        raise CensusError(f"{where}: {its} has columns this warehouse does not know "
                          f"({', '.join(map(repr, unknown))}); {hint}")
    missing = [c.name for c in target.values() if c.required and c.name not in source]
    if missing:
        raise CensusError(f"{where}: {its} lacks the required columns {', '.join(missing)}; {hint}")
    clashes = [f"{name} is {source[name].data_type}, not {column.data_type}"
               for name, column in target.items() if name in source and not _compatible(column, source[name])]
    if clashes:
        raise CensusError(f"{where}: in {its}, {'; '.join(clashes)}.")
    return [name for name in target if name in source]


def _shard_columns(table: str, target: dict[str, Column], shard: dict[str, Column],
                   other: Path) -> list[str]:
    """The target's columns to copy from the shard, after checking the shard against them."""
    where = f"{other} cannot be merged, nothing was merged"
    if not shard:
        raise CensusError(f"{where}: it has no raw.{table} table; is it a census warehouse?")
    return check_columns(table, target, shard, where, f"its raw.{table}",
                         "merge only census warehouses written by `ingest` with this raw schema.")


def _refuse_self(other: Path, target: Path) -> None:
    if target.exists() and os.path.samefile(other, target):
        raise CensusError(f"{other} is this warehouse ({target}) itself; merge another "
                          "warehouse's file (e.g. a shard's) into it.")


def _attach(con: duckdb.DuckDBPyConnection, other: Path) -> None:
    try:
        con.execute(f"attach {quote_literal(str(other))} as {ALIAS} (read_only, type duckdb)")
    except duckdb.Error as error:
        raise CensusError(f"Cannot open {other} as a DuckDB warehouse ({error}); nothing was merged.") from error


def _refuse_views(con: duckdb.DuckDBPyConnection, other: Path) -> None:
    """A view runs the shard's SQL when read; only plain tables are merged."""
    views = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'raw' "
        "and table_type <> 'BASE TABLE' order by 1", [ALIAS]).fetchall() if r[0] in (*raw_tables(), *SIDE_TABLES)]
    if views:
        names = ", ".join(f"raw.{v}" for v in views)
        raise CensusError(f"{other} cannot be merged, nothing was merged: {names} in it "
                          f"{'is a view' if len(views) == 1 else 'are views'}, not tables; merge only "
                          "warehouses written by `ingest`.")


def _plan(con: duckdb.DuckDBPyConnection, other: Path) -> dict[str, list[str]]:
    """Per raw table, the columns to copy; raises before any row is read if the shard is off."""
    _refuse_views(con, other)
    target_catalog = con.execute("select current_database()").fetchone()[0]
    tables = (*raw_tables(), *SIDE_TABLES)
    shard = {table: _columns(con, ALIAS, table) for table in tables}
    # a shard written before an extra, import-only or side table existed has none to give
    optional = {*optional_tables(), *SIDE_TABLES}
    return {table: _shard_columns(table, _columns(con, target_catalog, table), shard[table], other)
            for table in tables if shard[table] or table not in optional}


def _copy(con: duckdb.DuckDBPyConnection, plan: dict[str, list[str]], other: Path) -> dict[str, int]:
    added: dict[str, int] = {}
    try:
        with transaction(con):
            for table, columns in plan.items():
                names = ", ".join(map(quote_identifier, columns))
                target = quote_identifier("raw", table)
                before = con.execute(f"select count(*) from {target}").fetchone()[0]
                con.execute(f"insert into {target} ({names}) select {names} "
                            f"from {quote_identifier(ALIAS, 'raw', table)} on conflict do nothing")
                added[table] = con.execute(f"select count(*) from {target}").fetchone()[0] - before
    except duckdb.Error as error:
        raise CensusError(f"Cannot merge {other}, nothing was merged: {error}") from error
    return added


def merge_warehouse(other: Path, db: Path | None = None) -> dict[str, int]:
    if not other.is_file():
        raise CensusError(f"No warehouse file at {other}.")
    other = other.resolve()
    _refuse_self(other, Path(db or database_path()))
    con = connect(db)
    try:
        init_schema(con)
        _attach(con, other)
        try:
            return _copy(con, _plan(con, other), other)
        finally:
            con.execute(f"detach {ALIAS}")
    finally:
        con.close()
