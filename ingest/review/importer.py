"""``ingest import FILE --kind reviews --dataset NAME``: answers collected elsewhere.

Columns: reviewer, rel_path (or image_id), question, answer; optionally annotator,
face_idx, reviewed_at, note. Validated like every import: every problem is reported by its
row number and any problem rejects the whole file; nothing lands then. Checks: the image is
one of the dataset's; the question is known and the answer one of its answers; a face
question names a face box the warehouse holds (annotator and face_idx), an image question
names none; reviewed_at is a date and time; a reviewer answers an item once (in the file
and in the warehouse: answers are never overwritten)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.errors import CensusError
from ..core.import_checks import Problems, numeric
from ..warehouse.db import connect, init_schema, now, transaction
from ..warehouse.importer import _resolve_images, read_table
from .questions import MAX_NOTE, QUESTIONS, check_reviewer, review_id

REQUIRED = ("reviewer", "question", "answer")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as stripped text, None where absent or blank."""
    if column not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    values = [str(v).strip() if v is not None and not (isinstance(v, float) and pd.isna(v)) else ""
              for v in frame[column].tolist()]
    return pd.Series([v or None for v in values], index=frame.index, dtype=object)


def review_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems, *, dataset: str,
                default_annotator: str | None) -> pd.DataFrame:
    for column in REQUIRED:
        if column not in frame.columns:
            raise CensusError(f"A reviews file needs the column {column}; nothing was imported.")
    reviewer = _text(frame, "reviewer")
    for pos, name in reviewer.items():
        problem = check_reviewer(name)
        if problem:
            problems.add([pos], problem.replace("a reviewer name", "reviewer"))
    question = _text(frame, "question")
    answer = pd.Series([v.lower() if isinstance(v, str) else None for v in _text(frame, "answer")],
                       index=frame.index, dtype=object)
    known = question.isin(list(QUESTIONS))
    problems.add(frame.index[question.isna()], "question is empty")
    problems.add(frame.index[~known & question.notna()], f"question is not one of {', '.join(QUESTIONS)}")
    problems.add(frame.index[answer.isna()], "answer is empty")
    for pos in frame.index[known & answer.notna()]:
        spec = QUESTIONS[question[pos]]
        if answer[pos] not in spec.answers:
            problems.add([pos], f"answer {answer[pos]!r} is not an answer to {spec.name} ({', '.join(spec.answers)})")
    given_annotator = _text(frame, "annotator")
    annotator = given_annotator.fillna(default_annotator) if default_annotator else given_annotator
    face_idx = numeric(frame, "face_idx", problems, required=False, low=0, integer=True)
    about_face = question.map(lambda q: QUESTIONS[q].about_face if q in QUESTIONS else False).astype(bool)
    _check_box_fields(frame, about_face, known & ~about_face, annotator, given_annotator, problems)
    annotator = annotator.where(about_face)
    face_idx = face_idx.where(about_face)
    stamp = _timestamps(frame, problems)
    note = _text(frame, "note")
    problems.add(frame.index[note.map(lambda v: isinstance(v, str) and len(v) > MAX_NOTE)],
                 f"note is longer than {MAX_NOTE} characters")
    rows = pd.DataFrame({"dataset": dataset, "reviewer": reviewer, "image_id": keys, "annotator": annotator,
                         "face_idx": face_idx, "question": question, "answer": answer, "reviewed_at": stamp,
                         "note": note})
    item = ["reviewer", "image_id", "annotator", "face_idx", "question"]
    dup = rows[item].astype(str).duplicated(keep="first")
    problems.add(rows.index[dup], "duplicate answer of this reviewer to this item")
    return rows


def _check_box_fields(frame: pd.DataFrame, about_face: pd.Series, image_level: pd.Series, annotator: pd.Series,
                      given_annotator: pd.Series, problems: Problems) -> None:
    """A face question names its box (annotator and face_idx), an image question none; each
    sentence names exactly the field that is missing or extra. A face_idx given but not a whole
    number is reported by ``numeric`` already, never as missing."""
    face_text = _text(frame, "face_idx")
    no_face_idx = face_text.isna() | face_text.str.lower().isin(["none", "null"])
    no_annotator = annotator.isna()
    box = "(the face box it is about)"
    for missing, fields in ((no_annotator & no_face_idx, f"annotator and face_idx {box}"),
                            (no_annotator & ~no_face_idx, "annotator (the face annotator of the box, or --annotator)"),
                            (~no_annotator & no_face_idx, f"face_idx {box}")):
        problems.add(frame.index[about_face & missing], f"a face question needs {fields}")
    has_annotator, has_face_idx = given_annotator.notna(), ~no_face_idx
    for extra, fields in ((has_annotator & has_face_idx, "annotator and face_idx"),
                          (has_annotator & ~has_face_idx, "annotator"), (~has_annotator & has_face_idx, "face_idx")):
        problems.add(frame.index[image_level & extra], f"an image question (nsfw_category) leaves {fields} empty")


def _timestamps(frame: pd.DataFrame, problems: Problems) -> pd.Series:
    text = _text(frame, "reviewed_at")
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    problems.add(frame.index[text.notna() & parsed.isna()], "reviewed_at is not a date and time")
    return parsed.dt.tz_localize(None).astype("datetime64[us]").fillna(pd.Timestamp(now()))


def _check_faces(con, rows: pd.DataFrame, problems: Problems) -> None:
    faces = rows[rows["annotator"].notna() & rows["face_idx"].notna()]
    if faces.empty:
        return
    con.register("_wanted", faces[["image_id", "annotator", "face_idx"]].reset_index())
    missing = con.execute(
        "select w.index, w.annotator, w.face_idx from _wanted w where not exists ("
        " select 1 from raw.faces f join raw.runs r using (run_id)"
        " where f.image_id = w.image_id and r.annotator = w.annotator and f.face_idx = w.face_idx)").fetchall()
    con.unregister("_wanted")
    for pos, annotator, face_idx in missing:
        problems.add([pos], f"the image has no face {int(face_idx)} of annotator {annotator}")


def _check_existing(con, rows: pd.DataFrame, problems: Problems) -> None:
    con.register("_new", rows[["review_id", "reviewer"]].reset_index())
    taken = con.execute("select n.index, n.reviewer from _new n join raw.reviews r using (review_id)").fetchall()
    con.unregister("_new")
    for pos, reviewer in taken:
        problems.add([pos], f"{reviewer} already answered this item (answers are never overwritten)")


def import_reviews(path: Path, *, dataset: str, annotator: str | None = None, db: Path | None = None) -> dict:
    frame, first_row = read_table(path)
    frame = frame.reset_index(drop=True)
    con = connect(db)
    try:
        init_schema(con)
        problems = Problems(first_row)
        images = con.execute("select image_id, rel_path from raw.images where dataset = ?", [dataset]).df()
        keys = _resolve_images(frame, images, dataset, problems)
        rows = review_rows(frame, keys, problems, dataset=dataset, default_annotator=annotator)
        rows["review_id"] = [review_id(dataset, r.reviewer or "", r.question or "", r.image_id,
                                       None if pd.isna(r.annotator) else r.annotator,
                                       None if pd.isna(r.face_idx) else int(r.face_idx))
                             for r in rows.itertuples(index=False)]
        _check_faces(con, rows, problems)
        _check_existing(con, rows, problems)
        problems.raise_if_any(path)
        rows = rows.astype({"face_idx": "Int64"})
        with transaction(con):
            con.register("_reviews", rows)
            con.execute("insert into raw.reviews (review_id, dataset, reviewer, image_id, annotator, face_idx,"
                        " question, answer, reviewed_at, note) select review_id, dataset, reviewer, image_id,"
                        " annotator, cast(face_idx as integer), question, answer, reviewed_at, note from _reviews")
            con.unregister("_reviews")
    finally:
        con.close()
    return {"rows": len(rows), "reviewers": rows["reviewer"].nunique(), "images": rows["image_id"].nunique()}
