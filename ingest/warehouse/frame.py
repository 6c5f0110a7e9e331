"""One raw table's rows of a batch as an Arrow table, refused when a key is not one of the
table's columns (a misspelt key would otherwise land as NULL) or when a row lacks a column of
its typed record (core.rows). A column the table has beyond the record (the schema may gain
columns, never rename them) is left to its default, NULL."""

from __future__ import annotations

import pyarrow as pa

from ..core.errors import CensusError
from ..core.rows import contract_columns


def rows_frame(table: str, rows: list[dict], columns: list[str]) -> pa.Table:
    """The rows as columns, in the table's order (``columns``), holding the keys of the rows."""
    keys = set(rows[0])
    filled = [c for c in columns if c in keys]
    required = contract_columns(table) or ()
    # checks for the whole batch, none per value: every key is a column and every required
    # column is there (first row), every row has as many keys (counts) and the same (row[c])
    if len(filled) != len(keys) or any(c not in keys for c in required) \
            or sum(map(len, rows)) != len(rows) * len(filled):
        raise _wrong_keys(table, rows, columns, filled, required)
    try:
        return pa.table({c: [row[c] for row in rows] for c in filled})
    except KeyError:
        raise _wrong_keys(table, rows, columns, filled, required) from None


def _wrong_keys(table: str, rows: list[dict], columns: list[str], filled: list[str],
                required: tuple[str, ...]) -> CensusError:
    known = set(columns)
    wanted = set(filled) | set(required)
    row = next((r for r in rows if not (r.keys() <= known) or r.keys() != wanted), rows[0])
    unknown = sorted(row.keys() - known)
    missing = [c for c in columns if c in wanted and c not in row]
    parts = [f"unknown {', '.join(unknown)}" if unknown else "", f"missing {', '.join(missing)}" if missing else ""]
    return CensusError(f"A row for raw.{table} has keys that are not its columns ({'; '.join(p for p in parts if p)}): "
                       "a model or the row mapper built it wrong; nothing of this batch was written.")
