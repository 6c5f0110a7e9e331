"""``ingest card``: a dataset audit card (the 2020 paper's Section 4.6 / Figure 5) written as
Markdown from the census marts, for one dataset (``ingest.outputs.scope``: --dataset, else the only
one; --annotator narrows to one model). Every number is a query over the marts (coverage
included: annotator_coverage, never raw.image_runs); nothing is typed in. Marts older than
the raw rows are named in one sentence at the top."""

from __future__ import annotations

import html
from pathlib import Path

from ..core.classes import named
from ..core.config import FACE_MIN_SCORE
from .freshness import stale_sentence
from .reader import NOT_BUILT, MartReader
from .scope import resolve

CAVEAT = (
    "Apparent age and apparent gender are outputs of face models with known, measured bias "
    "(both audited papers report larger errors for women, children, older people and darker "
    "skin). A binary gender read from a face is not a person's gender. These figures describe "
    "what the models see in the dataset; they must not be used to label people. No face crop "
    "or identity embedding was stored."
)


def _rows(marts: MartReader, mart: str, columns: str, **query) -> list[tuple]:
    """The rows in scope of a mart the card needs (not built: one sentence)."""
    marts.require(mart)
    return marts.rows(mart, columns, **query) or []


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


def build_card(db: Path | None = None, top: int = 5, dataset: str | None = None,
               annotator: str | None = None) -> str:
    """The card of one dataset: the one named, else the warehouse's only one (several: a
    CensusError listing them); annotator keeps one model's rows where a mart names it."""
    with MartReader.open(db, reads="the card") as marts:
        marts.require("census_overview", "annotator_coverage", sentence=NOT_BUILT)
        marts = marts.within(resolve(marts.con, dataset, annotator))
        scope = marts.scope
        title = f"# Dataset audit card: {_cell(scope.describe())}" if scope.describe() else "# Dataset audit card"
        out = [title, "", f"> {CAVEAT}", ""]
        stale = stale_sentence(marts.con)
        if stale:
            out += [f"> **Stale.** {stale}", ""]
        out += _coverage(marts) + _humans(marts) + _measured_error(marts)
        out += _nsfw(marts, top) + _minors(marts, top) + _agreement(marts) + _accuracy(marts)
        out += ["## Method", "",
                f"Faces count when det_score >= the dbt var face_min_score (default {FACE_MIN_SCORE}). "
                "eta = share of a class's processed images with a face; gender skewness is the population skewness of "
                "the apparent gender score (0 = female, 1 = male). Definitions: the .yml of each mart "
                "(`dbt docs generate --profiles-dir .`).", ""]
        return "\n".join(out)


def _coverage(marts: MartReader) -> list[str]:
    """An image that failed and later succeeded counts once, as ok (annotator_coverage)."""
    rows = _rows(marts, "annotator_coverage", "dataset, stage, annotator, n_images_ok, n_images_error",
                 order="1, 2, 3")
    return ["## Coverage", ""] + _table(["dataset", "stage", "model", "images ok", "errors (never ok)"],
                                        [list(r) for r in rows]) + [""]


def _humans(marts: MartReader) -> list[str]:
    overview = _rows(marts, "census_overview", """
        annotator, dataset, split, n_images, n_images_with_faces, n_faces, n_women, n_men,
        100 * share_images_with_faces, mean_age_women, mean_age_men""", order="1, 2, 3")
    demo = _rows(marts, "demographics", "annotator, n_faces, pct_female, pct_over_60, mean_age", order="1")
    lines = ["## Humans in the dataset (Table 4 of the 2020 paper)", ""]
    lines += _table(["face model", "dataset", "split", "images", "images with persons", "persons", "apparent women",
                     "apparent men", "% images with persons", "mean age (women)", "mean age (men)"],
                    [list(r) for r in overview])
    lines += ["", *(_table(["face model", "faces", "% apparent female", "% apparent over 60", "mean apparent age"],
                           [list(r) for r in demo])), ""]
    return lines


CORRECTION = (
    "Precision = matched / predicted faces and recall = matched / reference faces, with faces matched "
    "one-to-one at IoU >= 0.5 (annotator_evaluation; face-box references only) on the images a reference "
    "(`reference/<name>`, imported labels) and the model both processed. Image precision and image recall are "
    "the rates of \"this image shows a real face\" on the reference's images labelled yes or no (depiction and "
    "unsure left out; a face-box reference's image is yes where it has a box), with 95 % Wilson intervals "
    "(annotator_image_evaluation). Corrected share = clamp(eta_observed x image_precision / image_recall, 0, 1) "
    "(corrected_face_share); its interval is the observed Wilson 95 % interval times the same factor and leaves "
    "out the error of the small reference sample itself. By supercategory: each supercategory corrected with its "
    "own image rates where the reference has enough of its images, else with the overall ones, then added up "
    "(corrected_supercategory_share). Corrected faces = faces x precision / recall. All assume the model errs "
    "on the dataset as it does on the reference's images."
)
KINDS = {"image_labels": "image labels", "faces": "face boxes", "faces, image_labels": "face boxes and image labels"}


def _measured_error(marts: MartReader) -> list[str]:
    """Measured precision/recall against reference labels beside the face counts, and the face
    share corrected for them (corrected_face_share, annotator_evaluation), with the reference
    and the images the error was measured on."""
    lines = ["## Measured error against reference labels", ""]
    if not marts.has("corrected_face_share", "annotator_evaluation"):
        return []
    optional = ("reference_kind", "n_images_evaluated", "n_images_excluded", "reference_datasets", "image_precision",
                "image_precision_lo", "image_precision_hi", "image_recall", "image_recall_lo", "image_recall_hi",
                "eta_corrected_by_supercategory")
    rows = _rows(marts, "corrected_face_share", [
        "annotator", "reference", "dataset", "n_faces", "precision", "recall", "eta_observed", "eta_observed_lo",
        "eta_observed_hi", "eta_corrected", "eta_corrected_lo", "eta_corrected_hi", "n_faces_corrected"],
        optional=optional, order="1, 2, 3")
    if not rows:
        return lines + ["No reference labels share images with a face model: import labelled faces with "
                        "`ingest import labels.csv --kind faces --annotator reference/<name> --dataset NAME`, or "
                        "image-level labels with `ingest evaluate faces labels.csv --dataset NAME`, to measure each "
                        "model's error.", ""]
    lines += _table(["face model", "reference", "dataset", "faces found", "precision", "recall",
                     "image precision (95 % CI)", "image recall (95 % CI)", "measured on",
                     "% images with faces (95 % CI)", "corrected % (interval)", "corrected % by supercategory",
                     "corrected faces"],
                    [[a, ref, d, n, p, r, _rate(ip, ip_lo, ip_hi), _rate(ir, ir_lo, ir_hi),
                      _measured_on(n_eval, n_excl, datasets, kind), _share(eta, lo, hi), _share(c, c_lo, c_hi),
                      "-" if by_sc is None else f"{100 * by_sc:.1f}", nc]
                     for (a, ref, d, n, p, r, eta, lo, hi, c, c_lo, c_hi, nc, kind, n_eval, n_excl, datasets,
                          ip, ip_lo, ip_hi, ir, ir_lo, ir_hi, by_sc) in rows])
    lines += ["", CORRECTION, ""]
    groups = _rows(marts, "annotator_evaluation", """
        annotator, reference, group_kind, group_value, n_reference, n_matched, recall, gender_accuracy, age_mae""",
                   where="group_kind <> 'all'", order="""1, 2, case group_kind when 'gender' then 0
                   when 'age_bucket' then 1 when 'gender_age' then 2 else 3 end, 3, 4""")
    if groups:
        lines += ["Per group of the reference faces (the 2019 paper's Tables 1-4):", ""]
        lines += _table(["face model", "reference", "group", "value", "reference faces", "found", "recall",
                         "gender accuracy", "age MAE (years)"], [list(r) for r in groups]) + [""]
    return lines


def _measured_on(n_images, n_excluded, datasets, kind) -> str:
    """Where the image-level error was measured: '42 images of sample (image labels); 2 ...'."""
    if n_images is None:
        return "-"
    text = f"{n_images:,} images of {datasets or '-'} ({KINDS.get(kind, kind or 'labels')})"
    return text + (f"; {n_excluded:,} depiction or unsure left out" if n_excluded else "")


def _rate(value, lo, hi) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} ({lo:.2f}-{hi:.2f})"


def _share(value, lo, hi) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f} ({100 * lo:.1f}-{100 * hi:.1f})"


def _nsfw(marts: MartReader, top: int) -> list[str]:
    rows = _rows(marts, "nsfw_clusters", "nsfw_annotator, face_annotator, dataset, wnid, mean_nsfw, mean_gender, "
                 "mean_age", where="is_review_shortlist",
                 order="mean_nsfw desc, wnid, dataset, nsfw_annotator, face_annotator", limit=top)
    lines = ["## NSFW review shortlist (Table 5 of the 2020 paper)", ""]
    if not rows:
        return lines + ["No class has an NSFW score in its dataset's audit split (train where it has one).", ""]
    return lines + _table(["NSFW model", "face model", "dataset", "class", "mean NSFW (audit split)",
                           "mean apparent gender", "mean apparent age"],
                          [[a, b, d, named(w), n, g, age] for a, b, d, w, n, g, age in rows]) + [""]


def _minors(marts: MartReader, top: int) -> list[str]:
    rows = _rows(marts, "class_minors", "annotator, dataset, wnid, split, n_faces, n_minors, n_infants, "
                 "share_minors, is_paper_child_class", where="n_minors > 0",
                 order="n_minors desc, wnid, dataset, split, annotator", limit=top)
    lines = ["## Classes with apparent minors (beyond the paper's hand-found list, B.4)", ""]
    if not rows:
        return lines + ["No kept face has an apparent age under the minor threshold.", ""]
    return lines + _table(["face model", "dataset", "class", "split", "faces", "apparent < 18", "apparent < 5",
                           "share < 18", "in the paper's list"],
                          [[a, d, named(w), s, f, m, i, sh, "yes" if p else "no"]
                           for a, d, w, s, f, m, i, sh, p in rows]) + [""]


def _agreement(marts: MartReader) -> list[str]:
    rows = _rows(marts, "annotator_agreement", "annotator_a, annotator_b, dataset, split, n_classes, pearson_eta, "
                 "pearson_gender_skewness, pearson_mean_age", order="1, 2, 3, 4")
    lines = ["## Do two face models agree? (Figure 10b of the 2020 paper)", ""]
    if not rows:
        return lines + ["Only one face model has been run.", ""]
    return lines + _table(["model A", "model B", "dataset", "split", "classes", "r (eta)", "r (gender skewness)",
                           "r (mean age)"], [list(r) for r in rows]) + [""]


def _accuracy(marts: MartReader) -> list[str]:
    rows = _rows(marts, "human_delta_ttest", "classifier_annotator, face_annotator, dataset, n_top, n_rest, "
                 "mean_top, mean_rest, t_statistic, p_value", order="1, 2, 3")
    lines = ["## Classes where people appear unevenly between train and val (B.6 of the 2020 paper)", ""]
    if not rows:
        return lines + ["No classifier or no val split.", ""]
    return lines + _table(["classifier", "face model", "dataset", "top classes", "all other classes",
                           "top-5 acc. (top)", "top-5 acc. (rest)", "Welch t", "p"],
                          [list(r) for r in rows]) + [""]
