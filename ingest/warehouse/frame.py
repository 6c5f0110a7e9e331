"""One raw table's rows of a batch as an Arrow table, refused unless every row's keys are
exactly the columns the writer fills (a misspelt key would otherwise land as NULL)."""

from __future__ import annotations

import pyarrow as pa

from ..core.errors import CensusError


def rows_frame(table: str, rows: list[dict], columns: list[str]) -> pa.Table:
    """The rows as columns, in ``columns`` order; a row with an unknown or a missing key raises."""
    # two checks for the whole batch, none per value: no row lacks a column (row[c] would
    # raise) and the key counts add up (so no row has a key beyond the columns)
    if sum(map(len, rows)) != len(rows) * len(columns):
        raise _wrong_keys(table, rows, columns)
    try:
        return pa.table({c: [row[c] for row in rows] for c in columns})
    except KeyError:
        raise _wrong_keys(table, rows, columns) from None


def _wrong_keys(table: str, rows: list[dict], columns: list[str]) -> CensusError:
    wanted = set(columns)
    row = next(r for r in rows if r.keys() != wanted)
    unknown, missing = sorted(row.keys() - wanted), [c for c in columns if c not in row]
    parts = [f"unknown {', '.join(unknown)}" if unknown else "", f"missing {', '.join(missing)}" if missing else ""]
    return CensusError(f"A row for raw.{table} has keys that are not its columns ({'; '.join(p for p in parts if p)}): "
                       "a model or the row mapper built it wrong; nothing of this batch was written.")
