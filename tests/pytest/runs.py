"""Helpers to run ingest in-process and read the raw tables back."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ingest.pipeline.runner import RunOptions, run_dataset

KEYS = {
    "images": ["image_id"],
    "image_runs": ["image_id", "annotator"],
    "faces": ["image_id", "annotator", "face_idx"],
    "nsfw": ["image_id", "annotator"],
    "predictions": ["image_id", "annotator", "rank"],
}


def ingest(root: Path, db: Path, **kwargs):
    options = RunOptions(dataset_root=root, dataset=kwargs.pop("dataset", "ds"), device="cpu",
                         db=db, workers=kwargs.pop("workers", 0), **kwargs)
    return run_dataset(options)


def table(db: Path, name: str) -> pd.DataFrame:
    """A raw table without run ids (runs differ between equivalent ingests), in key order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        if name == "images":
            frame = con.execute("select * exclude (first_seen_at) from raw.images").df()
        elif name == "nsfw":
            frame = con.execute(
                "select t.* exclude (run_id, probs), (t.probs->>'nsfw')::double as prob_nsfw, r.annotator"
                " from raw.nsfw t join raw.runs r using (run_id)"
            ).df()
        else:
            frame = con.execute(
                f"select t.* exclude (run_id{', processed_at' if name == 'image_runs' else ''}),"
                f" r.annotator from raw.{name} t join raw.runs r using (run_id)"
            ).df()
    finally:
        con.close()
    return frame.sort_values(KEYS[name]).reset_index(drop=True)


def count(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
