"""Read-only queries over the marts for the report, and the choice of rows its charts show (the
primary split, the primary model)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ...core.classes import class_names
from ..marts import built_marts, columns_of
from ..scope import EVERYTHING, Scope


class MartShapeError(Exception):
    """A mart lacks a column the report needs (a mart built by an older or newer project)."""


class Marts:
    """Read-only queries over the marts of one warehouse, the rows of one scope (a dataset, a
    model); a missing mart reads as None."""

    def __init__(self, con, scope: Scope = EVERYTHING):
        self.con = con
        self.scope = scope
        self.tables = set(built_marts(con))
        self._columns: dict[str, set[str]] = {}
        self._lemmas: dict[str, str] | None = None

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            self._columns[table] = {c for c, _ in columns_of(self.con, table)} if table in self.tables else set()
        return self._columns[table]

    def frame(self, table: str, columns: list[str], optional: Iterable[str] = (),
              where: str = "") -> pd.DataFrame | None:
        """The mart's columns (optional ones filled with NULL where the mart lacks them), or None
        when the mart is not built."""
        if table not in self.tables:
            return None
        have = self.columns(table)
        lacking = [c for c in columns if c not in have]
        if lacking:
            raise MartShapeError(f"{table} lacks {', '.join(lacking)}")
        exprs = [f'"{c}"' for c in columns] + [f'"{c}"' if c in have else f'null as "{c}"' for c in optional]
        sql = f'select {", ".join(exprs)} from {self.scope.relation(self.con, table)}' + (
            f" where {where}" if where else "")
        return self.con.execute(sql + " order by all").df()  # the same page from the same marts

    def lemmas(self) -> dict[str, str]:
        """wnid -> WordNet's lemma names, for wnids outside ILSVRC (the label_audit mart, where
        `ingest labels audit` ran); empty without it."""
        if self._lemmas is None:
            self._lemmas = {}
            if {"wnid", "lemmas"} <= self.columns("label_audit"):
                self._lemmas = dict(self.con.execute('select wnid, min(lemmas) from main."label_audit" '
                                                     "where lemmas is not null group by wnid").fetchall())
        return self._lemmas

    def name_classes(self, frame: pd.DataFrame, column: str = "wnid") -> pd.DataFrame:
        """frame with `class`: each wnid's name, distinct across the frame ("crane (n02012849)"),
        "(unlabelled)" for images under no class."""
        names = class_names(frame[column].fillna(""), self.lemmas())
        frame["class"] = frame[column].fillna("").astype(str).map(names)
        return frame


def model_column(frame: pd.DataFrame, column: str = "annotator") -> pd.Series:
    """The model name to show: the annotator, with the dataset when the frame holds several."""
    if "dataset" in frame and frame["dataset"].notna().any() and frame["dataset"].nunique() > 1:
        return frame[column].astype(str) + " · " + frame["dataset"].astype(str)
    return frame[column].astype(str)


def primary_split(frame: pd.DataFrame) -> str:
    """train where present (the papers audit train), else the split with the most rows."""
    splits = frame["split"].value_counts()
    return "train" if "train" in splits.index else str(splits.index[0])


def primary_model(frame: pd.DataFrame, weight: str = "n_images") -> str:
    """The model with the most processed images (ties alphabetical): the one class charts show."""
    totals = frame.groupby("model")[weight].sum().reset_index().sort_values([weight, "model"],
                                                                             ascending=[False, True])
    return str(totals["model"].iloc[0])
