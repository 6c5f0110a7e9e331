"""`ingest evaluate`: the face models measured on labelled samples."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import group
from .console import console, notice, out
from .options import DbOption

evaluate_app = group("Measure the face models of the warehouse on labelled samples.")


@evaluate_app.command("faces")
def evaluate_faces(
    labels: Annotated[str, typer.Argument(
        help="Image-level labels: a CSV or Parquet file (file_name or rel_path, label yes/no/depiction/unsure, "
        "n_faces, note), or imagenet-sample-dev (the shipped labels of EliSchwartz/imagenet-sample-images).")],
    dataset: Annotated[str, typer.Option(help="Dataset the labelled images belong to (in raw.images).")] = ...,
    reference: Annotated[str | None, typer.Option(
        help="Name of the reference, stored as reference/<name> (default: the file's stem, or "
        "imagenet-sample-dev).")] = None,
    build: Annotated[bool, typer.Option(help="Build the evaluation marts with dbt (--no-build: read them as "
                                             "they are).")] = True,
    db: DbOption = None,
) -> None:
    """Import image-level face labels as a reference (a file imported before is reused), build the
    evaluation marts and print, per face model and supercategory, image-level precision and recall
    with 95 % Wilson intervals (annotator_image_evaluation)."""
    from rich.markup import escape

    from ..labels.evaluate import build_marts, evaluation_tables, import_labels, notes, read_evaluation

    imported = import_labels(labels, dataset=dataset, reference=reference, db=db)
    if imported.already:
        notice(escape(imported.message))
    else:
        console.print(imported.message, markup=False, highlight=False, soft_wrap=True)
    if build:
        console.print("Building the evaluation marts (dbt build) ...", markup=False, highlight=False)
        build_marts(db)
    frame = read_evaluation(db, imported.reference, dataset)
    for table in evaluation_tables(frame, imported.reference, dataset):
        out.print(table)
    for line in notes(frame, dataset):
        notice(escape(line))
