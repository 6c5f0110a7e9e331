"""Which dataset, and which model, a command that reads the marts describes.

Every headline mart carries ``dataset`` in its grain (DESIGN.md, "One dataset at a time"), so
`summary`, `card`, `report` and `export` describe one dataset: the one asked for with
``--dataset``, else the warehouse's only one; with several and none chosen they refuse and
list them. ``--annotator`` narrows further to one model: a mart that names the model in one of
its model columns keeps that model's rows only; a mart that never names it (another stage's
model) is kept whole. Marts without a dataset column (the evaluation against reference labels,
the reviewers' agreement) are shown whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..core.errors import CensusError
from ..core.quoting import quote_identifier, quote_literal
from ..warehouse.db import table_exists
from .marts import MART_SCHEMA, columns_of

#: the mart whose rows list every (model, stage, dataset) the marts describe
COVERAGE = "annotator_coverage"
#: columns that name a model; --annotator matches any of them
MODEL_COLUMNS = ("annotator", "annotator_a", "annotator_b", "face_annotator", "nsfw_annotator",
                 "classifier_annotator", "reference")


def datasets(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every dataset the marts describe (annotator_coverage) or the raw tables hold (raw.images),
    sorted: a dataset ingested since the last build is listed too."""
    parts = []
    if table_exists(con, MART_SCHEMA, COVERAGE):
        parts.append(f"select dataset from {quote_identifier(MART_SCHEMA, COVERAGE)}")
    if table_exists(con, "raw", "images"):
        parts.append("select dataset from raw.images")
    if not parts:
        return []
    rows = con.execute(f"select distinct dataset from ({' union all '.join(parts)}) "
                       "where dataset is not null order by 1").fetchall()
    return [r[0] for r in rows]


def annotators(con: duckdb.DuckDBPyConnection, dataset: str | None) -> list[str]:
    """The models the coverage mart lists for the dataset (every dataset when None), sorted."""
    if not table_exists(con, MART_SCHEMA, COVERAGE):
        return []
    where, params = ("where dataset = ?", [dataset]) if dataset is not None else ("", [])
    rows = con.execute(f"select distinct annotator from {quote_identifier(MART_SCHEMA, COVERAGE)} {where} order by 1",
                       params).fetchall()
    return [r[0] for r in rows]


def _listing(names: list[str]) -> str:
    return ", ".join(names)


def choose_dataset(con: duckdb.DuckDBPyConnection, requested: str | None) -> str | None:
    """The dataset to describe: the one requested (it must exist), else the only one; None for a
    warehouse that holds none. Several and none requested: a CensusError listing them."""
    names = datasets(con)
    if requested is not None:
        if requested not in names:
            held = f"it holds {_listing(names)}" if names else "it holds no dataset yet"
            raise CensusError(f"This warehouse has no dataset {requested!r} ({held}): check the name given "
                              "with --dataset.")
        return requested
    if len(names) > 1:
        raise CensusError(f"This warehouse holds {len(names)} datasets ({_listing(names)}): choose one with "
                          "--dataset NAME.")
    return names[0] if names else None


def choose_annotator(con: duckdb.DuckDBPyConnection, dataset: str | None, requested: str | None) -> str | None:
    """The model requested with --annotator (it must have processed the dataset), or None."""
    if requested is None:
        return None
    names = annotators(con, dataset)
    if requested not in names:
        where = f"dataset {dataset!r}" if dataset is not None else "this warehouse"
        held = f"its models are {_listing(names)}" if names else "no model processed it, or the marts are not built"
        raise CensusError(f"No model {requested!r} processed {where} ({held}): check the name given with "
                          "--annotator.")
    return requested


@dataclass(frozen=True)
class Scope:
    """The rows a command describes: one dataset (None: no filter) and optionally one model."""

    dataset: str | None = None
    annotator: str | None = None

    def condition(self, con: duckdb.DuckDBPyConnection, table: str) -> str:
        """A SQL condition over the mart's own columns selecting the rows in scope ("true" if all)."""
        have = {c for c, _ in columns_of(con, table)}
        terms = []
        if self.dataset is not None and "dataset" in have:
            terms.append(f'"dataset" = {quote_literal(self.dataset)}')
        models = [c for c in MODEL_COLUMNS if c in have]
        if self.annotator is not None and models:
            names = ", ".join(map(quote_identifier, models))
            name = quote_literal(self.annotator)
            named = " and ".join([*terms, f"{name} in ({names})"])
            # a mart that never names the model for these rows (another stage's) is kept whole
            terms.append(f"({name} in ({names}) or not exists (select 1 from {quote_identifier(MART_SCHEMA, table)} "
                         f"where {named}))")
        return " and ".join(terms) or "true"

    def relation(self, con: duckdb.DuckDBPyConnection, table: str) -> str:
        """The mart's rows in scope as a FROM item named like the mart."""
        mart = quote_identifier(MART_SCHEMA, table)
        return f"(select * from {mart} where {self.condition(con, table)}) as {quote_identifier(table)}"

    def describe(self) -> str:
        """Words for headers: `dataset X` (and `model Y`)."""
        parts = []
        if self.dataset is not None:
            parts.append(f"dataset {self.dataset}")
        if self.annotator is not None:
            parts.append(f"model {self.annotator}")
        return ", ".join(parts)


#: no filter: every row of every mart
EVERYTHING = Scope()


def resolve(con: duckdb.DuckDBPyConnection, dataset: str | None, annotator: str | None = None) -> Scope:
    """The scope of a command run with --dataset and --annotator (either may be None)."""
    chosen = choose_dataset(con, dataset)
    return Scope(chosen, choose_annotator(con, chosen, annotator))
