"""The review queues: a snapshot of the ``review_queue`` mart (built by ``dbt build``) and of
the labels already in ``raw.reviews``, copied into the review store.

The warehouse is opened read-only only for the copy and closed at once, so that a reviewer's
page never holds it: while ``ingest run`` or ``dbt build`` writes it, the copy fails with
WarehouseBusy and the server keeps the last snapshot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.config import database_path
from ..core.errors import CensusError
from ..warehouse.db import connect, table_exists
from .store import QUEUE_COLUMNS, ReviewStore, Snapshot


def read_queue(dataset: str, db: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dataset's queue items and its existing labels (reviewer and item), read-only."""
    con = connect(db, read_only=True)
    try:
        if not table_exists(con, "main", "review_queue"):
            raise CensusError("The warehouse has no review_queue table yet: run `dbt build` first "
                              "(the queues come from the NSFW shortlist and the face marts).")
        known = con.execute("select count(*) from raw.images where dataset = ?", [dataset]).fetchone()[0]
        if not known:
            raise CensusError(f"The warehouse has no images of dataset {dataset!r}; name it with --dataset "
                              "as in `ingest run`.")
        items = con.execute(f"select {', '.join(QUEUE_COLUMNS)} from main.review_queue where dataset = ? "
                            "order by question, priority", [dataset]).df()
        prior = pd.DataFrame(columns=["reviewer", "question", "image_id", "annotator", "face_idx"])
        if table_exists(con, "raw", "reviews"):
            prior = con.execute("select reviewer, question, image_id, annotator, face_idx from raw.reviews "
                                "where dataset = ?", [dataset]).df()
        return items, prior
    finally:
        con.close()


def refresh(store: ReviewStore, dataset: str, db: Path | None = None) -> Snapshot:
    """Copy the queue into the store (WarehouseBusy while another process holds the warehouse)."""
    items, prior = read_queue(dataset, db)
    return store.replace_queue(dataset, items, prior, str(Path(db or database_path())))
