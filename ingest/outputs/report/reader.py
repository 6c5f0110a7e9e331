"""Read-only queries over the marts for the report, and the choice of rows its charts show (the
primary split, the primary model)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ...core.classes import class_names
from ..reader import MartReader, MartShapeError
from ..scope import EVERYTHING, Scope

__all__ = ["MartShapeError", "Marts", "model_column", "primary_model", "primary_split"]


class Marts(MartReader):
    """The report's reader of the marts of one warehouse, the rows of one scope (a dataset, a
    model); a missing mart reads as None."""

    def __init__(self, con, scope: Scope = EVERYTHING):
        super().__init__(con, scope, reads="the report")
        self._lemmas: dict[str, str] | None = None

    @property
    def tables(self) -> frozenset[str]:
        return self.built

    def frame(self, table: str, columns: list[str], optional: Iterable[str] = (),
              where: str = "") -> pd.DataFrame | None:
        """The mart's columns (optional ones filled with NULL where the mart lacks them), or None
        when the mart is not built; a lacking column is a MartShapeError."""
        return super().frame(table, columns, optional=list(optional), where=where,
                             order="all")  # the same page from the same marts

    def lemmas(self) -> dict[str, str]:
        """wnid -> WordNet's lemma names, for wnids outside ILSVRC (the label_audit mart, where
        `ingest labels audit` ran); empty without it."""
        if self._lemmas is None:
            self._lemmas = {}
            if {"wnid", "lemmas"} <= self.columns("label_audit").keys():
                rows = self.within(EVERYTHING).rows("label_audit", "wnid, min(lemmas)", where="lemmas is not null",
                                                    group="wnid")
                self._lemmas = dict(rows or [])
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
