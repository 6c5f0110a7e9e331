"""``ingest card``: a dataset audit card (the 2020 paper's Section 4.6 / Figure 5) written as
Markdown from the census marts. Every number is a query over the marts; nothing is typed in."""

from __future__ import annotations

import html
from pathlib import Path

from .classes import imagenet_labels
from .config import FACE_MIN_SCORE
from .errors import CensusError
from .warehouse import connect

CAVEAT = (
    "Apparent age and apparent gender are outputs of face models with known, measured bias "
    "(both audited papers report larger errors for women, children, older people and darker "
    "skin). A binary gender read from a face is not a person's gender. These figures describe "
    "what the models see in the dataset; they must not be used to label people. No face crop "
    "or identity embedding was stored."
)


def _rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _label(wnid: str) -> str:
    return imagenet_labels().get(wnid, wnid)


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _cell(value) -> str:
    """Text safe inside a Markdown table cell: one line, no HTML, no unescaped pipe."""
    text = value if isinstance(value, str) else _fmt(value)
    text = html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return "<br>".join(text.splitlines()) if text else text


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def build_card(db: Path | None = None, top: int = 5) -> str:
    con = connect(db, read_only=True)
    try:
        if not _rows(con, "select 1 from information_schema.tables where table_name = 'census_overview'"):
            raise CensusError("The census marts are not built yet: run `dbt build --profiles-dir .` first.")
        out = ["# Dataset audit card", "", f"> {CAVEAT}", ""]
        out += _coverage(con) + _humans(con) + _nsfw(con, top) + _minors(con, top)
        out += _agreement(con) + _accuracy(con)
        out += ["## Method", "",
                f"Faces count when det_score >= the dbt var face_min_score (default {FACE_MIN_SCORE}). "
                "eta = share of a class's processed images with a face; gender skewness is the population skewness of "
                "the apparent gender score (0 = female, 1 = male). Definitions: the .yml of each mart "
                "(`dbt docs generate --profiles-dir .`).", ""]
        return "\n".join(out)
    finally:
        con.close()


def _coverage(con) -> list[str]:
    rows = _rows(con, """
        select r.dataset, r.stage, r.annotator,
               count(distinct ir.image_id) filter (where ir.status = 'ok'),
               count(distinct ir.image_id) filter (where ir.status = 'error')
        from raw.image_runs ir join raw.runs r using (run_id) group by all order by 1, 2, 3""")
    return ["## Coverage", ""] + _table(["dataset", "stage", "model", "images ok", "errors"],
                                        [list(r) for r in rows]) + [""]


def _humans(con) -> list[str]:
    overview = _rows(con, """
        select annotator, split, n_images, n_images_with_faces, n_faces, n_women, n_men,
               100 * share_images_with_faces, mean_age_women, mean_age_men
        from main.census_overview order by 1, 2""")
    demo = _rows(con, "select annotator, n_faces, pct_female, pct_over_60, mean_age from main.demographics "
                      "order by 1")
    lines = ["## Humans in the dataset (Table 4 of the 2020 paper)", ""]
    lines += _table(["face model", "split", "images", "images with persons", "persons", "apparent women",
                     "apparent men", "% images with persons", "mean age (women)", "mean age (men)"],
                    [list(r) for r in overview])
    lines += ["", *(_table(["face model", "faces", "% apparent female", "% apparent over 60", "mean apparent age"],
                           [list(r) for r in demo])), ""]
    return lines


def _nsfw(con, top: int) -> list[str]:
    rows = _rows(con, """
        select nsfw_annotator, face_annotator, wnid, mean_nsfw, mean_gender, mean_age
        from main.nsfw_clusters where is_review_shortlist order by mean_nsfw desc limit ?""", [top])
    lines = ["## NSFW review shortlist (Table 5 of the 2020 paper)", ""]
    if not rows:
        return lines + ["No class has both an NSFW score and kept faces.", ""]
    return lines + _table(["NSFW model", "face model", "class", "mean NSFW (train)", "mean apparent gender",
                           "mean apparent age"],
                          [[a, b, f"{w} {_label(w)}", n, g, age] for a, b, w, n, g, age in rows]) + [""]


def _minors(con, top: int) -> list[str]:
    rows = _rows(con, """
        select annotator, wnid, split, n_faces, n_minors, n_infants, share_minors, is_paper_child_class
        from main.class_minors where n_minors > 0
        order by n_minors desc, wnid limit ?""", [top])
    lines = ["## Classes with apparent minors (beyond the paper's hand-found list, B.4)", ""]
    if not rows:
        return lines + ["No kept face has an apparent age under the minor threshold.", ""]
    return lines + _table(["face model", "class", "split", "faces", "apparent < 18", "apparent < 5",
                           "share < 18", "in the paper's list"],
                          [[a, f"{w} {_label(w)}", s, f, m, i, sh, "yes" if p else "no"]
                           for a, w, s, f, m, i, sh, p in rows]) + [""]


def _agreement(con) -> list[str]:
    rows = _rows(con, """
        select annotator_a, annotator_b, split, n_classes, pearson_eta, pearson_gender_skewness, pearson_mean_age
        from main.annotator_agreement order by 1, 2, 3""")
    lines = ["## Do two face models agree? (Figure 10b of the 2020 paper)", ""]
    if not rows:
        return lines + ["Only one face model has been run.", ""]
    return lines + _table(["model A", "model B", "split", "classes", "r (eta)", "r (gender skewness)",
                           "r (mean age)"], [list(r) for r in rows]) + [""]


def _accuracy(con) -> list[str]:
    rows = _rows(con, """
        select classifier_annotator, face_annotator, n_top, n_rest, mean_top, mean_rest, t_statistic, p_value
        from main.human_delta_ttest order by 1, 2""")
    lines = ["## Classes where people appear unevenly between train and val (B.6 of the 2020 paper)", ""]
    if not rows:
        return lines + ["No classifier or no val split.", ""]
    return lines + _table(["classifier", "face model", "top classes", "other classes", "top-5 acc. (top)",
                           "top-5 acc. (rest)", "Welch t", "p"], [list(r) for r in rows]) + [""]
