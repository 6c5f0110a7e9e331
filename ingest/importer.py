"""``ingest import``: land rows made elsewhere (CSV or Parquet) as one complete run.

Everything is validated before anything lands; any problem rejects the whole file with
row numbers (CSV rows count the header as row 1; Parquet rows count from 1)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CensusError
from .warehouse import connect, init_schema, now, start_run

KINDS = {"faces": "faces", "nsfw": "nsfw", "predictions": "classify"}
MAX_REPORTED = 20
INT32_MAX = 2**31 - 1  # face_idx, rank and class_index are INTEGER columns (warehouse/schema.sql)
INTEGER_COLUMNS = ("face_idx", "rank", "class_index")


def read_table(path: Path) -> tuple[pd.DataFrame, int]:
    """The file as strings-or-values, and the row number of its first data row."""
    if not path.is_file():
        raise CensusError(f"The file {path} does not exist.")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path), 1
        return pd.read_csv(path, dtype=str, keep_default_na=False), 2
    except Exception as error:  # noqa: BLE001 - any parser failure means a bad file
        raise CensusError(f"Cannot read {path} as CSV or Parquet: {error}") from error


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


def _numeric(frame: pd.DataFrame, column: str, problems: Problems, *, required: bool,
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


def _resolve_images(con, frame: pd.DataFrame, dataset: str, problems: Problems) -> pd.Series:
    images = con.execute(
        "select image_id, rel_path from raw.images where dataset = ?", [dataset]
    ).df()
    if images.empty:
        raise CensusError(
            f"The warehouse has no images of dataset {dataset!r}; run `ingest run` on it first "
            "(imports attach to known images)."
        )
    if "image_id" in frame.columns:
        keys = frame["image_id"].astype(str).str.strip()
        known = keys.isin(set(images["image_id"]))
        problems.add(frame.index[~known], f"image_id is not an image of dataset {dataset}")
        return keys
    if "rel_path" not in frame.columns:
        raise CensusError("The file needs an image_id or a rel_path column to name each image.")
    keys = _match_paths(frame["rel_path"].astype(str), images)
    problems.add(frame.index[keys.isna()], f"rel_path is not an image of dataset {dataset}")
    return keys.fillna("")


def _match_paths(paths: pd.Series, images: pd.DataFrame) -> pd.Series:
    """image_id per rel_path: the path exactly as stored wins; only a path with no exact match
    is tried without surrounding spaces, then with Windows separators turned into slashes
    (a backslash is a legal file name character on Linux, so a stored one is never rewritten)."""
    lookup = dict(zip(images["rel_path"], images["image_id"], strict=True))
    stripped = paths.str.strip()
    keys = paths.map(lookup)
    keys = keys.fillna(stripped.map(lookup))
    return keys.fillna(stripped.str.replace("\\", "/", regex=False).map(lookup))


def _duplicates(keys: pd.DataFrame, problems: Problems, what: str) -> None:
    dup = keys.duplicated(keep="first")
    problems.add(keys.index[dup], f"duplicate {what}")


def _faces(frame, keys, problems):
    score = _numeric(frame, "det_score", problems, required=False, low=0, high=1)
    gender = _numeric(frame, "gender_score", problems, required=False, low=0, high=1)
    age = _numeric(frame, "age", problems, required=False, low=0, high=150)
    face_cols = [c for c in ("det_score", "gender_score", "age") if c in frame.columns]
    if not face_cols:
        raise CensusError("A faces file needs det_score, age and gender_score columns.")
    no_face = score.isna() & gender.isna() & age.isna()
    problems.add(frame.index[~no_face & score.isna()], "det_score is empty for a face row")
    if "face_idx" in frame.columns:
        face_idx = _numeric(frame, "face_idx", problems, required=False, low=0, integer=True)
        problems.add(frame.index[~no_face & face_idx.isna()], "face_idx is empty for a face row")
    else:
        face_idx = pd.Series(np.nan, index=frame.index)
        face_idx[~no_face] = keys[~no_face].groupby(keys[~no_face]).cumcount()
    boxes = _boxes(frame, problems)
    rows = pd.DataFrame({"image_id": keys, "face_idx": face_idx, "det_score": score,
                         **boxes, "age": age, "gender_score": gender})[~no_face]
    _duplicates(rows[["image_id", "face_idx"]], problems, "(image, face_idx)")
    return rows


def _boxes(frame: pd.DataFrame, problems: Problems) -> dict[str, pd.Series]:
    """x1, y1, x2, y2 as finite numbers with x1 <= x2 and y1 <= y2 (all four or none)."""
    boxes = {c: _numeric(frame, c, problems, required=False) for c in ("x1", "y1", "x2", "y2")}
    given = pd.DataFrame(boxes).notna().sum(axis=1)
    problems.add(frame.index[given.between(1, 3)], "a box needs all of x1, y1, x2, y2 or none")
    problems.add(frame.index[boxes["x2"] < boxes["x1"]], "x2 is less than x1")
    problems.add(frame.index[boxes["y2"] < boxes["y1"]], "y2 is less than y1")
    return boxes


def _nsfw(frame, keys, problems):
    score = _numeric(frame, "nsfw_score", problems, required=True, low=0, high=1)
    prob_cols = [c for c in frame.columns if c.startswith("prob_")]
    probs_values = {c[5:]: _numeric(frame, c, problems, required=True, low=0, high=1) for c in prob_cols}
    if probs_values:
        probs = pd.DataFrame(probs_values).apply(lambda r: json.dumps(r.to_dict()), axis=1)
    elif "probs" in frame.columns:
        probs = frame["probs"].astype(str)
        bad = [i for i, v in probs.items() if v and not _is_json_object(v)]
        problems.add(bad, "probs is not a JSON object")
    else:
        probs = pd.Series(None, index=frame.index, dtype=object)
    rows = pd.DataFrame({"image_id": keys, "nsfw_score": score, "probs": probs})
    _duplicates(rows[["image_id"]], problems, "image")
    return rows


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _predictions(frame, keys, problems):
    from .models.imagenet import imagenet_wnids

    wnids = imagenet_wnids()
    rank = _numeric(frame, "rank", problems, required=True, low=1, high=5, integer=True)
    prob = _numeric(frame, "prob", problems, required=True, low=0, high=1)
    if "class_index" in frame.columns:
        index = _numeric(frame, "class_index", problems, required=True, low=0, high=len(wnids) - 1,
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
    _duplicates(rows[["image_id", "rank"]], problems, "(image, rank)")
    return rows


def _as_integers(rows: pd.DataFrame) -> pd.DataFrame:
    """Cast the INTEGER columns once validation has passed (every value is whole and in range)."""
    casts = {c: "Int64" for c in INTEGER_COLUMNS if c in rows.columns}
    return rows.astype(casts)


def import_file(path: Path, *, kind: str, annotator: str, dataset: str,
                covers_dataset: bool = False, db: Path | None = None) -> dict:
    if kind not in KINDS:
        raise CensusError(f"Unknown kind {kind!r}: use faces, nsfw or predictions.")
    if not annotator.strip():
        raise CensusError("--annotator must name the model that made the rows, e.g. dex/2019.")
    frame, first_row = read_table(path)
    frame = frame.reset_index(drop=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    con = connect(db)
    try:
        init_schema(con)
        already = con.execute(
            "select run_id from raw.runs where annotator = ? and dataset = ? "
            "and json_extract_string(params, '$.file_sha256') = ?",
            [annotator, dataset, digest],
        ).fetchone()
        if already:
            raise CensusError(f"{path} was already imported as run {already[0]}; nothing was done.")
        problems = Problems(first_row)
        keys = _resolve_images(con, frame, dataset, problems)
        rows = {"faces": _faces, "nsfw": _nsfw, "predictions": _predictions}[kind](
            frame, keys, problems)
        problems.raise_if_any(path)
        rows = _as_integers(rows)
        processed = set(keys)
        if covers_dataset:
            processed |= {r[0] for r in con.execute(
                "select image_id from raw.images where dataset = ? and decode_error is null",
                [dataset]).fetchall()}
        return _land(con, kind, annotator, dataset, path, digest, rows, sorted(processed))
    finally:
        con.close()


def _land(con, kind, annotator, dataset, path, digest, rows, processed) -> dict:
    con.execute("begin transaction")
    try:
        run_id = start_run(con, stage=KINDS[kind], annotator=annotator, dataset=dataset,
                           model_digest=None, device=None, status="running",
                           params={"imported_from": path.name, "file_sha256": digest})
        runs = pd.DataFrame({"run_id": run_id, "image_id": processed, "status": "ok"})
        con.register("_runs", runs)
        con.execute("insert into raw.image_runs (run_id, image_id, status) "
                    "select run_id, image_id, status from _runs")
        rows = rows.assign(run_id=run_id)
        con.register("_rows", rows)
        cols = ", ".join(rows.columns)
        con.execute(f"insert into raw.{kind} ({cols}) select {cols} from _rows")
        con.execute("update raw.runs set status = 'complete', finished_at = ? where run_id = ?",
                    [now(), run_id])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return {"run_id": run_id, "images": len(processed), "rows": len(rows)}
