"""``ingest export blocklist``: images whose model flag reviewers confirmed, for dataset
owners to remove or restrict: dataset, rel_path, image_id, reason, evidence.

One row per image and reason: ``nsfw:<category>`` (consensus of nsfw_category) and
``apparent_minor`` (a face reviewers judged under 18). ``evidence`` is a JSON object with
the models' scores (the image's NSFW score; each face's det_score and apparent age) and the
review consensus (answer, share, n_labels, reviewers, last_reviewed_at). Read from the
``confirmed_flags`` mart; written as CSV and Parquet side by side, each atomically (the CSV's
text cells spreadsheet-safe, see ``csv_safe``; the Parquet file holds the raw values)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ...core.csv_safe import escape_frame
from ...core.errors import CensusError
from ..reader import MartReader
from ..scope import EVERYTHING, Scope, datasets

COLUMNS = ("dataset", "rel_path", "image_id", "reason", "evidence")


def _value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    return value.item() if hasattr(value, "item") else value


def read_flags(db: Path | None, dataset: str | None) -> pd.DataFrame:
    with MartReader.open(db, reads="this export") as marts:
        marts.require("confirmed_flags", sentence="The warehouse has no confirmed_flags table yet: land the reviews "
                                                  "(`ingest review land`) and run `dbt build` first.")
        if dataset is not None and dataset not in datasets(marts.con):
            raise CensusError(f"The warehouse has no images of dataset {dataset!r}.")
        return marts.within(EVERYTHING if dataset is None else Scope(dataset)).frame(
            "confirmed_flags", where="question in ('nsfw_category', 'apparent_minor')",
            order="dataset, rel_path, question, annotator, face_idx")


def blocklist_rows(flags: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (dataset, image_id, question), part in flags.groupby(["dataset", "image_id", "question"], sort=False):
        first = part.iloc[0]
        review = lambda r: {"answer": _value(r["flag"]), "share": _value(r["share"]),  # noqa: E731
                            "n_labels": _value(r["n_labels"]), "reviewers": _value(r["reviewers"]),
                            "last_reviewed_at": _value(r["last_reviewed_at"])}
        if question == "nsfw_category":
            reason = f"nsfw:{first['flag']}"
            evidence = {"nsfw_score": _value(first["nsfw_score"]), "review": review(first)}
        else:
            reason = "apparent_minor"
            evidence = {"nsfw_score": _value(first["nsfw_score"]),
                        "faces": [{"annotator": _value(r["annotator"]), "face_idx": _value(r["face_idx"]),
                                   "det_score": _value(r["det_score"]), "age": _value(r["age"]),
                                   "review": review(r)} for _, r in part.iterrows()]}
        rows.append({"dataset": dataset, "rel_path": first["rel_path"], "image_id": image_id, "reason": reason,
                     "evidence": json.dumps(evidence, sort_keys=True)})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def output_paths(out: Path) -> tuple[Path, Path]:
    """The two files written into the folder ``out``."""
    return out / "blocklist.csv", out / "blocklist.parquet"


def export_blocklist(out: Path, *, dataset: str | None = None, db: Path | None = None) -> dict:
    """Write out/blocklist.csv and out/blocklist.parquet (the folder is created)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CensusError(f"{out} is a file: name a folder for blocklist.csv and blocklist.parquet.")
    csv_path, parquet_path = output_paths(out)
    for path in (csv_path, parquet_path):
        if path.is_dir():
            raise CensusError(f"{path} is a folder: move it away, or name another folder with --out.")
    rows = blocklist_rows(read_flags(db, dataset))
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({c: pa.array(rows[c].tolist(), type=pa.string()) for c in COLUMNS})
    _atomic(csv_path, lambda tmp: escape_frame(rows).to_csv(tmp, index=False))  # Parquet: raw values
    _atomic(parquet_path, lambda tmp: pq.write_table(table, tmp))
    return {"rows": len(rows), "images": rows["image_id"].nunique(), "csv": str(csv_path),
            "parquet": str(parquet_path)}


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
