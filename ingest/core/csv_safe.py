"""CSV cells a spreadsheet will not run: OWASP's rule against CSV (formula) injection.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)``, ``+cmd|...``), so every
CSV the product writes prefixes such a cell with a single quote ``'``, which the spreadsheet
shows as text. Only text cells: numbers (a negative score too), booleans and times are written
as they are. Parquet files keep the raw values; this is for CSV alone."""

from __future__ import annotations

import pandas as pd

from .quoting import quote_identifier

#: first characters that make a spreadsheet evaluate a cell
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: DuckDB types whose cells are written as they are (not text)
_NOT_TEXT = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
             "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE", "DECIMAL", "NUMERIC", "BOOLEAN", "DATE", "TIME",
             "TIMESTAMP", "INTERVAL")


def escape_cell(value: object) -> object:
    """The value, with a leading ``'`` when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell escaped (numeric columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_datetime64_any_dtype(out[column])):
            out[column] = out[column].map(escape_cell, na_action="ignore")
    return out


def is_text_type(duckdb_type: str) -> bool:
    """Whether a DuckDB column's CSV cells are text (anything but numbers, booleans, times)."""
    return not duckdb_type.upper().startswith(_NOT_TEXT)


def sql_cell(column: str, duckdb_type: str) -> str:
    """A DuckDB select expression for one column of a CSV export, named as the column."""
    quoted = quote_identifier(column)
    if not is_text_type(duckdb_type):
        return quoted
    text = f"cast({quoted} as varchar)"
    starts = ", ".join(["'='", "'+'", "'-'", "'@'", "chr(9)", "chr(13)"])
    return f"case when left({text}, 1) in ({starts}) then '''' || {text} else {text} end as {quoted}"
