"""``ingest review land``: fold the answers given in the review page into ``raw.reviews``.

One transaction; idempotent (an answer's review_id is a hash of its reviewer and item, so a
second landing adds nothing, and an answer the warehouse already holds for that reviewer and
item is never written again). The store then records when each answer landed."""

from __future__ import annotations

from pathlib import Path

from ..warehouse.db import connect, init_schema, transaction
from .store import ReviewStore, default_store_path

COLUMNS = ("review_id", "dataset", "reviewer", "image_id", "annotator", "face_idx", "question", "answer",
           "reviewed_at", "note")


def land_reviews(db: Path | None = None, store_path: Path | None = None) -> dict[str, int]:
    """Land pending answers: {"pending": n, "landed": new rows, "already": rows the warehouse had}."""
    path = Path(store_path or default_store_path(db))
    if not path.is_file():
        return {"pending": 0, "landed": 0, "already": 0}
    store = ReviewStore(path)
    pending = store.answers(pending_only=True)
    if pending.empty:
        return {"pending": 0, "landed": 0, "already": 0}
    frame = pending[list(COLUMNS)].astype({"face_idx": "Int64"})
    con = connect(db)
    try:
        init_schema(con)
        with transaction(con):
            con.register("_answers", frame)
            before = con.execute("select count(*) from raw.reviews").fetchall()[0][0]
            cols = ", ".join(COLUMNS)
            con.execute(
                f"insert into raw.reviews ({cols}) "
                f"select review_id, dataset, reviewer, image_id, annotator, cast(face_idx as integer), question, "
                f"answer, cast(reviewed_at as timestamp), note from _answers a "
                f"where not exists (select 1 from raw.reviews r where r.review_id = a.review_id "
                f"  or (r.dataset = a.dataset and r.reviewer = a.reviewer and r.image_id = a.image_id "
                f"      and r.question = a.question and r.annotator is not distinct from a.annotator "
                f"      and r.face_idx is not distinct from a.face_idx))")
            added = con.execute("select count(*) from raw.reviews").fetchall()[0][0] - before
            con.unregister("_answers")
    finally:
        con.close()
    store.mark_landed(list(frame["review_id"]))
    return {"pending": len(frame), "landed": added, "already": len(frame) - added}
