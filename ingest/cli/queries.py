"""The analyst's door to the warehouse, always read-only: `ingest sql` and `ingest analyses`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..core.errors import CensusError
from .app import group
from .console import notice, out, out_folder
from .options import DbOption


class QueryFormat(StrEnum):
    table = "table"
    csv = "csv"
    parquet = "parquet"


QueryFormatOption = Annotated[QueryFormat, typer.Option(
    "--format", help="table: print the result; csv or parquet: write it as a file in --out DIR.")]
QueryOutOption = Annotated[Path | None, typer.Option("--out", help=(
    "Folder to write the result into (created): query.csv|parquet for `ingest sql -c`, NAME.csv|parquet for "
    "`ingest analyses run NAME`."))]


def _check_output(fmt: QueryFormat, output: Path | None, stem: str) -> None:
    if fmt is QueryFormat.table and output is not None:
        raise CensusError("--out writes a file: add --format csv or --format parquet (without them the result "
                          "is printed).")
    if fmt is not QueryFormat.table and output is None:
        raise CensusError(f"--format {fmt.value} writes a file: name its folder with --out DIR.")
    if output is not None:
        out_folder(output, f"{stem}.{fmt.value}")


def _show_result(relation, fmt: QueryFormat, output: Path | None, stem: str) -> None:
    """Print the result as a table, or write it as <stem>.csv / <stem>.parquet in --out."""
    from rich.box import SIMPLE_HEAD
    from rich.text import Text

    from ..outputs.sql import MAX_PRINTED_ROWS, first_rows, is_numeric, plain, write_file

    if fmt is not QueryFormat.table:
        path, count = write_file(relation, output, stem, fmt.value)
        out.print(f"Wrote {count:,} row(s) to {path}", markup=False, highlight=False, soft_wrap=True)
        return
    rows = first_rows(relation)
    if not rows.columns:
        out.print("OK (the statement returns no rows).", markup=False, highlight=False)
        return
    table = Table(box=SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, kind in zip(rows.columns, rows.types, strict=True):
        # fold, never cut: a wide result wraps in its cells instead of losing characters to "…"
        table.add_column(Text(name), justify="right" if is_numeric(kind) else "left", overflow="fold")
    for row in rows.rows:
        table.add_row(*(Text(plain(value)) for value in row))
    out.print(table)
    out.print(f"({len(rows.rows):,} row(s){' shown' if rows.more else ''})", markup=False, highlight=False)
    if rows.more:
        notice(f"only the first {MAX_PRINTED_ROWS:,} rows are shown; --format csv or parquet with --out DIR "
                "writes them all.")


def sql_console(
    command: Annotated[str | None, typer.Option(
        "-c", "--command", help="Run this SQL and print its result, instead of opening the console.")] = None,
    fmt: QueryFormatOption = QueryFormat.table,
    output: QueryOutOption = None,
    db: DbOption = None,
) -> None:
    """Open the warehouse read-only in a SQL console (Harlequin: DuckDB's SQL, a catalog of the
    tables, completion), or run one query with -c, e.g. `ingest sql -c "select * from
    census_overview"`. Marts are in the default schema; raw.*, staging.*, intermediate.* and
    reference.* (seeds) beside them. The warehouse is opened read-only: a write statement
    is refused."""
    from ..outputs.sql import execute, open_console, reading

    if command is None:
        if fmt is not QueryFormat.table or output is not None:
            raise CensusError("--format and --out go with a query: ingest sql -c \"select ...\" --format csv "
                              "--out DIR.")
        code = open_console(db, notify=notice)
        if code:
            raise typer.Exit(code)
        return
    _check_output(fmt, output, "query")
    with reading(db) as con:
        _show_result(execute(con, command), fmt, output, "query")


analyses_app = group("The papers' tables as queries (the dbt analyses in analyses/), run read-only.")


@analyses_app.command("list")
def analyses_list() -> None:
    """List the analyses and what each reproduces."""
    from ..outputs.analyses import available

    analyses = available()
    table = Table("analysis", "what it reproduces", box=None, pad_edge=False)
    for analysis in analyses.values():
        table.add_row(analysis.name, analysis.summary)
    out.print(table, markup=False, highlight=False)


@analyses_app.command("run")
def analyses_run(
    name: Annotated[str, typer.Argument(help="An analysis, e.g. table4_humans_of_imagenet (`ingest analyses list`).")],
    fmt: QueryFormatOption = QueryFormat.table,
    output: QueryOutOption = None,
    db: DbOption = None,
) -> None:
    """Run one analysis on the warehouse (its {{ ref() }}s rendered as dbt compiles them, vars at
    dbt_project.yml's defaults) and print its table, or write NAME.csv / NAME.parquet in --out."""
    from ..outputs.analyses import find, render
    from ..outputs.sql import execute, reading

    analysis = find(name)
    _check_output(fmt, output, analysis.name)
    with reading(db, what=f"The analysis {analysis.name}") as con:
        catalog = con.sql("select current_database()").fetchall()[0][0]
        _show_result(execute(con, render(analysis, catalog)), fmt, output, analysis.name)
