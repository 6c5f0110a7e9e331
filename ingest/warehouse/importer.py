"""``ingest import``: land rows made elsewhere (CSV or Parquet) as one complete run.

Everything is validated before anything lands; any problem rejects the whole file with
row numbers (CSV rows count the header as row 1; Parquet rows count from 1)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from ..core.errors import CensusError
from ..core.import_checks import ImportContext, Problems, arrow_frame, as_integers, column_names
from ..core.stages import importable
from .db import connect, init_schema, now, start_run, transaction


class AlreadyImported(CensusError):
    """The same file (by sha256) was imported before for this annotator and dataset."""


def read_table(path: Path) -> tuple[pd.DataFrame, int]:
    """The file as strings-or-values, and the row number of its first data row. Column names
    are trimmed; a name twice is refused (``column_names``)."""
    if not path.is_file():
        raise CensusError(f"The file {path} does not exist.")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return _read_parquet(path), 1
        return _read_csv(path), 2
    except CensusError:
        raise
    except Exception as error:  # noqa: BLE001 - any parser failure means a bad file
        raise CensusError(f"Cannot read {path} as CSV or Parquet: {error}") from error


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV file as text; its header is read as a row, so that a name twice is seen (pandas
    would rename the second copy ``x1.1``, and the importer would never read it)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
    names = column_names(path, frame.iloc[0].tolist())
    # a blank header (pandas' own index column) is named as pandas names it, and ignored
    frame.columns = [name or f"Unnamed: {i}" for i, name in enumerate(names)]
    return frame.iloc[1:].reset_index(drop=True)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    stored = pq.read_schema(path).names
    names = column_names(path, stored)
    return arrow_frame(pq.read_table(path)).rename(columns=dict(zip(stored, names, strict=True)))


def _resolve_images(frame: pd.DataFrame, images: pd.DataFrame, dataset: str, problems: Problems) -> pd.Series:
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
    if "rel_path" not in frame.columns and "file_name" in frame.columns:
        return _match_file_names(frame["file_name"].astype(str), images, dataset, problems)
    if "rel_path" not in frame.columns:
        raise CensusError("The file needs an image_id or a rel_path column to name each image, or a file_name "
                          "column (matched to the dataset's images by base name).")
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


def _match_file_names(names: pd.Series, images: pd.DataFrame, dataset: str, problems: Problems) -> pd.Series:
    """image_id per file name: the image of the dataset whose rel_path ends in that base name,
    where exactly one does (a name two folders share needs its rel_path)."""
    base = images["rel_path"].str.rsplit("/", n=1).str[-1]
    counts = base.value_counts()
    lookup = dict(zip(base, images["image_id"], strict=True))
    wanted = names.str.strip()
    many = wanted.map(counts).fillna(0)
    problems.add(names.index[many == 0], f"file_name is not an image of dataset {dataset}")
    problems.add(names.index[many > 1], f"file_name names several images of dataset {dataset}; "
                 "give their rel_path column instead")
    return wanted.map(lookup).where(many == 1).fillna("")


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
            raise AlreadyImported(f"{path} was already imported as run {already[0]}; nothing was done.")
        problems = Problems(first_row)
        images = con.execute(
            "select image_id, rel_path, width, height from raw.images where dataset = ?", [dataset]
        ).df()
        keys = _resolve_images(frame, images, dataset, problems)
        context = ImportContext(annotator=annotator, images=images.set_index("image_id"))
        rows = stage.import_rows(frame, keys, problems, context)
        problems.raise_if_any(path)
        # a check returns its table's rows, or rows per table (the stage's own and its extra tables)
        tables = rows if isinstance(rows, dict) else {stage.table: rows}
        tables = {table: as_integers(part) for table, part in tables.items()}
        processed = set(keys)
        if covers_dataset:
            processed |= {r[0] for r in con.execute(
                "select image_id from raw.images where dataset = ? and decode_error is null",
                [dataset]).fetchall()}
        return _land(con, stage, annotator, dataset, path, digest, tables, sorted(processed))
    finally:
        con.close()


def _land(con, stage, annotator, dataset, path, digest, tables: dict[str, pd.DataFrame], processed) -> dict:
    with transaction(con):
        run_id = start_run(con, stage=stage.name, annotator=annotator, dataset=dataset,
                           model_digest=None, device=None, status="running",
                           params={"imported_from": path.name, "file_sha256": digest})
        runs = pd.DataFrame({"run_id": run_id, "image_id": processed, "status": "ok"})
        con.register("_runs", runs)
        con.execute("insert into raw.image_runs (run_id, image_id, status) "
                    "select run_id, image_id, status from _runs")
        allowed = {stage.table, *dict(stage.extra_tables)}  # table names come from the registry
        for table, rows in tables.items():
            if table not in allowed:
                raise CensusError(f"The {stage.name} check returned rows for raw.{table}, not a table of it.")
            rows = rows.assign(run_id=run_id)
            con.register("_rows", rows)
            cols = ", ".join(rows.columns)  # the checks' own column names
            con.execute(f"insert into raw.{table} ({cols}) select {cols} from _rows")
            con.unregister("_rows")
        con.execute("update raw.runs set status = 'complete', finished_at = ? where run_id = ?",
                    [now(), run_id])
    counts = {table: len(rows) for table, rows in tables.items()}
    return {"run_id": run_id, "images": len(processed), "rows": counts.get(stage.table, 0),
            "extra_rows": {t: n for t, n in counts.items() if t != stage.table}}
