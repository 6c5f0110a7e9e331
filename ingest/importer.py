"""``ingest import``: land rows made elsewhere (CSV or Parquet) as one complete run.

Everything is validated before anything lands; any problem rejects the whole file with
row numbers (CSV rows count the header as row 1; Parquet rows count from 1)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from .errors import CensusError
from .import_checks import Problems, as_integers
from .stages import importable
from .warehouse import connect, init_schema, now, start_run


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


def import_file(path: Path, *, kind: str, annotator: str, dataset: str,
                covers_dataset: bool = False, db: Path | None = None) -> dict:
    kinds = importable()
    if kind not in kinds:
        raise CensusError(f"Unknown kind {kind!r}: use {', '.join(kinds)}.")
    stage = kinds[kind]
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
        rows = stage.import_rows(frame, keys, problems)
        problems.raise_if_any(path)
        rows = as_integers(rows)
        processed = set(keys)
        if covers_dataset:
            processed |= {r[0] for r in con.execute(
                "select image_id from raw.images where dataset = ? and decode_error is null",
                [dataset]).fetchall()}
        return _land(con, stage, annotator, dataset, path, digest, rows, sorted(processed))
    finally:
        con.close()


def _land(con, stage, annotator, dataset, path, digest, rows, processed) -> dict:
    con.execute("begin transaction")
    try:
        run_id = start_run(con, stage=stage.name, annotator=annotator, dataset=dataset,
                           model_digest=None, device=None, status="running",
                           params={"imported_from": path.name, "file_sha256": digest})
        runs = pd.DataFrame({"run_id": run_id, "image_id": processed, "status": "ok"})
        con.register("_runs", runs)
        con.execute("insert into raw.image_runs (run_id, image_id, status) "
                    "select run_id, image_id, status from _runs")
        rows = rows.assign(run_id=run_id)
        con.register("_rows", rows)
        cols = ", ".join(rows.columns)  # the checks' own column names
        con.execute(f"insert into raw.{stage.table} ({cols}) select {cols} from _rows")
        con.execute("update raw.runs set status = 'complete', finished_at = ? where run_id = ?",
                    [now(), run_id])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return {"run_id": run_id, "images": len(processed), "rows": len(rows)}
