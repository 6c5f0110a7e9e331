"""Checks of imported rows, one function per raw result table: each turns a file's columns
into that table's rows and reports every bad value by its row number.

The stage registry (stages.py) names the function of each importable stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CensusError

MAX_REPORTED = 20
INT32_MAX = 2**31 - 1  # face_idx, rank and class_index are INTEGER columns (the raw schema)
INTEGER_COLUMNS = ("face_idx", "rank", "class_index")


class Problems:
    def __init__(self, first_row: int) -> None:
        self.first_row = first_row
        self.items: list[str] = []

    def add(self, positions, message: str) -> None:
        for pos in positions:
            self.items.append(f"row {int(pos) + self.first_row}: {message}")

    def raise_if_any(self, path: Path) -> None:
        if not self.items:
            return
        shown = "; ".join(self.items[:MAX_REPORTED])
        more = f"; and {len(self.items) - MAX_REPORTED} more" if len(self.items) > MAX_REPORTED else ""
        raise CensusError(f"{path} was rejected, nothing was imported: {shown}{more}.")


def numeric(frame: pd.DataFrame, column: str, problems: Problems, *, required: bool,
             low: float | None = None, high: float | None = None, integer: bool = False) -> pd.Series:
    """The column as numbers (NaN where blank); text, non-finite, non-whole (if ``integer``)
    and out-of-range values are reported as problems."""
    if column not in frame.columns:
        if required:
            raise CensusError(f"The file lacks the column {column}; nothing was imported.")
        return pd.Series(np.nan, index=frame.index)
    raw = frame[column]
    text = raw.astype(str).str.strip()
    blank = raw.isna() | text.eq("") | text.str.lower().isin(["none", "null"])
    values = pd.to_numeric(raw.where(~blank), errors="coerce").astype(float)
    nan_text = text.str.lower().str.lstrip("+-").eq("nan")
    problems.add(frame.index[~blank & values.isna() & ~nan_text], f"{column} is not a number")
    infinite = ~blank & (nan_text | np.isinf(values))
    problems.add(frame.index[infinite], f"{column} is not a finite number")
    if required:
        problems.add(frame.index[blank], f"{column} is empty")
    finite = values.where(~infinite)
    if integer:
        problems.add(frame.index[finite.notna() & (finite % 1 != 0)], f"{column} is not a whole number")
        high = INT32_MAX if high is None else high
    if low is not None:
        problems.add(frame.index[finite < low], f"{column} is below {low}")
    if high is not None:
        problems.add(frame.index[finite > high], f"{column} is above {high}")
    return finite


def duplicates(keys: pd.DataFrame, problems: Problems, what: str) -> None:
    dup = keys.duplicated(keep="first")
    problems.add(keys.index[dup], f"duplicate {what}")


def faces_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems) -> pd.DataFrame:
    score = numeric(frame, "det_score", problems, required=False, low=0, high=1)
    gender = numeric(frame, "gender_score", problems, required=False, low=0, high=1)
    age = numeric(frame, "age", problems, required=False, low=0, high=150)
    face_cols = [c for c in ("det_score", "gender_score", "age") if c in frame.columns]
    if not face_cols:
        raise CensusError("A faces file needs det_score, age and gender_score columns.")
    no_face = score.isna() & gender.isna() & age.isna()
    problems.add(frame.index[~no_face & score.isna()], "det_score is empty for a face row")
    if "face_idx" in frame.columns:
        face_idx = numeric(frame, "face_idx", problems, required=False, low=0, integer=True)
        problems.add(frame.index[~no_face & face_idx.isna()], "face_idx is empty for a face row")
    else:
        face_idx = pd.Series(np.nan, index=frame.index)
        face_idx[~no_face] = keys[~no_face].groupby(keys[~no_face]).cumcount()
    boxes = _boxes(frame, problems)
    rows = pd.DataFrame({"image_id": keys, "face_idx": face_idx, "det_score": score,
                         **boxes, "age": age, "gender_score": gender})[~no_face]
    duplicates(rows[["image_id", "face_idx"]], problems, "(image, face_idx)")
    return rows


def _boxes(frame: pd.DataFrame, problems: Problems) -> dict[str, pd.Series]:
    """x1, y1, x2, y2 as finite numbers with x1 <= x2 and y1 <= y2 (all four or none)."""
    boxes = {c: numeric(frame, c, problems, required=False) for c in ("x1", "y1", "x2", "y2")}
    given = pd.DataFrame(boxes).notna().sum(axis=1)
    problems.add(frame.index[given.between(1, 3)], "a box needs all of x1, y1, x2, y2 or none")
    problems.add(frame.index[boxes["x2"] < boxes["x1"]], "x2 is less than x1")
    problems.add(frame.index[boxes["y2"] < boxes["y1"]], "y2 is less than y1")
    return boxes


def nsfw_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems) -> pd.DataFrame:
    score = numeric(frame, "nsfw_score", problems, required=True, low=0, high=1)
    prob_cols = [c for c in frame.columns if c.startswith("prob_")]
    probs_values = {c[5:]: numeric(frame, c, problems, required=True, low=0, high=1) for c in prob_cols}
    if probs_values:
        probs = pd.DataFrame(probs_values).apply(lambda r: json.dumps(r.to_dict()), axis=1)
    elif "probs" in frame.columns:
        probs = frame["probs"].astype(str)
        bad = [i for i, v in probs.items() if v and not _is_json_object(v)]
        problems.add(bad, "probs is not a JSON object")
    else:
        probs = pd.Series(None, index=frame.index, dtype=object)
    rows = pd.DataFrame({"image_id": keys, "nsfw_score": score, "probs": probs})
    duplicates(rows[["image_id"]], problems, "image")
    return rows


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def predictions_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems) -> pd.DataFrame:
    from .classes import imagenet_wnids

    wnids = imagenet_wnids()
    rank = numeric(frame, "rank", problems, required=True, low=1, high=5, integer=True)
    prob = numeric(frame, "prob", problems, required=True, low=0, high=1)
    if "class_index" in frame.columns:
        index = numeric(frame, "class_index", problems, required=True, low=0, high=len(wnids) - 1,
                         integer=True)
        wnid = index.map(lambda i: wnids[int(i)] if pd.notna(i) and i % 1 == 0 and 0 <= i < len(wnids)
                         else None)
    elif "wnid" in frame.columns:
        wnid = frame["wnid"].astype(str).str.strip()
        lookup = {w: i for i, w in enumerate(wnids)}
        index = wnid.map(lookup)
        problems.add(frame.index[index.isna()], "wnid is not an ILSVRC-2012 class")
    else:
        raise CensusError("A predictions file needs a class_index or a wnid column.")
    rows = pd.DataFrame({"image_id": keys, "rank": rank, "class_index": index, "wnid": wnid,
                         "prob": prob})
    duplicates(rows[["image_id", "rank"]], problems, "(image, rank)")
    return rows


def as_integers(rows: pd.DataFrame) -> pd.DataFrame:
    """Cast the INTEGER columns once validation has passed (every value is whole and in range)."""
    casts = {c: "Int64" for c in INTEGER_COLUMNS if c in rows.columns}
    return rows.astype(casts)
