"""The one reader of the census marts: which marts a warehouse has built, their columns, and
their rows in a scope (a dataset, a model) as tuples, dicts or DataFrames. A mart that is not
built reads as None (``require`` makes it a CensusError sentence instead); a mart of another
shape (built by an older or newer project) is a MartShapeError sentence."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from ..core.errors import CensusError
from ..core.quoting import quote_identifier
from ..warehouse.db import connect
from .freshness import BUILD_COMMAND
from .marts import built_marts, columns_of
from .scope import EVERYTHING, Scope

#: the sentence of a warehouse whose marts are not built
NOT_BUILT = f"The census marts are not built yet: run `{BUILD_COMMAND}` first (or add --build)."

#: what to select: column names (checked against the mart) or one SQL select list
Columns = Sequence[str] | str


class MartShapeError(CensusError):
    """A mart lacks a column a reader needs (a mart built by an older or newer project)."""

    def __init__(self, mart: str, detail: str, reads: str = "this command"):
        self.mart, self.detail = mart, detail
        super().__init__(f"The {mart} mart lacks a column {reads} reads ({detail}): rebuild the marts with "
                         f"`{BUILD_COMMAND}`.")


class MartReader:
    """Read-only queries over the marts of one warehouse, the rows of one scope. ``reads`` names
    the command in the sentence of a mart of another shape ("this export")."""

    def __init__(self, con: duckdb.DuckDBPyConnection, scope: Scope = EVERYTHING, reads: str = "this command"):
        self.con = con
        self.scope = scope
        self.reads = reads
        self.built = frozenset(built_marts(con))
        self._columns: dict[str, dict[str, str]] = {}

    @classmethod
    @contextmanager
    def open(cls, db: Path | None, scope: Scope = EVERYTHING, reads: str = "this command") -> Iterator[MartReader]:
        """A reader over a read-only connection to the warehouse, closed on leaving."""
        con = connect(db, read_only=True)
        try:
            yield cls(con, scope, reads)
        finally:
            con.close()

    def within(self, scope: Scope) -> MartReader:
        """The same marts read in another scope."""
        other = copy.copy(self)  # shares the connection and the column cache
        other.scope = scope
        return other

    def has(self, *marts: str) -> bool:
        return set(marts) <= self.built

    def require(self, *marts: str, sentence: str | None = None) -> None:
        """A CensusError (sentence, else one naming the missing marts) unless every mart is built."""
        missing = sorted(set(marts) - self.built)
        if missing:
            raise CensusError(sentence or f"This warehouse has no {', '.join(missing)} mart: run `{BUILD_COMMAND}` "
                                          "first.")

    def columns(self, mart: str) -> dict[str, str]:
        """column -> DuckDB type of a built mart, in table order ({} when not built)."""
        if mart not in self._columns:
            self._columns[mart] = dict(columns_of(self.con, mart)) if mart in self.built else {}
        return self._columns[mart]

    def relation(self, mart: str) -> str:
        """The mart's rows in scope as a FROM item named like the mart."""
        return self.scope.relation(self.con, mart)

    def sql(self, mart: str, columns: Columns = "*", *, optional: Sequence[str] = (), where: str = "",
            group: str = "", order: str = "", limit: int | None = None) -> str:
        """The select over the mart's rows in scope. Named columns must exist (MartShapeError);
        optional ones the mart lacks read as NULL."""
        have = self.columns(mart)
        if isinstance(columns, str):
            exprs = [columns]
        else:
            lacking = [c for c in columns if c not in have]
            if lacking:
                raise MartShapeError(mart, ", ".join(lacking), self.reads)
            exprs = [quote_identifier(c) for c in columns]
        exprs += [quote_identifier(c) if c in have else f"null as {quote_identifier(c)}" for c in optional]
        clauses = [f"select {', '.join(exprs)} from {self.relation(mart)}"]
        clauses += [f"{word} {text}" for word, text in (("where", where), ("group by", group), ("order by", order))
                    if text]
        if limit is not None:
            clauses.append(f"limit {int(limit)}")
        return " ".join(clauses)

    def _execute(self, mart: str, sql: str, params: Sequence) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql, list(params))
        except duckdb.BinderException as error:
            raise MartShapeError(mart, str(error).splitlines()[0], self.reads) from error

    def rows(self, mart: str, columns: Columns = "*", *, params: Sequence = (), **query) -> list[tuple] | None:
        """The rows in scope as tuples; None when the mart is not built. ``query``: optional,
        where, group, order, limit as for ``sql``."""
        if mart not in self.built:
            return None
        return self._execute(mart, self.sql(mart, columns, **query), params).fetchall()

    def records(self, mart: str, columns: Columns = "*", *, params: Sequence = (), **query) -> list[dict] | None:
        """The rows in scope as dicts by column name; None when the mart is not built."""
        if mart not in self.built:
            return None
        cursor = self._execute(mart, self.sql(mart, columns, **query), params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def frame(self, mart: str, columns: Columns = "*", *, params: Sequence = (), **query) -> pd.DataFrame | None:
        """The rows in scope as a DataFrame; None when the mart is not built."""
        if mart not in self.built:
            return None
        return self._execute(mart, self.sql(mart, columns, **query), params).df()

    def count(self, mart: str) -> int:
        """Rows in scope (0 when the mart is not built)."""
        rows = self.rows(mart, "count(*)")
        return rows[0][0] if rows else 0
