"""The short census summary printed after `make demo`: raw row counts, then what the marts
say about one dataset (per-annotator coverage from annotator_coverage, top classes, shares;
``ingest.outputs.scope``: --dataset, else the only one). Only the raw row counts are read from the raw
tables; every other number comes from a mart, so the summary agrees with the marts, the card
and analysts' queries. Marts older than the raw rows are named in one sentence first."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..core.classes import named
from ..warehouse.db import table_counts
from .freshness import stale_sentence
from .reader import MartReader
from .scope import EVERYTHING, resolve

#: the one-line hint printed where a section needs the marts and they are not built
BUILD_HINT = "run `dbt build --profiles-dir .` to build the marts"


def print_summary(console: Console, db=None, dataset: str | None = None, annotator: str | None = None) -> None:
    """Raw row counts (the whole warehouse), then the marts' view of one dataset (and model)."""
    with MartReader.open(db) as marts:
        con = marts.con
        built = marts.has("annotator_coverage")
        marts = marts.within(resolve(con, dataset, annotator) if built or dataset or annotator else EVERYTHING)
        counts = table_counts(con)
        console.print("[bold]raw rows:[/] " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        stale = stale_sentence(con)
        if stale:
            console.print(f"[bold yellow]stale:[/] {escape(stale)}", soft_wrap=True)
        if marts.scope.describe():
            console.print(f"[bold]marts of[/] {escape(marts.scope.describe())}", soft_wrap=True)
        _coverage(console, marts)
        if marts.has("class_census"):
            _census(console, marts)
        if marts.has("corrected_face_share"):
            _measured_error(console, marts)


def _coverage(console: Console, marts: MartReader) -> None:
    """Images ok and in error and result rows per stage, annotator and dataset, from the
    annotator_coverage mart (an image that failed and later succeeded counts once, as ok)."""
    rows = marts.rows("annotator_coverage", ["stage", "annotator", "dataset", "n_images_ok", "n_images_error",
                                             "n_result_rows"], order="stage, annotator, dataset")
    if rows is None:
        console.print(f"per annotator: images processed: {BUILD_HINT}.", highlight=False)
        return
    table = Table(title="per annotator: images processed and result rows (annotator_coverage)")
    for col in ("stage", "annotator", "dataset", "images ok", "errors", "rows"):
        table.add_column(col, justify="right" if col in ("images ok", "errors", "rows") else "left")
    for stage, annotator, dataset, ok, errors, n in rows:
        table.add_row(escape(stage), escape(annotator), escape(dataset), f"{ok:,}", f"{errors:,}", f"{n:,}")
    console.print(table)


def _census(console: Console, marts: MartReader) -> None:
    table = Table(title="class_census: classes with the most faces (apparent age/gender are "
                        "biased model estimates)")
    for col in ("annotator", "dataset", "class", "split", "images", "eta", "faces", "mean age", "mean gender"):
        table.add_column(col)
    rows = marts.rows("class_census", ["annotator", "dataset", "wnid", "split", "n_images", "eta", "n_faces",
                                       "mean_age", "mean_gender"],
                      order="n_faces desc, wnid, dataset, split, annotator", limit=8) or []
    for annotator, dataset, wnid, split, n_images, eta, n_faces, age, gender in rows:
        table.add_row(escape(annotator), escape(dataset), escape(named(wnid)), escape(split), str(n_images), _fmt(eta),
                      str(n_faces), _fmt(age, 1), _fmt(gender))
    console.print(table)
    dataset_column = "dataset" if "dataset" in marts.columns("demographics") else "null"
    demographics = marts.rows("demographics", f"annotator, {dataset_column}, n_faces, pct_female, pct_over_60",
                              order="1, 2") or []
    for annotator, dataset, n_faces, pct_female, pct_over_60 in demographics:
        on = f" on {escape(dataset)}" if dataset is not None else ""
        console.print(f"demographics: {escape(annotator)}{on}: {n_faces:,} kept faces, {_fmt(pct_female, 1)}% "
                      f"apparent female, {_fmt(pct_over_60, 1)}% apparent over 60")
    for mart, measure, query in (
        ("class_nsfw", "highest class mean NSFW", {"columns": "annotator, dataset, count(*), max(mean_nsfw)"}),
        ("class_accuracy", "mean val top-5", {"columns": "annotator, dataset, count(*), avg(top5)",
                                              "where": "split = 'val'"}),
    ):
        for annotator, dataset, n, value in marts.rows(mart, group="1, 2", order="1, 2", **query) or []:
            console.print(f"{mart}: {escape(annotator)} on {escape(dataset)}: {n} class rows, "
                          f"{measure} {_fmt(value)}")


def _measured_error(console: Console, marts: MartReader) -> None:
    """Per face model and reference: faces found, measured precision/recall, and the face share
    corrected for them (corrected_face_share; the formula is in its .yml and the card)."""
    rows = marts.rows("corrected_face_share", [
        "annotator", "reference", "dataset", "n_faces", "precision", "recall", "eta_observed", "eta_observed_lo",
        "eta_observed_hi", "eta_corrected", "eta_corrected_lo", "eta_corrected_hi"], order="1, 2, 3") or []
    for annotator, reference, dataset, n_faces, precision, recall, eta, lo, hi, fixed, f_lo, f_hi in rows:
        console.print(
            f"measured error: {escape(annotator)} on {escape(dataset)}: {n_faces:,} kept faces; against "
            f"{escape(reference)}: precision {_fmt(precision)}, recall {_fmt(recall)}; face share {_fmt(eta)} "
            f"[{_fmt(lo)}, {_fmt(hi)}], corrected {_fmt(fixed)} [{_fmt(f_lo)}, {_fmt(f_hi)}] "
            "(= share x image precision / image recall, clamped to [0, 1])", highlight=False)


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
