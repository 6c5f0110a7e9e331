"""The warehouse's raw rows: `ingest init`, `import`, `merge` and `land`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..core.config import database_path
from ..core.stages import importable
from .console import notice, out
from .options import DbOption

#: from the stage registry, plus reviewers' answers (raw.reviews, not a model stage)
ImportKind = StrEnum("ImportKind", {table: table for table in [*importable(), "reviews"]})


def init(db: DbOption = None) -> None:
    """Create the warehouse with the raw schema (idempotent: existing rows are kept)."""
    from ..warehouse.db import connect, init_schema, table_counts

    con = connect(db)
    init_schema(con)
    counts = table_counts(con)
    con.close()
    out.print(f"Warehouse ready at {db or database_path()}: " +
              ", ".join(f"raw.{k} {v:,}" for k, v in counts.items()))


def import_rows(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of rows made elsewhere.")],
    kind: Annotated[ImportKind, typer.Option(help="Raw table the rows go to.")],
    annotator: Annotated[str | None, typer.Option(
        help="Name of the model that made the rows, e.g. dex/2019 (with --kind reviews: the face annotator "
        "of rows that name a face_idx but no annotator).")] = None,
    dataset: Annotated[str, typer.Option(help="Dataset the rows belong to (its images must be in raw.images).")] = ...,
    covers_dataset: Annotated[bool, typer.Option(help="All dataset images were processed.")] = False,
    skip_if_imported: Annotated[bool, typer.Option(
        help="A file already imported for this annotator and dataset is a note, not an error.")] = False,
    db: DbOption = None,
) -> None:
    """Land rows made elsewhere as one complete run of a named annotator.

    Images are matched by image_id or by rel_path. Everything is validated first; on any
    error nothing lands and each bad row is reported by its row number. Reference labels
    (ground truth) are faces of an annotator named reference/<name>: boxes required, det_score
    1, gender 0/1 or female/male, age optional, attr_<name> columns for group attributes, and
    an image listed with blank face columns means "no face here". --kind reviews takes
    reviewers' answers (reviewer, rel_path, question, answer; optionally annotator, face_idx,
    reviewed_at, note) into raw.reviews; answers are checked against each question's answers.
    """
    if kind.value == "reviews":
        _import_reviews(file, dataset=dataset, annotator=annotator, db=db)
        return
    annotator = annotator or ""
    from ..warehouse.importer import AlreadyImported, import_file

    try:
        result = import_file(file, kind=kind.value, annotator=annotator, dataset=dataset,
                             covers_dataset=covers_dataset, db=db)
    except AlreadyImported as already:
        if not skip_if_imported:
            raise
        notice(str(already))
        return
    extra = "".join(f", {n:,} {table} rows" for table, n in result.get("extra_rows", {}).items())
    out.print(f"Imported run {result['run_id']}: {result['images']:,} images, "
              f"{result['rows']:,} {kind} rows{extra} as annotator {annotator}.", markup=False, highlight=False)


def _import_reviews(file: Path, *, dataset: str, annotator: str | None, db: Path | None) -> None:
    """Reviewers' answers (columns reviewer, rel_path, question, answer; optionally annotator,
    face_idx, reviewed_at, note) into raw.reviews, validated like every import."""
    from ..review.importer import import_reviews

    result = import_reviews(file, dataset=dataset, annotator=annotator, db=db)
    out.print(f"Imported {result['rows']:,} answers of {result['reviewers']:,} reviewers about "
              f"{result['images']:,} images into raw.reviews.", markup=False, highlight=False)


def merge(
    other: Annotated[Path, typer.Argument(help="Another census DuckDB file (e.g. a shard's).")],
    db: DbOption = None,
) -> None:
    """Merge another warehouse's raw rows into this one; rows already here are not duplicated."""
    from ..warehouse.merge import merge_warehouse

    counts = merge_warehouse(other, db)
    out.print("Merged: " + ", ".join(f"raw.{k} +{v:,}" for k, v in counts.items()))


def land(
    parts: Annotated[list[Path], typer.Argument(
        help="Parts to land: a folder given to `ingest run --parts` (every run in it), or one run's folder.")],
    db: DbOption = None,
) -> None:
    """Load Parquet parts (from `ingest run --parts` or --engine ray) into the warehouse, one
    transaction per run. Landing again adds nothing; a run landed while still going is recorded
    failed until it is landed again after it completed."""
    from ..warehouse.land import land_parts

    landed = land_parts(parts, db)
    statuses = sorted(landed.statuses.values())
    summary = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
    out.print(f"Landed {len(landed.folders)} run folder(s) ({summary}): "
              + ", ".join(f"raw.{k} +{v:,}" for k, v in landed.added.items()), markup=False, highlight=False)
