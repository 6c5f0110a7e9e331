"""Typed raw rows: one record per raw table a run fills, with exactly that table's columns
(ingest/data/schema.sql), and the builders every model and runtime makes them with.

A model returns its rows without ``run_id`` and ``image_id`` (``MODEL_ROWS``); the row mapper
puts those two in front. The writer refuses a row whose keys are not the table's columns.
TypedDicts rather than dataclasses: rows stay plain dicts, cheap to build, pickle (worker
pools, Ray) and read column by column."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict

#: the keys the row mapper puts in front of a model's row
RUN_KEYS = ("run_id", "image_id")


class FaceRow(TypedDict):
    """raw.faces less the run keys: one face a face annotator found."""

    face_idx: int
    det_score: float | None
    x1: float
    y1: float
    x2: float
    y2: float
    age: float | None
    gender_score: float | None
    det_raw_score: float | None
    verified: bool | None
    verdict: str | None
    evidence: str | None  # JSON text


class NsfwRow(TypedDict):
    """raw.nsfw less the run keys: one image's NSFW score."""

    nsfw_score: float
    probs: str | None  # JSON text


class PredictionRow(TypedDict):
    """raw.predictions less the run keys: one of an image's top-5 classes."""

    rank: int
    class_index: int
    wnid: str
    prob: float


class ImageRow(TypedDict):
    """raw.images (first_seen_at is the database's): one image file as read."""

    image_id: str
    dataset: str
    split: str
    wnid: str
    rel_path: str
    file_bytes: int | None
    sha256: str | None
    width: int | None
    height: int | None
    decode_error: str | None


class ImageRunRow(TypedDict):
    """raw.image_runs (processed_at is the database's): one image's outcome in one run."""

    run_id: str
    image_id: str
    status: str
    error: str | None


class RunRow(TypedDict):
    """raw.runs: one model's run."""

    run_id: str
    stage: str
    annotator: str
    model_digest: str | None
    params: str  # JSON text
    dataset: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    device: str | None
    tool_version: str


#: the row a model returns, by its stage's raw table
MODEL_ROWS: dict[str, type] = {"faces": FaceRow, "nsfw": NsfwRow, "predictions": PredictionRow}
#: the rows the runtime builds whole, by raw table
RUNTIME_ROWS: dict[str, type] = {"runs": RunRow, "images": ImageRow, "image_runs": ImageRunRow}



def contract_columns(table: str) -> tuple[str, ...] | None:
    """The columns a row of a raw table must carry (its typed record, run keys first for a
    model's rows); None for a table without one (a stage added later): any of its columns."""
    if table in MODEL_ROWS:
        return RUN_KEYS + tuple(MODEL_ROWS[table].__annotations__)
    if table in RUNTIME_ROWS:
        return tuple(RUNTIME_ROWS[table].__annotations__)
    return None

def face_row(
    face_idx: int,
    box: Sequence[float],
    *,
    det_score: float | None,
    det_raw_score: float | None,
    age: float | None,
    gender_score: float | None,
    verified: bool | None = None,
    verdict: str | None = None,
    evidence: str | None = None,
) -> FaceRow:
    """A face row; the verification columns stay NULL for an annotator that verifies nothing."""
    x1, y1, x2, y2 = box
    return {"face_idx": face_idx, "det_score": det_score, "x1": x1, "y1": y1, "x2": x2, "y2": y2, "age": age,
            "gender_score": gender_score, "det_raw_score": det_raw_score, "verified": verified, "verdict": verdict,
            "evidence": evidence}


def nsfw_row(nsfw_score: float, probs: dict[str, float] | None = None) -> NsfwRow:
    """An NSFW row; ``probs`` (each class's probability) is stored as JSON."""
    return {"nsfw_score": nsfw_score, "probs": None if probs is None else json.dumps(probs)}


def prediction_row(rank: int, class_index: int, wnid: str, prob: float) -> PredictionRow:
    return {"rank": rank, "class_index": class_index, "wnid": wnid, "prob": prob}
