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
from ..warehouse.db import connect, table_counts, table_exists
from .freshness import stale_sentence
from .scope import EVERYTHING, Scope, resolve

#: the one-line hint printed where a section needs the marts and they are not built
BUILD_HINT = "run `dbt build --profiles-dir .` to build the marts"


def print_summary(console: Console, db=None, dataset: str | None = None, annotator: str | None = None) -> None:
    """Raw row counts (the whole warehouse), then the marts' view of one dataset (and model)."""
    con = connect(db, read_only=True)
    try:
        built = table_exists(con, "main", "annotator_coverage")
        scope = resolve(con, dataset, annotator) if built or dataset or annotator else EVERYTHING
        counts = table_counts(con)
        console.print("[bold]raw rows:[/] " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        stale = stale_sentence(con)
        if stale:
            console.print(f"[bold yellow]stale:[/] {escape(stale)}", soft_wrap=True)
        if scope.describe():
            console.print(f"[bold]marts of[/] {escape(scope.describe())}", soft_wrap=True)
        _coverage(console, con, scope)
        if table_exists(con, "main", "class_census"):
            _census(console, con, scope)
        if table_exists(con, "main", "corrected_face_share"):
            _measured_error(console, con, scope)
    finally:
        con.close()


def _coverage(console: Console, con, scope: Scope = EVERYTHING) -> None:
    """Images ok and in error and result rows per stage, annotator and dataset, from the
    annotator_coverage mart (an image that failed and later succeeded counts once, as ok)."""
    if not table_exists(con, "main", "annotator_coverage"):
        console.print(f"per annotator: images processed: {BUILD_HINT}.", highlight=False)
        return
    table = Table(title="per annotator: images processed and result rows (annotator_coverage)")
    for col in ("stage", "annotator", "dataset", "images ok", "errors", "rows"):
        table.add_column(col, justify="right" if col in ("images ok", "errors", "rows") else "left")
    rows = con.execute(
        "select stage, annotator, dataset, n_images_ok, n_images_error, n_result_rows "
        f"from {scope.relation(con, 'annotator_coverage')} order by stage, annotator, dataset").fetchall()
    for stage, annotator, dataset, ok, errors, n in rows:
        table.add_row(escape(stage), escape(annotator), escape(dataset), f"{ok:,}", f"{errors:,}", f"{n:,}")
    console.print(table)


def _census(console: Console, con, scope: Scope = EVERYTHING) -> None:
    table = Table(title="class_census: classes with the most faces (apparent age/gender are "
                        "biased model estimates)")
    for col in ("annotator", "dataset", "class", "split", "images", "eta", "faces", "mean age", "mean gender"):
        table.add_column(col)
    rows = con.execute(
        f"""
        select annotator, dataset, wnid, split, n_images, eta, n_faces, mean_age, mean_gender
        from {scope.relation(con, "class_census")} order by n_faces desc, wnid, dataset, split, annotator limit 8
        """
    ).fetchall()
    for annotator, dataset, wnid, split, n_images, eta, n_faces, age, gender in rows:
        table.add_row(escape(annotator), escape(dataset), escape(named(wnid)), escape(split), str(n_images), _fmt(eta),
                      str(n_faces), _fmt(age, 1), _fmt(gender))
    console.print(table)
    if table_exists(con, "main", "demographics"):
        dataset_column = "dataset" if _has_column(con, "demographics", "dataset") else "null"
        for annotator, dataset, n_faces, pct_female, pct_over_60 in con.execute(
            f"select annotator, {dataset_column}, n_faces, pct_female, pct_over_60 "
            f"from {scope.relation(con, 'demographics')} order by 1, 2"
        ).fetchall():
            on = f" on {escape(dataset)}" if dataset is not None else ""
            console.print(f"demographics: {escape(annotator)}{on}: {n_faces:,} kept faces, {_fmt(pct_female, 1)}% "
                          f"apparent female, {_fmt(pct_over_60, 1)}% apparent over 60")
    for mart, query in (
        ("class_nsfw", "select annotator, dataset, count(*), max(mean_nsfw) from {relation} "
                       "group by 1, 2 order by 1, 2"),
        ("class_accuracy", "select annotator, dataset, count(*), avg(top5) from {relation} "
                           "where split = 'val' group by 1, 2 order by 1, 2"),
    ):
        if table_exists(con, "main", mart):
            rows = con.execute(query.format(relation=scope.relation(con, mart))).fetchall()
            for annotator, dataset, n, value in rows:
                measure = "highest class mean NSFW" if mart == "class_nsfw" else "mean val top-5"
                console.print(f"{mart}: {escape(annotator)} on {escape(dataset)}: {n} class rows, "
                              f"{measure} {_fmt(value)}")


def _measured_error(console: Console, con, scope: Scope = EVERYTHING) -> None:
    """Per face model and reference: faces found, measured precision/recall, and the face share
    corrected for them (corrected_face_share; the formula is in its .yml and the card)."""
    rows = con.execute(
        f"""
        select annotator, reference, dataset, n_faces, precision, recall, eta_observed, eta_observed_lo,
               eta_observed_hi, eta_corrected, eta_corrected_lo, eta_corrected_hi
        from {scope.relation(con, "corrected_face_share")} order by 1, 2, 3
        """
    ).fetchall()
    for annotator, reference, dataset, n_faces, precision, recall, eta, lo, hi, fixed, f_lo, f_hi in rows:
        console.print(
            f"measured error: {escape(annotator)} on {escape(dataset)}: {n_faces:,} kept faces; against "
            f"{escape(reference)}: precision {_fmt(precision)}, recall {_fmt(recall)}; face share {_fmt(eta)} "
            f"[{_fmt(lo)}, {_fmt(hi)}], corrected {_fmt(fixed)} [{_fmt(f_lo)}, {_fmt(f_hi)}] "
            "(= share x image precision / image recall, clamped to [0, 1])", highlight=False)


def _has_column(con, table: str, column: str) -> bool:
    query = ("select count(*) from information_schema.columns where table_schema = 'main' and table_name = ? "
             "and column_name = ?")
    return con.execute(query, [table, column]).fetchone()[0] > 0


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
