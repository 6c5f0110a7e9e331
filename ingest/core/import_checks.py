"""Checks of imported rows, one function per raw result table: each turns a file's columns
into that table's rows and reports every bad value by its row number.

The stage registry (stages.py) names the function of each importable stage. The value rules
(``rules``, ``_boxes``) also check Parquet parts before `ingest land` loads them (``check_part``)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import CensusError

if TYPE_CHECKING:
    import pyarrow as pa

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

    def raise_if_any(self, path: Path, outcome: str = "was rejected, nothing was imported") -> None:
        if not self.items:
            return
        shown = "; ".join(self.items[:MAX_REPORTED])
        more = f"; and {len(self.items) - MAX_REPORTED} more" if len(self.items) > MAX_REPORTED else ""
        raise CensusError(f"{path} {outcome}: {shown}{more}.")


def column_names(path: Path, names: list) -> list[str]:
    """A file's column names as the importer uses them: without surrounding spaces (a header
    written ``x1, y1`` means y1). A name twice is refused: one copy would be dropped silently."""
    trimmed = [str(name).strip() for name in names]
    twice = [name for name, n in Counter(trimmed).items() if n > 1 and name]
    if twice:
        raise CensusError(f"{path} has columns more than once: {', '.join(twice)} (names compared without "
                          "surrounding spaces); keep one of each. Nothing was imported.")
    return trimmed


def arrow_frame(table: pa.Table) -> pd.DataFrame:
    """A Parquet table as a DataFrame in which a NaN stays distinguishable from a null: pandas
    reads both as NaN, so a float NaN becomes the text "nan", which ``numeric`` reports by row
    as "not a finite number" (a null stays blank)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    frame = table.to_pandas()
    for position, name in enumerate(table.column_names):
        column = table.column(position)
        if name not in frame.columns or not pa.types.is_floating(column.type):
            continue  # (a stored pandas index becomes the frame's index, not a column)
        nan = pc.fill_null(pc.is_nan(column), False).to_numpy(zero_copy_only=False)
        if nan.any():
            frame[name] = frame[name].astype(object).where(~nan, "nan")
    return frame


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


@dataclass(frozen=True)
class Rule:
    """What a number column may hold (``numeric``'s bounds); finite always."""

    low: float | None = None
    high: float | None = None
    integer: bool = False


def rules(table: str) -> dict[str, Rule]:
    """The value rules of a raw result table's number columns, shared by `ingest import` and
    `ingest land` (boxes: ``_boxes``)."""
    if table == "faces":
        return {"face_idx": Rule(0, integer=True), "det_score": Rule(0, 1), "age": Rule(0, 150),
                "gender_score": Rule(0, 1)}
    if table == "nsfw":
        return {"nsfw_score": Rule(0, 1)}
    if table == "predictions":
        from .classes import imagenet_wnids

        return {"rank": Rule(1, 5, integer=True), "prob": Rule(0, 1),
                "class_index": Rule(0, len(imagenet_wnids()) - 1, integer=True)}
    return {}


def checked(frame: pd.DataFrame, table: str, column: str, problems: Problems, *, required: bool) -> pd.Series:
    """``numeric`` with the table's rule for the column."""
    rule = rules(table)[column]
    return numeric(frame, column, problems, required=required, low=rule.low, high=rule.high, integer=rule.integer)


def check_part(table: str, data: pa.Table, path: Path, outcome: str) -> None:
    """The importer's value checks on rows already in a raw table's shape (a Parquet part):
    each number column's rule, finite values in every other floating column, whole boxes with
    x1 <= x2 and y1 <= y2; every bad value is reported by row (counted from 1)."""
    import pyarrow as pa

    own = rules(table)
    if not any(f.name in own or f.name in BOX or pa.types.is_floating(f.type) for f in data.schema):
        return  # nothing to check (images, image_runs): no conversion
    frame = arrow_frame(data).reset_index(drop=True)
    problems = Problems(1)
    for column in frame.columns:
        if column in own:
            checked(frame, table, column, problems, required=False)
        elif column not in BOX and pa.types.is_floating(data.schema.field(column).type):
            numeric(frame, column, problems, required=False)
    if table == "faces" and any(c in frame.columns for c in BOX):
        _boxes(frame, problems)
    problems.raise_if_any(path, outcome)


def duplicates(keys: pd.DataFrame, problems: Problems, what: str) -> None:
    dup = keys.duplicated(keep="first")
    problems.add(keys.index[dup], f"duplicate {what}")


#: annotators named so are ground truth (DESIGN.md, "Reference labels and measured annotator error")
REFERENCE_PREFIX = "reference/"
#: a file's ``gender`` column (a benchmark's labels) -> gender_score, 0 = female, 1 = male
GENDER_WORDS = {"female": 0.0, "f": 0.0, "woman": 0.0, "0": 0.0, "male": 1.0, "m": 1.0, "man": 1.0, "1": 1.0}
BOX = ("x1", "y1", "x2", "y2")
ATTRIBUTE_PREFIX = "attr_"


@dataclass(frozen=True)
class ImportContext:
    """What a check may need beyond the file: who made the rows and the images they name."""

    annotator: str
    #: the dataset's images, indexed by image_id, with width and height (NULL where unknown)
    images: pd.DataFrame

    @property
    def is_reference(self) -> bool:
        return self.annotator.startswith(REFERENCE_PREFIX)


def _blank(raw: pd.Series) -> pd.Series:
    text = raw.astype(str).str.strip()
    return raw.isna() | text.eq("") | text.str.lower().isin(["none", "null", "nan"])


def _gender(frame: pd.DataFrame, problems: Problems) -> pd.Series:
    """gender_score, or a ``gender`` column of words (female/male, f/m, woman/man, 0/1) mapped to 0/1."""
    if "gender" not in frame.columns:
        return checked(frame, "faces", "gender_score", problems, required=False)
    if "gender_score" in frame.columns:
        raise CensusError("The file has both gender and gender_score columns; keep one. Nothing was imported.")
    words = frame["gender"].astype(str).str.strip().str.lower()
    blank = _blank(frame["gender"])
    values = words.map(GENDER_WORDS).where(~blank).astype(float)
    problems.add(frame.index[~blank & values.isna()], "gender is not female or male (f/m, woman/man, 0/1)")
    return values


def _attributes(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """attr_<name> columns as {name: stripped text, NaN where blank}."""
    attributes = {}
    for column in frame.columns:
        if not str(column).startswith(ATTRIBUTE_PREFIX):
            continue
        name = str(column)[len(ATTRIBUTE_PREFIX):].strip()
        if not name:
            raise CensusError(f"The column {column!r} names no attribute (use attr_<name>, e.g. attr_skin_type).")
        values = frame[column].astype(str).str.strip()
        attributes[name] = values.where(~_blank(frame[column]))
    return attributes


def faces_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems,
               context: ImportContext | None = None) -> dict[str, pd.DataFrame]:
    """raw.faces rows (and raw.face_attributes rows from attr_<name> columns).

    A row whose face columns are all blank names an image with no face. A reference
    annotator (``reference/<name>``) gets det_score 1 where blank, and its faces need a box
    inside the image with x2 > x1 and y2 > y1, gender 0 or 1 (or blank), no face twice."""
    reference = context is not None and context.is_reference
    face_cols = [c for c in ("det_score", "gender_score", "gender", "age", *BOX) if c in frame.columns]
    if not face_cols:
        raise CensusError("A faces file needs det_score, age and gender_score (or gender) columns, or a box "
                          "(x1, y1, x2, y2) for reference labels.")
    if reference and not all(c in frame.columns for c in BOX):
        raise CensusError("A reference faces file needs the box columns x1, y1, x2, y2; nothing was imported.")
    score = checked(frame, "faces", "det_score", problems, required=False)
    gender = _gender(frame, problems)
    age = checked(frame, "faces", "age", problems, required=False)
    boxes = _boxes(frame, problems, strict=reference)
    attributes = _attributes(frame)
    no_face = score.isna() & gender.isna() & age.isna() & pd.DataFrame(boxes).isna().all(axis=1)
    for name, values in attributes.items():
        problems.add(frame.index[no_face & values.notna()], f"attr_{name} is given for a row with no face")
    if reference:
        problems.add(frame.index[~no_face & score.notna() & (score != 1)],
                     "det_score of a reference face is 1 (leave it blank)")
        score = score.where(no_face | score.notna(), 1.0)
        problems.add(frame.index[~no_face & pd.DataFrame(boxes).isna().all(axis=1)],
                     "a reference face needs a box (x1, y1, x2, y2)")
        problems.add(frame.index[gender.notna() & ~gender.isin([0.0, 1.0])],
                     "gender_score of a reference face is 0 or 1")
        _inside_images(frame, keys, boxes, context.images, problems)
    else:
        problems.add(frame.index[~no_face & score.isna()], "det_score is empty for a face row")
    if "face_idx" in frame.columns:
        face_idx = checked(frame, "faces", "face_idx", problems, required=False)
        problems.add(frame.index[~no_face & face_idx.isna()], "face_idx is empty for a face row")
    else:
        face_idx = pd.Series(np.nan, index=frame.index)
        face_idx[~no_face] = keys[~no_face].groupby(keys[~no_face]).cumcount()
    rows = pd.DataFrame({"image_id": keys, "face_idx": face_idx, "det_score": score,
                         **boxes, "age": age, "gender_score": gender})[~no_face]
    duplicates(rows[["image_id", "face_idx"]], problems, "(image, face_idx)")
    if reference:
        duplicates(rows[["image_id", *BOX]], problems, "face (the same image and box twice)")
    tables = {"faces": rows}
    parts = [pd.DataFrame({"image_id": rows["image_id"], "face_idx": rows["face_idx"], "attribute": name,
                           "value": values[~no_face]}).dropna(subset=["value"])
             for name, values in attributes.items()]
    if parts:
        tables["face_attributes"] = pd.concat(parts)
    return tables


def _inside_images(frame: pd.DataFrame, keys: pd.Series, boxes: dict[str, pd.Series], images: pd.DataFrame,
                   problems: Problems) -> None:
    """Report boxes that leave the image: below 0 always, beyond width/height where raw.images knows them."""
    width = keys.map(images["width"]).astype(float)
    height = keys.map(images["height"]).astype(float)
    outside = (boxes["x1"] < 0) | (boxes["y1"] < 0) | (boxes["x2"] > width) | (boxes["y2"] > height)
    for pos in frame.index[outside]:
        size = "" if pd.isna(width[pos]) else f" of {int(width[pos])} x {int(height[pos])} pixels"
        box = ", ".join(f"{boxes[c][pos]:g}" for c in BOX)
        problems.add([pos], f"the box ({box}) is outside the image{size}")


def _boxes(frame: pd.DataFrame, problems: Problems, *, strict: bool = False) -> dict[str, pd.Series]:
    """x1, y1, x2, y2 as finite numbers with x1 <= x2 and y1 <= y2 (all four or none); ``strict``
    (reference faces): x1 < x2 and y1 < y2, a box with an area."""
    boxes = {c: numeric(frame, c, problems, required=False) for c in BOX}
    given = pd.DataFrame(boxes).notna().sum(axis=1)
    problems.add(frame.index[given.between(1, 3)], "a box needs all of x1, y1, x2, y2 or none")
    if strict:
        problems.add(frame.index[boxes["x2"] <= boxes["x1"]], "x2 is not greater than x1")
        problems.add(frame.index[boxes["y2"] <= boxes["y1"]], "y2 is not greater than y1")
    else:
        problems.add(frame.index[boxes["x2"] < boxes["x1"]], "x2 is less than x1")
        problems.add(frame.index[boxes["y2"] < boxes["y1"]], "y2 is less than y1")
    return boxes


def nsfw_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems,
              context: ImportContext | None = None) -> pd.DataFrame:
    score = checked(frame, "nsfw", "nsfw_score", problems, required=True)
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


def predictions_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems,
                     context: ImportContext | None = None) -> pd.DataFrame:
    from .classes import imagenet_wnids

    wnids = imagenet_wnids()
    rank = checked(frame, "predictions", "rank", problems, required=True)
    prob = checked(frame, "predictions", "prob", problems, required=True)
    if "class_index" in frame.columns:
        index = checked(frame, "predictions", "class_index", problems, required=True)
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


# image-level face labels (ingest/labels/image_labels.py): the stage image_faces' import check
LABELS = ("yes", "no", "depiction", "unsure")
#: labels that say the image shows no real face, so n_faces must be 0
NO_REAL_FACE = ("no", "depiction")


def image_face_labels_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems,
                           context: ImportContext | None = None) -> pd.DataFrame:
    """raw.image_face_labels rows: label (yes/no/depiction/unsure, any case), n_faces (a whole
    number >= 0, or blank; 0 for no and depiction, at least 1 for yes), note; one row per image."""
    if context is None or not context.is_reference:
        raise CensusError(f"Image-level face labels are ground truth: name their annotator {REFERENCE_PREFIX}<name> "
                          "(e.g. --annotator reference/my-labels). Nothing was imported.")
    if "label" not in frame.columns:
        raise CensusError(f"An image-level labels file needs a label column ({', '.join(LABELS)}); "
                          "nothing was imported.")
    label = frame["label"].astype(str).str.strip().str.lower()
    problems.add(frame.index[~label.isin(LABELS)], f"label is not one of {', '.join(LABELS)}")
    n_faces = numeric(frame, "n_faces", problems, required=False, low=0, integer=True)
    problems.add(frame.index[label.isin(NO_REAL_FACE) & (n_faces > 0)],
                 "n_faces counts real faces, so it is 0 for a no or depiction label")
    problems.add(frame.index[label.eq("yes") & (n_faces == 0)], "a yes label needs n_faces of at least 1 (or blank)")
    whole = n_faces.where((n_faces % 1 == 0) & n_faces.between(0, INT32_MAX))  # bad ones are reported above
    rows = pd.DataFrame({"image_id": keys, "label": label, "n_faces": whole.astype("Int64"), "note": _notes(frame)})
    duplicates(rows[["image_id"]], problems, "image (one label per image)")
    return rows


def _notes(frame: pd.DataFrame) -> pd.Series:
    """The note column as text, None where blank or absent."""
    if "note" not in frame.columns:
        return pd.Series(None, index=frame.index, dtype=object)
    text = frame["note"].astype(str).str.strip()
    return text.where(frame["note"].notna() & text.ne(""), None)
