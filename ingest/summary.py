"""The short census summary printed after `make demo` (raw counts plus the marts, if built)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .stages import STAGES
from .warehouse import connect, table_counts


def _has_table(con, schema: str, name: str) -> bool:
    query = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    return con.execute(query, [schema, name]).fetchone()[0] > 0


def _per_annotator_sql() -> str:
    """Images ok and in error, and result rows, per stage and annotator; one branch per stage
    of the registry (table names come from the registry, never from input)."""
    result_rows = " union all ".join(
        f"select r.stage, r.annotator, count(*) as n from raw.{stage.table} t join raw.runs r using (run_id) "
        f"where r.stage = '{stage.name}' group by all" for stage in STAGES.values())
    return f"""
        with result_rows as ({result_rows})
        select r.stage, r.annotator,
               count(distinct ir.image_id) filter (where ir.status = 'ok'),
               count(distinct ir.image_id) filter (where ir.status = 'error'),
               coalesce(any_value(rr.n), 0)
        from raw.image_runs ir join raw.runs r using (run_id)
        left join result_rows rr on rr.stage = r.stage and rr.annotator = r.annotator
        group by all order by 1, 2"""


def print_summary(console: Console, db=None) -> None:
    con = connect(db, read_only=True)
    try:
        counts = table_counts(con)
        console.print("[bold]raw rows:[/] " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        table = Table(title="per annotator: images processed and rows landed")
        for col in ("stage", "annotator", "images ok", "errors", "rows"):
            table.add_column(col, justify="right" if col in ("images ok", "errors", "rows") else "left")
        rows = con.execute(_per_annotator_sql()).fetchall()
        for stage, annotator, ok, errors, n in rows:
            table.add_row(escape(stage), escape(annotator), f"{ok:,}", f"{errors:,}", f"{n:,}")
        console.print(table)
        if _has_table(con, "main", "class_census"):
            _census(console, con)
    finally:
        con.close()


def _census(console: Console, con) -> None:
    table = Table(title="class_census: classes with the most faces (apparent age/gender are "
                        "biased model estimates)")
    for col in ("annotator", "wnid", "split", "images", "eta", "faces", "mean age", "mean gender"):
        table.add_column(col)
    rows = con.execute(
        """
        select annotator, wnid, split, n_images, eta, n_faces, mean_age, mean_gender
        from main.class_census order by n_faces desc, wnid limit 8
        """
    ).fetchall()
    for annotator, wnid, split, n_images, eta, n_faces, age, gender in rows:
        table.add_row(escape(annotator), escape(wnid), escape(split), str(n_images), _fmt(eta), str(n_faces),
                      _fmt(age, 1), _fmt(gender))
    console.print(table)
    if _has_table(con, "main", "demographics"):
        for annotator, n_faces, pct_female, pct_over_60 in con.execute(
            "select annotator, n_faces, pct_female, pct_over_60 from main.demographics order by 1"
        ).fetchall():
            console.print(f"demographics: {escape(annotator)}: {n_faces:,} kept faces, {_fmt(pct_female, 1)}% apparent "
                          f"female, {_fmt(pct_over_60, 1)}% apparent over 60")
    for mart, query in (
        ("class_nsfw", "select annotator, count(*), max(mean_nsfw) from main.class_nsfw group by 1"),
        ("class_accuracy", "select annotator, count(*), avg(top5) from main.class_accuracy "
                           "where split = 'val' group by 1"),
    ):
        if _has_table(con, "main", mart):
            for annotator, n, value in con.execute(query).fetchall():
                measure = "highest class mean NSFW" if mart == "class_nsfw" else "mean val top-5"
                console.print(f"{mart}: {escape(annotator)}: {n} class rows, {measure} {_fmt(value)}")


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
