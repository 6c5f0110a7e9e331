"""``ingest export croissant``: the audited dataset described in Croissant 1.0 JSON-LD, with the
census in the Responsible-AI vocabulary (Croissant RAI 1.0): ``rai:dataBiases`` (apparent gender
and age with their intervals, the classes with the highest NSFW scores),
``rai:personalSensitiveInformation`` (faces, apparent minors), ``rai:machineAnnotationTools``
(every model with its measured precision and recall), ``rai:annotationsPerItem`` and
``rai:dataAnnotationAnalysis`` (reviewers' labels and agreement) and ``rai:dataLimitations``.

The RAI texts are computed from the marts only, scoped to one dataset (``ingest.outputs.scope``). A mart
that is not built, or holds nothing for the dataset, makes its sentence say "not measured" and
why. The dataset's image files are a FileSet whose patterns come from the extensions of the
rel_paths the census listed (``raw.images``: no mart lists every file; only counts per
extension are read), and the class-level census tables of the dataset are written beside the
JSON-LD as Parquet files, each a FileObject (with its sha256) and a RecordSet whose fields carry
the dbt docs. The JSON is written with the standard library: mlcroissant (a test dependency)
validates it but is not needed to write it.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ...core.classes import imagenet_labels
from ...core.config import FACE_MIN_SCORE
from ...core.errors import CensusError
from ...core.import_checks import REFERENCE_PREFIX
from ...core.quoting import quote_literal
from ...warehouse.db import connect, table_exists
from ..card import CAVEAT
from ..freshness import BUILD_COMMAND, stale_sentence
from ..marts import mart_docs
from ..reader import NOT_BUILT, MartReader
from ..scope import Scope, choose_dataset

CROISSANT = "http://mlcommons.org/croissant/1.0"
CROISSANT_RAI = "http://mlcommons.org/croissant/RAI/1.0"
FILE_NAME = "croissant.json"
CENSUS_FOLDER = "census"
#: the class-level census tables distributed beside the JSON-LD (no row names an image or a face)
CENSUS_TABLES = ("class_census", "class_nsfw", "class_minors", "demographics")
TOP = 5
#: the JSON-LD context Croissant 1.0 recommends (its Appendix 1), with the two cr: terms
#: mlcroissant also expects
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
NO_REFERENCE = ("not measured: no reference labels imported (`ingest import labels.csv --kind faces --annotator "
                "reference/<name>`, or image-level labels with `ingest evaluate faces`)")
NO_REVIEWS = "not measured: no review answers landed (`ingest review serve`, then `ingest review land`)"
UNKNOWN_PROPERTIES = "license, citeAs, version and datePublished"


#: how a stage's models are named in a sentence
STAGE_WORDS = {"faces": "face", "nsfw": "NSFW", "classify": "classifier"}


def _n(count: int, noun: str) -> str:
    """'1 image', '2 images'."""
    plural = noun + ("es" if noun.endswith("s") else "s")
    return f"{count:,} {noun if count == 1 else plural}"


def _models(counts: dict[str, int]) -> str:
    """'2 face models, 1 NSFW model'."""
    return ", ".join(_n(n, f"{STAGE_WORDS.get(stage, stage)} model") for stage, n in counts.items()) or "no model"


def not_built(mart: str) -> str:
    return f"not measured: the {mart} mart is not built (run `{BUILD_COMMAND}`)"


@dataclass
class Census:
    """The marts of one dataset, read-only."""

    marts: MartReader  # in the scope of the dataset
    dataset: str

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.marts.con

    @property
    def built(self) -> frozenset[str]:
        return self.marts.built

    def rows(self, mart: str, columns: str, where: str = "true", group: str = "", order: str = "1",
             optional: tuple[str, ...] = ()) -> list[dict] | None:
        """The mart's rows of this dataset (all rows where it has no dataset column) as dicts;
        None when the mart is not built. Optional columns the mart lacks come back as None."""
        return self.marts.records(mart, columns, where=where, group=group, order=order, optional=optional)


def _num(value, digits: int = 2) -> str:
    if value is None or value != value:  # NULL or NaN
        return "-"
    return f"{value:,.{digits}f}"


def _pct(value) -> str:
    return "-" if value is None or value != value else f"{value:.1f} %"


def _interval(lo, hi, scale: float = 1.0, method: str = "") -> str:
    if lo is None or hi is None or lo != lo or hi != hi:
        return "no interval"
    return f"95 % interval {lo * scale:.1f}-{hi * scale:.1f} %{method}"


def _class(wnid: str | None, labels: dict[str, str]) -> str:
    if wnid is None:
        return "(no class)"
    return f"{wnid} {labels[wnid]}" if wnid in labels else wnid


# --- rai:dataBiases ---------------------------------------------------------------------------

def _gender_skew(lo, hi) -> str:
    if lo is None or hi is None or lo != lo or hi != hi:
        return "skew not measured (no interval)"
    if hi < 50:
        return "skewed towards apparent men (the whole interval is below 50 %)"
    if lo > 50:
        return "skewed towards apparent women (the whole interval is above 50 %)"
    return "no skew beyond chance (the interval includes 50 %)"


def _method(kind: str | None) -> str:
    """How demographics computed an interval (its *_interval column; a bootstrap before it existed)."""
    if kind == "wilson":
        return ", Wilson score interval over images"
    return ", bootstrap over images" if kind in (None, "bootstrap") else f", {kind}"


def gender_age(census: Census) -> list[str]:
    rows = census.rows("demographics", "annotator, n_faces, n_women, n_men, pct_female, pct_female_lo, pct_female_hi, "
                       "pct_over_60, pct_over_60_lo, pct_over_60_hi, mean_age", order="annotator",
                       optional=("pct_female_interval", "pct_over_60_interval"))
    if rows is None:
        return [f"Apparent gender and age: {not_built('demographics')}."]
    if not rows:
        return [f"Apparent gender and age: not measured: no face model has processed dataset {census.dataset}."]
    out = []
    for r in rows:
        model = r["annotator"]
        if not r["n_faces"]:
            out.append(f"Apparent gender and age (face model {model}): not measured: the model kept no face in "
                       "this dataset.")
            continue
        female = _interval(r["pct_female_lo"], r["pct_female_hi"], method=_method(r["pct_female_interval"]))
        over_60 = _interval(r["pct_over_60_lo"], r["pct_over_60_hi"], method=_method(r["pct_over_60_interval"]))
        out.append(
            f"Apparent gender (face model {model}): {_pct(r['pct_female'])} of {_n(r['n_faces'], 'kept face')} "
            f"are read as female ({female}; {r['n_women']:,} read as women, {r['n_men']:,} as men): "
            f"{_gender_skew(r['pct_female_lo'], r['pct_female_hi'])}. Apparent age: {_pct(r['pct_over_60'])} read "
            f"as over 60 ({over_60}), mean apparent age {_num(r['mean_age'], 1)} years.")
    return out


def nsfw_classes(census: Census, labels: dict[str, str]) -> list[str]:
    rows = census.rows("class_nsfw", "annotator, wnid, split, n_scored, mean_nsfw", where="n_scored > 0",
                       order="annotator, mean_nsfw desc, wnid, split")
    if rows is None:
        return [f"NSFW classes: {not_built('class_nsfw')}."]
    if not rows:
        return [f"NSFW classes: not measured: no NSFW model has scored an image of dataset {census.dataset}."]
    out = []
    for model in dict.fromkeys(r["annotator"] for r in rows):
        top = [r for r in rows if r["annotator"] == model][:TOP]
        listed = "; ".join(f"{_class(r['wnid'], labels)} ({r['split']}): {_num(r['mean_nsfw'])} over "
                           f"{_n(r['n_scored'], 'image')}" for r in top)
        out.append(f"NSFW classes (model {model}; mean NSFW score per class and split, 0 = safe, 1 = explicit; the "
                   f"{len(top)} highest): {listed}.")
    confirmed = census.rows("confirmed_flags", "flag, count(distinct image_id) as n",
                            where="question = 'nsfw_category'", group="flag", order="2 desc, 1")
    if confirmed:
        out.append("NSFW categories confirmed by reviewers: " + ", ".join(f"{r['flag']} on {_n(r['n'], 'image')}"
                                                                           for r in confirmed)
                   + " (`ingest export blocklist` lists them).")
    return out


# --- rai:personalSensitiveInformation ---------------------------------------------------------

def faces(census: Census) -> list[str]:
    rows = census.rows("census_overview", "annotator, sum(n_images) as n_images, "
                       "sum(n_images_with_faces) as n_with, sum(n_faces) as n_faces", group="annotator",
                       order="annotator")
    if rows is None:
        out = [f"Faces of people: {not_built('census_overview')}."]
    elif not rows:
        out = [f"Faces of people: not measured: no face model has processed dataset {census.dataset}."]
    else:
        out = [f"Faces of people (face model {r['annotator']}): {_n(r['n_faces'], 'kept face')} in {r['n_with']:,} of "
               f"{_n(r['n_images'], 'image')} ({_pct(100 * r['n_with'] / r['n_images'] if r['n_images'] else None)})."
               for r in rows]
    corrected = census.rows("corrected_face_share", "*", order="annotator, reference")
    if corrected is None:
        out.append(f"Face share corrected for the models' measured error: {not_built('corrected_face_share')}.")
    elif not corrected:
        out.append(f"Face share corrected for the models' measured error: {NO_REFERENCE}.")
    for r in corrected or []:
        out.append(f"Face share of model {r['annotator']} corrected for its error against {r['reference']}: "
                   f"{_pct(_scaled(r.get('eta_corrected')))} of images show a face "
                   f"({_interval(r.get('eta_corrected_lo'), r.get('eta_corrected_hi'), 100)}; observed "
                   f"{_pct(_scaled(r.get('eta_observed')))}).")
    return out


def _scaled(share):
    return None if share is None or share != share else 100 * share


def minors(census: Census, labels: dict[str, str]) -> list[str]:
    totals = census.rows("class_minors", "annotator, sum(n_faces_with_age) as n_aged, sum(n_minors) as n_minors, "
                         "sum(n_infants) as n_infants, sum(n_images_with_minors) as n_images",
                         group="annotator", order="annotator")
    if totals is None:
        return [f"Apparent minors: {not_built('class_minors')}."]
    if not totals:
        return [f"Apparent minors: not measured: no face model has processed dataset {census.dataset}."]
    out = []
    for t in totals:
        model = t["annotator"]
        if not t["n_aged"]:
            out.append(f"Apparent minors (face model {model}): not measured: no kept face has an apparent age.")
            continue
        top = census.rows("class_minors", "wnid, split, n_minors", where=f"annotator = {quote_literal(model)} and "
                          "n_minors > 0", order=f"n_minors desc, wnid, split limit {TOP}") or []
        where = ("; most in " + ", ".join(f"{_class(r['wnid'], labels)} ({r['split']}) {r['n_minors']:,}"
                                          for r in top)) if top else ""
        out.append(f"Apparent minors (face model {model}): {t['n_minors']:,} of {_n(t['n_aged'], 'kept face')} with an "
                   f"apparent age are read as under 18 ({_pct(100 * t['n_minors'] / t['n_aged'])}), "
                   f"{t['n_infants']:,} as under 5, in {_n(t['n_images'], 'image')}{where}. An apparent age is a "
                   "model's estimate from a face, not a person's age.")
    confirmed = census.rows("confirmed_flags", "count(distinct image_id) as n", where="question = 'apparent_minor'")
    if confirmed and confirmed[0]["n"]:
        out.append(f"Reviewers confirmed an apparent minor in {_n(confirmed[0]['n'], 'image')} (`ingest export "
                   "blocklist` lists them).")
    return out


# --- rai:machineAnnotationTools ---------------------------------------------------------------

def _face_error(census: Census, model: str) -> str:
    rows = census.rows("corrected_face_share", "*", where=f"annotator = {quote_literal(model)}", order="reference")
    if rows is None:
        return f"precision and recall {not_built('corrected_face_share')}"
    if not rows:
        return f"precision and recall {NO_REFERENCE}"
    parts = []
    for r in rows:
        measured_on = f"{r['n_images_evaluated']:,}" if r.get("n_images_evaluated") is not None else "-"
        face_level = (f"precision {_num(r.get('precision'))} and recall {_num(r.get('recall'))} of faces matched at "
                      "IoU >= 0.5" if r.get("precision") is not None or r.get("recall") is not None
                      else "face-level precision and recall not measured (the reference has no face boxes)")
        parts.append(
            f"against {r['reference']} ({r.get('reference_kind') or 'labels'}, {measured_on} images of "
            f"{r.get('reference_datasets') or '-'}): {face_level}; image precision {_num(r.get('image_precision'))} "
            f"({_rate_interval(r, 'image_precision')}), image recall {_num(r.get('image_recall'))} "
            f"({_rate_interval(r, 'image_recall')}) of \"this image shows a real face\"")
    return "; ".join(parts)


def _rate_interval(row: dict, name: str) -> str:
    lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    if lo is None or hi is None or lo != lo or hi != hi:
        return "no interval"
    return f"95 % Wilson interval {lo:.2f}-{hi:.2f}"


def _classifier_error(census: Census, model: str) -> str:
    rows = census.rows("class_accuracy", "sum(n_images) as n, sum(top1 * n_images) as top1, "
                       "sum(top5 * n_images) as top5", where=f"annotator = {quote_literal(model)} and wnid is not null")
    if rows is None:
        return f"accuracy {not_built('class_accuracy')}"
    if not rows or not rows[0]["n"]:
        return "accuracy not measured: no image with a label"
    r = rows[0]
    return (f"top-1 accuracy {_num(r['top1'] / r['n'])} and top-5 accuracy {_num(r['top5'] / r['n'])} against the "
            f"dataset's own class labels on {_n(r['n'], 'image')}")


def annotation_tools(census: Census) -> list[str]:
    rows = census.rows("annotator_coverage", "annotator, stage, n_images_ok, n_images_error",
                       where=f"not starts_with(annotator, {quote_literal(REFERENCE_PREFIX)})", order="stage, annotator")
    out = []
    for r in rows or []:
        stage, model = r["stage"], r["annotator"]
        if stage == "faces":
            measured = _face_error(census, model)
        elif stage == "classify":
            measured = _classifier_error(census, model)
        else:
            measured = "precision and recall not measured: the census has no reference labels for this stage"
        out.append(f"{model} ({STAGE_WORDS.get(stage, stage)} model): {_n(r['n_images_ok'], 'image')} processed, "
                   f"{r['n_images_error']:,} never processed (errors); {measured}.")
    return out or [f"No model has processed dataset {census.dataset}: the warehouse holds only reference labels "
                   "for it."]


# --- rai:annotationsPerItem and rai:dataAnnotationAnalysis ------------------------------------

def annotations_per_item(census: Census) -> str:
    models = census.rows("annotator_coverage", "stage, count(distinct annotator) as n",
                         where=f"not starts_with(annotator, {quote_literal(REFERENCE_PREFIX)})", group="stage",
                         order="stage") or []
    machine = f"Machine annotations: one result per model per image ({_models({r['stage']: r['n'] for r in models})})."
    reviews = census.rows("review_agreement", "question, n_items, n_items_one_label, n_labels_all", order="question")
    if reviews is None:
        return f"{machine} Human labels: {not_built('review_agreement')}."
    if not reviews:
        return f"{machine} Human labels: {NO_REVIEWS}."
    parts = []
    for r in reviews:
        items = (r["n_items"] or 0) + (r["n_items_one_label"] or 0)
        per_item = f"{r['n_labels_all'] / items:.2f}" if items else "-"
        parts.append(f"{r['question']} {_n(r['n_labels_all'], 'label')} on {_n(items, 'item')} ({per_item} per item)")
    return f"{machine} Human review labels: " + "; ".join(parts) + "."


def annotation_analysis(census: Census) -> list[str]:
    reviews = census.rows("review_agreement", "question, n_items, n_reviewers, krippendorff_alpha, pct_agreement, "
                          "n_reviewers_all, n_labels_all", order="question")
    if reviews is None:
        out = [f"Reviewer agreement: {not_built('review_agreement')}."]
    elif not reviews:
        out = [f"Reviewer agreement: {NO_REVIEWS}."]
    else:
        out = [_agreement_line(r) for r in reviews]
    pairs = census.rows("annotator_agreement", "*", order="annotator_a, annotator_b, split")
    if pairs is None:
        out.append(f"Agreement between face models: {not_built('annotator_agreement')}.")
    elif not pairs:
        out.append("Agreement between face models: not measured: fewer than two face models processed this dataset.")
    for p in pairs or []:
        out.append(f"Face models {p['annotator_a']} and {p['annotator_b']} across {_n(p['n_classes'], 'class')} of the "
                   f"{p['split']} split: Pearson r {_num(p['pearson_eta'])} for the share of images with a face, "
                   f"{_num(p.get('pearson_gender_skewness'))} for apparent gender skewness, "
                   f"{_num(p.get('pearson_mean_age'))} for mean apparent age.")
    return out


def _agreement_line(r: dict) -> str:
    question = r["question"]
    if not r["n_items"]:
        return (f"Reviewer agreement on {question}: not measured: no item has two labels yet "
                f"({_n(r['n_labels_all'], 'label')} from {_n(r['n_reviewers_all'], 'reviewer')}).")
    alpha = r["krippendorff_alpha"]
    alpha_text = (f"Krippendorff's alpha {alpha:.2f} (nominal)" if alpha is not None and alpha == alpha
                  else "Krippendorff's alpha undefined (every label gives the same answer)")
    return (f"Reviewer agreement on {question}: {alpha_text} over {_n(r['n_items'], 'item')} with at least two labels "
            f"from {_n(r['n_reviewers'], 'reviewer')}; {_pct(r['pct_agreement'])} of the pairs of labels of an item "
            "agree.")


# --- rai:dataLimitations ----------------------------------------------------------------------

def limitations(census: Census) -> list[str]:
    out = [CAVEAT,
           f"Faces count when the face model keeps them (detection score at least the dbt var face_min_score, default "
           f"{FACE_MIN_SCORE}, or the verifier's verdict); fainter or missed faces are not in these figures, and "
           "the measured precision and recall above say how far each model can be trusted."]
    errors = census.rows("annotator_coverage", "annotator, stage, n_images_error", where="n_images_error > 0",
                         order="stage, annotator") or []
    out += [f"{_n(r['n_images_error'], 'image')} could not be processed by {r['annotator']} ({r['stage']}): they are "
            "in no figure of that model." for r in errors]
    if census.rows("corrected_face_share", "annotator"):
        out.append("A corrected face share assumes the model errs on this dataset as it does on the reference's "
                   "images; its interval leaves out the error of the small reference sample itself.")
    stale = stale_sentence(census.con)
    if stale:
        out.append(stale)
    return out


# --- distribution and record sets -------------------------------------------------------------

#: container formats mimetypes does not know (Croissant's own names)
MIME = {"parquet": "application/x-parquet"}


def _mime(extension: str, fallback: str) -> str:
    if extension.lower() in MIME:
        return MIME[extension.lower()]
    guessed = mimetypes.guess_type(f"x.{extension}", strict=False)[0] if extension else None
    return guessed or fallback


def image_files(con: duckdb.DuckDBPyConnection, dataset: str) -> tuple[list[dict], list[dict], str]:
    """FileSets of the dataset's image files, by extension, from the rel_paths the census listed
    (counted in DuckDB, never loaded): plain files, and containers (webdataset shards, Parquet
    files) holding images; the record set of the plain files; and a sentence on what the
    patterns leave out."""
    if not table_exists(con, "raw", "images"):
        return [], [], "The file layout is not described: this warehouse has no raw.images table"
    # a container member is `<container>#<member>`; the extension is the file's (or container's)
    rows = con.execute(r"""
        with files as (
            select strpos(rel_path, '#') > 0 as contained, split_part(rel_path, '#', 1) as file
            from raw.images where dataset = ?)
        select contained, regexp_extract(file, '[^/]\.([^./]+)$', 1) as extension, count(*), count(distinct file)
        from files group by all order by all""", [dataset]).fetchall()
    plain = {ext: n for contained, ext, n, _ in rows if not contained}
    containers = [(ext, n, n_files) for contained, ext, n, n_files in rows if contained]
    sets, records, notes = [], [], []
    named = {e: n for e, n in plain.items() if e}
    if named:
        sets.append({"@type": "cr:FileSet", "@id": "image-files", "name": "image-files",
                     "description": f"The {_n(sum(named.values()), 'image file')} the census listed, by "
                                    "extension, relative to the dataset root (copy this file and census/ there to "
                                    "read them).",
                     "encodingFormat": sorted({_mime(e, "application/octet-stream") for e in named}),
                     "includes": [f"**/*.{glob.escape(e)}" for e in sorted(named)]})
        source = {"fileSet": {"@id": "image-files"}}
        records.append({"@type": "cr:RecordSet", "@id": "images", "name": "images",
                        "description": "One record per image file: its path relative to the dataset root "
                                       "(rel_path, as the census stores it) and its content.",
                        "field": [
                            {"@type": "cr:Field", "@id": "images/rel_path", "name": "rel_path", "dataType": "sc:Text",
                             "source": {**source, "extract": {"fileProperty": "fullpath"}}},
                            {"@type": "cr:Field", "@id": "images/image", "name": "image",
                             "dataType": "sc:ImageObject",
                             "source": {**source, "extract": {"fileProperty": "content"}}},
                        ]})
    if plain.get(""):
        notes.append(f"{_n(plain[''], 'image file')} without an extension not matched by the patterns")
    for number, (extension, n, n_files) in enumerate(containers, start=1):
        sets.append({"@type": "cr:FileSet", "@id": f"image-containers-{number}", "name": f"image-containers-{number}",
                     "description": f"{_n(n_files, 'container file')} holding {_n(n, 'image')} (a rel_path "
                                    "`<container>#<member>` names one image inside them).",
                     "encodingFormat": _mime(extension, "application/octet-stream"),
                     "includes": [f"**/*.{glob.escape(extension)}" if extension else "**/*"]})
    return sets, records, "; ".join(notes)


_TYPES = {"BOOLEAN": "sc:Boolean", "DATE": "sc:Date"}


def _data_type(duck_type: str) -> str:
    upper = duck_type.upper()
    if upper in _TYPES:
        return _TYPES[upper]
    if upper.startswith("TIMESTAMP"):
        return "sc:DateTime"
    if any(upper.startswith(t) for t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                         "USMALLINT", "UINTEGER", "UBIGINT")):
        return "sc:Integer"
    if any(upper.startswith(t) for t in ("FLOAT", "DOUBLE", "DECIMAL", "REAL")):
        return "sc:Float"
    return "sc:Text"


def census_tables(census: Census, folder: Path) -> tuple[list[dict], list[dict]]:
    """The dataset's rows of each class-level census mart as Parquet in folder, with a FileObject
    and a RecordSet (fields described by the dbt docs) for each."""
    docs = mart_docs()
    objects, records = [], []
    for mart in CENSUS_TABLES:
        path = folder / f"{mart}.parquet"
        if mart not in census.built:
            path.unlink(missing_ok=True)  # an earlier export's: the JSON-LD no longer names it
            continue
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        relation = census.marts.relation(mart)
        try:
            census.con.execute(f"copy (select * from {relation}) to {quote_literal(str(tmp))} (format parquet)")
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        file_id = f"{mart}.parquet"
        doc = docs.get(mart)
        objects.append({"@type": "cr:FileObject", "@id": file_id, "name": file_id,
                        "description": f"The {mart} census mart, rows of this dataset.",
                        "contentUrl": f"{CENSUS_FOLDER}/{file_id}", "encodingFormat": "application/x-parquet",
                        "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        fields = []
        for column, duck_type in census.marts.columns(mart).items():
            entry = {"@type": "cr:Field", "@id": f"{mart}/{column}", "name": column, "dataType": _data_type(duck_type),
                     "source": {"fileObject": {"@id": file_id}, "extract": {"column": column}}}
            if doc and doc.columns.get(column):
                entry["description"] = doc.columns[column]
            fields.append(entry)
        record = {"@type": "cr:RecordSet", "@id": mart, "name": mart, "field": fields}
        if doc and doc.description:
            record["description"] = doc.description
        records.append(record)
    return objects, records


# --- the document -----------------------------------------------------------------------------

def _open(con: duckdb.DuckDBPyConnection, dataset: str | None) -> Census:
    marts = MartReader(con, reads="this export")
    marts.require("annotator_coverage", sentence=NOT_BUILT)
    chosen = choose_dataset(con, dataset)
    if chosen is None:
        raise CensusError("This warehouse holds no dataset yet: run `ingest run DATASET_ROOT` first.")
    census = Census(marts.within(Scope(chosen)), chosen)
    if not census.rows("annotator_coverage", "annotator"):
        raise CensusError(f"The marts hold nothing about dataset {chosen!r} yet: run `{BUILD_COMMAND}` first (or "
                          "add --build).")
    return census


def describe(census: Census, out: Path) -> dict:
    """The JSON-LD document; writes the census tables under out/census."""
    labels = imagenet_labels()
    coverage = census.rows("annotator_coverage", "annotator, stage, n_images_ok + n_images_error as n",
                           where=f"not starts_with(annotator, {quote_literal(REFERENCE_PREFIX)})") or []
    n_images = max((r["n"] for r in coverage), default=0)
    stages = {stage: sum(r["stage"] == stage for r in coverage) for stage in sorted({r["stage"] for r in coverage})}
    file_sets, image_records, layout_note = image_files(census.con, census.dataset)
    objects, table_records = census_tables(census, out / CENSUS_FOLDER)
    description = (
        f"The image dataset {census.dataset} as audited by census-warehouse on {dt.date.today():%Y-%m-%d}: "
        f"{_n(n_images, 'image')}, processed by {_models(stages)}. The rai: properties summarise the census marts "
        "of this dataset (apparent gender and age of the faces the models keep, NSFW scores per class, apparent "
        "minors, each model's measured error, the reviewers' agreement); the census/ Parquet files hold the "
        f"class-level tables they come from. The census does not know the dataset's {UNKNOWN_PROPERTIES}: add them "
        "before publishing this description.")
    if layout_note:
        description += f" {layout_note}."
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": census.dataset,
        "description": description,
        "conformsTo": [CROISSANT, CROISSANT_RAI],
        "distribution": file_sets + objects,
        "recordSet": image_records + table_records,
        "rai:dataBiases": gender_age(census) + nsfw_classes(census, labels) + [CAVEAT],
        "rai:personalSensitiveInformation": faces(census) + minors(census, labels),
        "rai:machineAnnotationTools": annotation_tools(census),
        "rai:annotationsPerItem": annotations_per_item(census),
        "rai:dataAnnotationAnalysis": annotation_analysis(census),
        "rai:dataLimitations": limitations(census),
    }


def export_croissant(out: Path, dataset: str | None = None, db: Path | None = None) -> dict:
    """Write out/croissant.json (and out/census/*.parquet) for one dataset: the one named, else
    the warehouse's only one (several: a CensusError listing them). Returns what was written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CensusError(f"{out} is a file; name a folder for the Croissant description with --out.")
    con = connect(db, read_only=True)
    try:
        census = _open(con, dataset)
        out.mkdir(parents=True, exist_ok=True)
        document = describe(census, out)
    finally:
        con.close()
    path = out / FILE_NAME
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": str(path), "dataset": census.dataset, "tables": [o["contentUrl"] for o in document["distribution"]
                                                                    if o["@type"] == "cr:FileObject"],
            "models": len(document["rai:machineAnnotationTools"])}
