"""``ingest card``: a dataset audit card (the 2020 paper's Section 4.6 / Figure 5) written as
Markdown from the census marts. Every number is a query over the marts (coverage included:
annotator_coverage, never raw.image_runs); nothing is typed in."""

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
        built = {r[0] for r in _rows(con, "select table_name from information_schema.tables "
                                          "where table_schema = 'main'")}
        if not {"census_overview", "annotator_coverage"} <= built:
            raise CensusError("The census marts are not built yet: run `dbt build --profiles-dir .` first.")
        out = ["# Dataset audit card", "", f"> {CAVEAT}", ""]
        out += _coverage(con) + _humans(con) + _measured_error(con, built) + _nsfw(con, top) + _minors(con, top)
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
    """An image that failed and later succeeded counts once, as ok (annotator_coverage)."""
    rows = _rows(con, """
        select dataset, stage, annotator, n_images_ok, n_images_error
        from main.annotator_coverage order by 1, 2, 3""")
    return ["## Coverage", ""] + _table(["dataset", "stage", "model", "images ok", "errors (never ok)"],
                                        [list(r) for r in rows]) + [""]


def _humans(con) -> list[str]:
    overview = _rows(con, """
        select annotator, dataset, split, n_images, n_images_with_faces, n_faces, n_women, n_men,
               100 * share_images_with_faces, mean_age_women, mean_age_men
        from main.census_overview order by 1, 2, 3""")
    demo = _rows(con, "select annotator, n_faces, pct_female, pct_over_60, mean_age from main.demographics "
                      "order by 1")
    lines = ["## Humans in the dataset (Table 4 of the 2020 paper)", ""]
    lines += _table(["face model", "dataset", "split", "images", "images with persons", "persons", "apparent women",
                     "apparent men", "% images with persons", "mean age (women)", "mean age (men)"],
                    [list(r) for r in overview])
    lines += ["", *(_table(["face model", "faces", "% apparent female", "% apparent over 60", "mean apparent age"],
                           [list(r) for r in demo])), ""]
    return lines


CORRECTION = (
    "Precision = matched / predicted faces and recall = matched / reference faces, with faces matched "
    "one-to-one at IoU >= 0.5 (annotator_evaluation) on the images a reference (`reference/<name>`, "
    "imported labels) and the model both processed. Corrected share = clamp(eta_observed x "
    "image_precision / image_recall, 0, 1), where image_precision and image_recall are the rates of "
    "\"this image has a face\" on the reference's images (corrected_face_share); its interval is the "
    "observed Wilson 95 % interval times the same factor and leaves out the error of the small "
    "reference sample itself. Corrected faces = faces x precision / recall. Both assume the model errs on "
    "the dataset as it does on the reference's images."
)


def _measured_error(con, built: set[str]) -> list[str]:
    """Measured precision/recall against reference labels beside the face counts, and the face
    share corrected for them (corrected_face_share, annotator_evaluation)."""
    lines = ["## Measured error against reference labels", ""]
    if not {"corrected_face_share", "annotator_evaluation"} <= built:
        return []
    rows = _rows(con, """
        select annotator, reference, dataset, n_faces, precision, recall, eta_observed, eta_observed_lo,
               eta_observed_hi, eta_corrected, eta_corrected_lo, eta_corrected_hi, n_faces_corrected
        from main.corrected_face_share order by 1, 2, 3""")
    if not rows:
        return lines + ["No reference labels share images with a face model: import a labelled face set with "
                        "`ingest import labels.csv --kind faces --annotator reference/<name> --dataset NAME` to "
                        "measure each model's error.", ""]
    lines += _table(["face model", "reference", "dataset", "faces found", "precision", "recall",
                     "% images with faces (95 % CI)", "corrected % (interval)", "corrected faces"],
                    [[a, ref, d, n, p, r, _share(eta, lo, hi), _share(c, c_lo, c_hi), nc]
                     for a, ref, d, n, p, r, eta, lo, hi, c, c_lo, c_hi, nc in rows])
    lines += ["", CORRECTION, ""]
    groups = _rows(con, """
        select annotator, reference, group_kind, group_value, n_reference, n_matched, recall, gender_accuracy,
               age_mae
        from main.annotator_evaluation where group_kind <> 'all'
        order by 1, 2, case group_kind when 'gender' then 0 when 'age_bucket' then 1 when 'gender_age' then 2
                 else 3 end, 3, 4""")
    if groups:
        lines += ["Per group of the reference faces (the 2019 paper's Tables 1-4):", ""]
        lines += _table(["face model", "reference", "group", "value", "reference faces", "found", "recall",
                         "gender accuracy", "age MAE (years)"], [list(r) for r in groups]) + [""]
    return lines


def _share(value, lo, hi) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f} ({100 * lo:.1f}-{100 * hi:.1f})"


def _nsfw(con, top: int) -> list[str]:
    rows = _rows(con, """
        select nsfw_annotator, face_annotator, dataset, wnid, mean_nsfw, mean_gender, mean_age
        from main.nsfw_clusters where is_review_shortlist order by mean_nsfw desc, wnid, dataset limit ?""", [top])
    lines = ["## NSFW review shortlist (Table 5 of the 2020 paper)", ""]
    if not rows:
        return lines + ["No class has both an NSFW score and kept faces.", ""]
    return lines + _table(["NSFW model", "face model", "dataset", "class", "mean NSFW (train)",
                           "mean apparent gender", "mean apparent age"],
                          [[a, b, d, f"{w} {_label(w)}", n, g, age] for a, b, d, w, n, g, age in rows]) + [""]


def _minors(con, top: int) -> list[str]:
    rows = _rows(con, """
        select annotator, dataset, wnid, split, n_faces, n_minors, n_infants, share_minors, is_paper_child_class
        from main.class_minors where n_minors > 0
        order by n_minors desc, wnid, dataset limit ?""", [top])
    lines = ["## Classes with apparent minors (beyond the paper's hand-found list, B.4)", ""]
    if not rows:
        return lines + ["No kept face has an apparent age under the minor threshold.", ""]
    return lines + _table(["face model", "dataset", "class", "split", "faces", "apparent < 18", "apparent < 5",
                           "share < 18", "in the paper's list"],
                          [[a, d, f"{w} {_label(w)}", s, f, m, i, sh, "yes" if p else "no"]
                           for a, d, w, s, f, m, i, sh, p in rows]) + [""]


def _agreement(con) -> list[str]:
    rows = _rows(con, """
        select annotator_a, annotator_b, dataset, split, n_classes, pearson_eta, pearson_gender_skewness,
               pearson_mean_age
        from main.annotator_agreement order by 1, 2, 3, 4""")
    lines = ["## Do two face models agree? (Figure 10b of the 2020 paper)", ""]
    if not rows:
        return lines + ["Only one face model has been run.", ""]
    return lines + _table(["model A", "model B", "dataset", "split", "classes", "r (eta)", "r (gender skewness)",
                           "r (mean age)"], [list(r) for r in rows]) + [""]


def _accuracy(con) -> list[str]:
    rows = _rows(con, """
        select classifier_annotator, face_annotator, dataset, n_top, n_rest, mean_top, mean_rest, t_statistic,
               p_value
        from main.human_delta_ttest order by 1, 2, 3""")
    lines = ["## Classes where people appear unevenly between train and val (B.6 of the 2020 paper)", ""]
    if not rows:
        return lines + ["No classifier or no val split.", ""]
    return lines + _table(["classifier", "face model", "dataset", "top classes", "all other classes",
                           "top-5 acc. (top)", "top-5 acc. (rest)", "Welch t", "p"],
                          [list(r) for r in rows]) + [""]
