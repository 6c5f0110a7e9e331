"""``ingest report``: the audit report, one self-contained HTML file built from the census marts.

Every number and chart comes from a query over the marts in the warehouse's ``main`` schema
(never ``raw.*``), for one dataset (``ingest.outputs.scope``: --dataset, else the only one; --annotator
narrows to one model); a section whose mart is missing or empty says "no data". A warehouse
without any mart is refused in one sentence, and marts older than the raw rows are named at
the top of the page. Charts are Altair
(Vega-Lite) specifications rendered in the browser by vega-embed; the JavaScript of Vega,
Vega-Lite and vega-embed is inlined from the ``vl-convert-python`` package, so the file opens
from disk with no network and no server. Each chart has a title, axis titles and a one-line
reading computed from the same data.

Sections follow the papers: coverage; Table 4 and the 2019 headline shares with the age x
gender pyramid; class-wise eta and gender skewness; the agreement of two face models (Figure
10b); NSFW by class and the review shortlist (Figure 12, Table 5); the semantic map of the
labels (Figure 11); dog groups and instruments (Figure 14); human-delta accuracy (Figure 16);
classes with apparent minors; the method and the warning on apparent age and gender.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...core.classes import UNLABELLED, class_names
from ...core.config import DEFAULT_DB, FACE_MIN_SCORE, database_path
from ...core.errors import CensusError
from ...warehouse.db import connect
from ..card import CAVEAT
from ..freshness import BUILD_COMMAND, stale_sentence
from ..marts import PROJECT_DIR, built_marts, columns_of
from ..scope import EVERYTHING, Scope, resolve

REPORT_FILE = "report.html"
NO_DATA = "No data"
TOP = 20  # rows of each ranked chart
PAPER_PERSON_SHARE = "7.6-10.3 %"  # 2020 paper, B.1: images of ImageNet with a person
PAPER_2019 = {"pct_female": 41.62, "pct_over_60": 1.71, "pct_male_15_29": 27.11}  # 2019 paper, ILSVRC train
NARROW, WIDE, PANEL = 420, 640, 260
LABEL_CHARS = 36  # axis and legend labels are cut (middle ellipsis) to about this, never into duplicates
MIN_CLASSES_R = 10  # a Pearson r over fewer classes is printed with its n and "not meaningful"


# --------------------------------------------------------------------------- building blocks
@dataclass
class Chart:
    key: str
    spec: dict
    reading: str


@dataclass
class Section:
    key: str
    title: str
    intro: str = ""
    blocks: list = field(default_factory=list)  # Chart | str (trusted HTML)
    missing: list[str] = field(default_factory=list)  # marts missing or empty

    def no_data(self, marts: Iterable[str], why: str = "") -> Section:
        names = ", ".join(f"<code>{html.escape(m)}</code>" for m in marts)
        why = why or "is missing or empty in this warehouse"
        self.blocks.append(f'<p class="nodata">{NO_DATA}: {names} {why}.</p>')
        return self


def _chart(key: str, chart, reading: str) -> Chart:
    """The chart's spec. Vega never truncates a label (labelLimit 0): the labels drawn are cut
    here, by _short_labels, only as far as they stay distinct."""
    import altair as alt

    chart = chart.configure_axis(labelLimit=0).configure_legend(labelLimit=0).configure_header(labelLimit=0)
    with alt.data_transformers.enable("default", max_rows=None):
        spec = chart.to_dict()
    return Chart(key, spec, reading)


def _cut(text: str, width: int) -> str:
    """text in at most `width` characters: its head and tail around an ellipsis."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 3  # names that share a long head ("album 1", "album 2") differ at the end
    head = width - 1 - tail
    return text[:head].rstrip() + "…" + (text[-tail:].lstrip() if tail else "")


def _short_labels(values: Iterable, width: int = LABEL_CHARS) -> dict[str, str]:
    """value -> its label on an axis or legend: cut to about `width` characters, cut less
    (at worst not at all) where two cuts would read the same."""
    names = list(dict.fromkeys(str(v) for v in values))
    widths = dict.fromkeys(names, width)
    while True:
        cuts = {n: _cut(n, widths[n]) for n in names}
        owners: dict[str, list[str]] = {}
        for name, cut in cuts.items():
            owners.setdefault(cut, []).append(name)
        clashes = [group for group in owners.values() if len(group) > 1]
        if not clashes:
            return cuts
        for group in clashes:
            for name in group:
                widths[name] = min(len(name), widths[name] + 8)


def _axis_labels(frame: pd.DataFrame, column: str, into: str = "label") -> pd.DataFrame:
    """frame with `into`: the column's values as drawn on an axis (distinct, short)."""
    frame[into] = frame[column].astype(str).map(_short_labels(frame[column].astype(str)))
    return frame


def _plural(n: int, noun: str) -> str:
    """`1 class`, `2 classes`, `3 models`."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {noun}es" if noun.endswith(("s", "x")) else f"{n:,} {noun}s"


def _words(name: str) -> str:
    """A class name inside a sentence."""
    return "the unlabelled images" if name == UNLABELLED else name


def _listing(names: list[str], limit: int = 3) -> str:
    names = [_words(n) for n in names]
    if len(names) > limit:
        return f"{', '.join(names[:limit])} and {len(names) - limit:,} more"
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def _leaders(frame: pd.DataFrame, value: str, name: str = "class", lowest: bool = False) -> str:
    """The names that hold the highest (lowest) value, every tie named (up to three)."""
    best = frame[value].min() if lowest else frame[value].max()
    return _listing(list(frame.loc[frame[value] == best, name]))


def _r_text(r, n, digits: int = 3) -> str:
    """A Pearson r with the classes behind it; too few classes are said to mean nothing."""
    n = None if n is None or pd.isna(n) else int(n)
    classes = _plural(n, "class") if n is not None else "an unknown number of classes"
    if pd.isna(r):
        return f"r undefined (from {classes})"
    if n is None or n < MIN_CLASSES_R:
        return f"r = {r:.{digits}f} from only {classes}: too few to mean anything"
    return f"r = {r:.{digits}f} ({classes})"


def _fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _pct(value, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{100 * value:.{digits}f} %"


def _table(frame: pd.DataFrame, columns: dict[str, str], digits: int = 2, limit: int | None = None) -> str:
    """An HTML table of the frame's columns (name -> header), numbers formatted, text escaped.
    A frame with a dataset leads with a dataset column: a row copied elsewhere keeps it."""
    if "dataset" in frame and "dataset" not in columns and frame["dataset"].notna().any():
        columns = {"dataset": "dataset", **columns}
    rows = frame.head(limit) if limit else frame
    counts = [c for c in columns if c.startswith("n_") and pd.api.types.is_float_dtype(frame[c])
              and frame[c].dropna().mod(1).eq(0).all()]  # counts a join turned into floats
    head = "".join(f"<th>{html.escape(h)}</th>" for h in columns.values())
    body = []
    for record in rows[list(columns)].itertuples(index=False):
        cells = []
        for column, raw in zip(columns, record, strict=True):
            value = raw.item() if hasattr(raw, "item") else raw
            value = None if value is pd.NA or value is pd.NaT else value
            if column in counts and isinstance(value, float) and not pd.isna(value):
                value = int(value)
            text = _fmt(value, digits)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append(f'<td class="num">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="more">{len(frame) - len(rows):,} more rows in the mart.</p>' if len(rows) < len(frame) else ""
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{more}'


class MartShapeError(Exception):
    """A mart lacks a column the report needs (a mart built by an older or newer project)."""


class Marts:
    """Read-only queries over the marts of one warehouse, the rows of one scope (a dataset, a
    model); a missing mart reads as None."""

    def __init__(self, con, scope: Scope = EVERYTHING):
        self.con = con
        self.scope = scope
        self.tables = set(built_marts(con))
        self._columns: dict[str, set[str]] = {}
        self._lemmas: dict[str, str] | None = None

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            self._columns[table] = {c for c, _ in columns_of(self.con, table)} if table in self.tables else set()
        return self._columns[table]

    def frame(self, table: str, columns: list[str], optional: Iterable[str] = (),
              where: str = "") -> pd.DataFrame | None:
        """The mart's columns (optional ones filled with NULL where the mart lacks them), or None
        when the mart is not built."""
        if table not in self.tables:
            return None
        have = self.columns(table)
        lacking = [c for c in columns if c not in have]
        if lacking:
            raise MartShapeError(f"{table} lacks {', '.join(lacking)}")
        exprs = [f'"{c}"' for c in columns] + [f'"{c}"' if c in have else f'null as "{c}"' for c in optional]
        sql = f'select {", ".join(exprs)} from {self.scope.relation(self.con, table)}' + (
            f" where {where}" if where else "")
        return self.con.execute(sql + " order by all").df()  # the same page from the same marts

    def lemmas(self) -> dict[str, str]:
        """wnid -> WordNet's lemma names, for wnids outside ILSVRC (the label_audit mart, where
        `ingest labels audit` ran); empty without it."""
        if self._lemmas is None:
            self._lemmas = {}
            if {"wnid", "lemmas"} <= self.columns("label_audit"):
                self._lemmas = dict(self.con.execute('select wnid, min(lemmas) from main."label_audit" '
                                                     "where lemmas is not null group by wnid").fetchall())
        return self._lemmas

    def name_classes(self, frame: pd.DataFrame, column: str = "wnid") -> pd.DataFrame:
        """frame with `class`: each wnid's name, distinct across the frame ("crane (n02012849)"),
        "(unlabelled)" for images under no class."""
        names = class_names(frame[column].fillna(""), self.lemmas())
        frame["class"] = frame[column].fillna("").astype(str).map(names)
        return frame


def _model(frame: pd.DataFrame, column: str = "annotator") -> pd.Series:
    """The model name to show: the annotator, with the dataset when the frame holds several."""
    if "dataset" in frame and frame["dataset"].notna().any() and frame["dataset"].nunique() > 1:
        return frame[column].astype(str) + " · " + frame["dataset"].astype(str)
    return frame[column].astype(str)


def _primary_split(frame: pd.DataFrame) -> str:
    """train where present (the papers audit train), else the split with the most rows."""
    splits = frame["split"].value_counts()
    return "train" if "train" in splits.index else str(splits.index[0])


def _primary_model(frame: pd.DataFrame, weight: str = "n_images") -> str:
    """The model with the most processed images (ties alphabetical): the one class charts show."""
    totals = frame.groupby("model")[weight].sum().reset_index().sort_values([weight, "model"],
                                                                             ascending=[False, True])
    return str(totals["model"].iloc[0])


# --------------------------------------------------------------------------- sections
def _coverage(m: Marts) -> Section:
    import altair as alt

    s = Section("coverage", "Coverage: what was processed",
                "Images each model processed ok (the images every mart of that model describes) and images "
                "that failed in every run. Mart: <code>annotator_coverage</code>.")
    df = m.frame("annotator_coverage", ["annotator", "stage", "n_images_ok", "n_images_error"], ["dataset"])
    if df is None or df.empty:
        return s.no_data(["annotator_coverage"])
    df["model"] = _model(df)
    df = df.sort_values(["stage", "model"])
    df["run"] = df["stage"] + ": " + df["model"]
    _axis_labels(df, "run")
    long = df.melt(id_vars=["run", "label", "model", "stage"], value_vars=["n_images_ok", "n_images_error"],
                   var_name="result", value_name="images")
    long["result"] = long["result"].map({"n_images_ok": "processed ok", "n_images_error": "error in every run"})
    chart = alt.Chart(long).mark_bar().encode(
        x=alt.X("images:Q", title="images", stack=True),
        y=alt.Y("label:N", title="stage: model", sort=None),
        color=alt.Color("result:N", title="result",
                        scale=alt.Scale(domain=["processed ok", "error in every run"], range=["#4c78a8", "#e45756"])),
        tooltip=["model", "stage", "result", alt.Tooltip("images:Q", format=",")],
    ).properties(width=NARROW, title="Images processed per model and stage")
    errors = int(df["n_images_error"].sum())
    reading = (f"{_plural(df['model'].nunique(), 'model')} over {_plural(df['stage'].nunique(), 'stage')}; up to "
               f"{_plural(int(df['n_images_ok'].max()), 'image')} processed by one model; "
               + (f"{_plural(errors, 'image result')} failed in every run and "
                  f"{'is' if errors == 1 else 'are'} not counted anywhere." if errors else
                  "no image failed in every run."))
    s.blocks.append(_chart("coverage", chart, reading))
    s.blocks.append(_table(df, {"dataset": "dataset", "stage": "stage", "model": "model",
                                "n_images_ok": "images ok", "n_images_error": "errors (never ok)"}))
    return s


def _table4(m: Marts) -> Section:
    import altair as alt

    s = Section("humans", "Humans in the dataset (Table 4 of the 2020 paper)",
                "n: images with at least one kept face; N: kept faces (persons), split by apparent gender. "
                "Mart: <code>census_overview</code>.")
    df = m.frame("census_overview", ["annotator", "split", "n_images", "n_images_with_faces", "n_faces", "n_women",
                                     "n_men", "share_images_with_faces", "mean_age_women", "mean_age_men"], ["dataset"])
    if df is None or df.empty:
        return s.no_data(["census_overview"])
    df["model"] = _model(df)
    df = _axis_labels(df.sort_values(["model", "split"]), "model")
    chart = alt.Chart(df).mark_bar().encode(
        x=alt.X("share_images_with_faces:Q", title="share of images with a kept face", axis=alt.Axis(format="%")),
        y=alt.Y("label:N", title="face model"),
        color=alt.Color("split:N", title="split"),
        yOffset="split:N",
        tooltip=["model", "split", alt.Tooltip("n_images:Q", format=","),
                 alt.Tooltip("n_images_with_faces:Q", format=","), alt.Tooltip("n_faces:Q", format=","),
                 alt.Tooltip("share_images_with_faces:Q", format=".1%")],
    ).properties(width=NARROW, title="Share of images with persons, per face model and split")
    lo, hi = df["share_images_with_faces"].min(), df["share_images_with_faces"].max()
    share = _pct(lo) if _pct(lo) == _pct(hi) else f"{_pct(lo)} to {_pct(hi)}"
    reading = (f"Persons (kept faces) appear in {share} of the images across models and splits; "
               f"the 2020 paper found {PAPER_PERSON_SHARE} in ImageNet.")
    s.blocks.append(_chart("table4", chart, reading))
    df["share"] = df["share_images_with_faces"].map(_pct)
    s.blocks.append(_table(df, {"model": "face model", "split": "split", "n_images": "images",
                                "n_images_with_faces": "n (images with persons)", "n_faces": "N (persons)",
                                "n_women": "apparent women", "n_men": "apparent men", "share": "share with persons",
                                "mean_age_women": "mean age (women)", "mean_age_men": "mean age (men)"}, digits=1))
    return s


def _demographics(m: Marts) -> Section:
    import altair as alt

    s = Section("demographics", "Apparent age and gender (the 2019 paper's headline shares)",
                "Shares of kept faces over every split a model processed (the 2019 paper reports ILSVRC train: "
                f"{PAPER_2019['pct_female']} % apparent female, {PAPER_2019['pct_over_60']} % over 60, apparent "
                f"males 15-29 the largest group with {PAPER_2019['pct_male_15_29']} %). "
                "Marts: <code>demographics</code>, <code>demographics_age_gender</code>.")
    demo = m.frame("demographics", ["annotator", "n_faces", "pct_female", "pct_over_60"],
                   ["dataset", "pct_female_lo", "pct_female_hi", "pct_female_interval", "pct_over_60_lo",
                    "pct_over_60_hi", "pct_over_60_interval"])
    pyramid = m.frame("demographics_age_gender", ["annotator", "age_bucket", "gender", "n_faces", "pct_of_faces"],
                      ["dataset"])
    if demo is None or demo.empty or not demo["n_faces"].gt(0).any():
        s.no_data(["demographics"])
    else:
        demo["model"] = demo["annotator"]
        if pyramid is not None and not pyramid.empty:
            young = pyramid[(pyramid["gender"] == "male") & (pyramid["age_bucket"] == "15-29")]
            demo = demo.merge(young[["annotator", "dataset", "pct_of_faces"]].rename(
                columns={"pct_of_faces": "pct_male_15_29"}), on=["annotator", "dataset"], how="left")
        else:
            demo["pct_male_15_29"] = None

        demo["female"] = demo.apply(lambda r: _with_interval(r, "pct_female"), axis=1)
        demo["over60"] = demo.apply(lambda r: _with_interval(r, "pct_over_60"), axis=1)
        has_ci = demo["pct_female_lo"].notna().any()
        s.blocks.append(_table(demo, {"model": "face model", "n_faces": "kept faces",
                                      "female": "% apparent female" + (" [95 % CI]" if has_ci else ""),
                                      "over60": "% apparent over 60" + (" [95 % CI]" if has_ci else ""),
                                      "pct_male_15_29": "% apparent male 15-29"}))
        if has_ci:
            s.blocks.append(f'<p class="note">{html.escape(INTERVAL_NOTE)}</p>')
    if pyramid is None or pyramid.empty:
        return s.no_data(["demographics_age_gender"])
    order = ["60+", "45-59", "30-44", "15-29", "0-14"]
    sign = pyramid["gender"].map({"female": -1.0, "male": 1.0})
    pyramid["signed_pct"] = sign * pyramid["pct_of_faces"]
    pyramid["model"] = pyramid["annotator"]
    limit = float(max(5.0, pyramid["pct_of_faces"].max()))
    chart = alt.Chart(pyramid).mark_bar().encode(
        x=alt.X("signed_pct:Q", title="% of kept faces: women left, men right",
                scale=alt.Scale(domain=[-limit, limit]), axis=alt.Axis(labelExpr="abs(datum.value)")),
        y=alt.Y("age_bucket:N", title="apparent age (years)", sort=order),
        color=alt.Color("gender:N", title="apparent gender",
                        scale=alt.Scale(domain=["female", "male"], range=["#e45756", "#4c78a8"])),
        column=alt.Column("model:N", title="face model"),
        tooltip=["model", "age_bucket", "gender", alt.Tooltip("n_faces:Q", format=","),
                 alt.Tooltip("pct_of_faces:Q", format=".2f", title="% of faces")],
    ).properties(width=PANEL, height=180, title="Apparent age x gender pyramid (2019 paper, Table 2)")
    top = pyramid.sort_values("pct_of_faces", ascending=False).iloc[0]
    reading = (f"Largest group: apparent {top['gender']}s aged {top['age_bucket']} with {top['pct_of_faces']:.1f} % "
               f"of {top['model']}'s faces; the 2019 paper's largest was apparent males 15-29 "
               f"({PAPER_2019['pct_male_15_29']} %).")
    s.blocks.append(_chart("pyramid", chart, reading))
    return s


INTERVAL_NOTE = ("95 % intervals: percentile bootstrap resampling images (faces in one photo are not independent); "
                 "marked Wilson where every image agrees (a share of 0 % or 100 %), so that the bootstrap has no "
                 "spread: the Wilson score interval with the images as trials. No interval below two images.")


def _with_interval(row: pd.Series, column: str) -> str:
    """`12.50 % [8.10, 17.90]`, the method named where it is not the bootstrap; a zero-width
    interval (marts built before the Wilson fallback) is not printed as if it were certain."""
    value = "–" if pd.isna(row[column]) else f"{row[column]:.2f} %"
    lo, hi, method = row.get(f"{column}_lo"), row.get(f"{column}_hi"), row.get(f"{column}_interval")
    if lo is None or pd.isna(lo) or hi is None or pd.isna(hi):
        return value
    if (method is None or pd.isna(method)) and hi - lo <= 0:
        return f"{value} [no interval: the bootstrap has no spread; rebuild the marts]"
    return f"{value} [{lo:.2f}, {hi:.2f}]" + (" Wilson" if method == "wilson" else "")


def _class_census(m: Marts) -> Section:
    import altair as alt

    s = Section("classes", "Persons and apparent gender per class (Appendix B.1, Figure 10a)",
                "eta: share of a class's images with a kept face; gender skewness: population skewness of the "
                "apparent gender score (0 = female, 1 = male) over the class's faces. Positive skewness means the "
                "scores bunch near 0 (mostly apparent women) with a tail toward men; negative, the reverse. "
                "Mart: <code>class_census</code>.")
    df = m.frame("class_census", ["annotator", "wnid", "split", "n_images", "n_faces", "eta", "gender_skewness",
                                  "mean_gender"], ["dataset", "eta_lo", "eta_hi"])
    if df is None or df.empty:
        return s.no_data(["class_census"])
    df["model"] = _model(df)
    split = _primary_split(df)
    df = df[df["split"] == split].copy()
    model = _primary_model(df)
    one = m.name_classes(df[df["model"] == model].copy())
    has_ci = one["eta_lo"].notna().any()
    top = _axis_labels(one.sort_values(["eta", "n_images"], ascending=[False, False]).head(TOP).copy(), "class")
    base = alt.Chart(top).encode(
        y=alt.Y("label:N", title="class", sort=alt.EncodingSortField("eta", order="descending")))
    points = base.mark_point(filled=True, size=60).encode(
        x=alt.X("eta:Q", title="eta (share of images with a kept face)" + (", 95 % Wilson interval" if has_ci else ""),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=["class", "wnid", alt.Tooltip("eta:Q", format=".3f"), alt.Tooltip("n_images:Q", format=","),
                 alt.Tooltip("n_faces:Q", format=",")])
    layer = base.mark_rule().encode(x="eta_lo:Q", x2="eta_hi:Q") + points if has_ci else points
    chart = layer.properties(width=NARROW, title=f"Classes with the most persons ({model}, {split})")
    first = top.iloc[0]
    if first["eta"] > 0:
        images = f"; {_plural(int(first['n_images']), 'image')}" if (one["eta"] == first["eta"]).sum() == 1 else ""
        reading = (f"Highest eta: {_leaders(one, 'eta')} ({first['eta']:.2f}{images}); the median class of {model} has "
                   f"{one['eta'].median():.2f}" + (" (bars: 95 % Wilson intervals; wide ones mean few images)."
                                                   if has_ci else "."))
    else:
        reading = f"No class of {model} has an image with a kept face in {split} (eta 0 for all {len(one):,})."
    s.blocks.append(_chart("eta_top", chart, reading))

    faces = df[df["gender_skewness"].notna()].copy()
    if faces.empty:
        s.blocks.append(f'<p class="nodata">{NO_DATA}: no class has a defined gender skewness (it needs at least two '
                        "faces with different apparent gender scores).</p>")
        return s
    m.name_classes(faces)
    scatter = alt.Chart(faces).mark_circle(size=28, opacity=0.6).encode(
        x=alt.X("eta:Q", title="eta (share of images with a kept face)"),
        y=alt.Y("gender_skewness:Q", title="gender skewness (+: mostly apparent women)"),
        color=alt.Color("model:N", title="face model"),
        tooltip=["class", "wnid", "model", alt.Tooltip("eta:Q", format=".3f"),
                 alt.Tooltip("gender_skewness:Q", format=".2f"), alt.Tooltip("n_faces:Q", format=",")],
    ).properties(width=WIDE, height=320, title=f"Class-wise eta and gender skewness ({split})")
    skew_model = model if (faces["model"] == model).any() else _primary_model(faces)
    pos = faces[faces["model"] == skew_model]
    reading = f"{_skew_words(pos)} for {skew_model} (gender skewness needs two faces of different scores)."
    s.blocks.append(_chart("eta_skew", scatter, reading))
    faces["abs"] = faces["gender_skewness"].abs()
    faces["eta_ci"] = faces.apply(lambda r: f"{r['eta']:.3f}" + (f" [{r['eta_lo']:.3f}, {r['eta_hi']:.3f}]"
                                                                 if pd.notna(r["eta_lo"]) else ""), axis=1)
    s.blocks.append("<h3>Classes with the most skewed apparent gender</h3>")
    s.blocks.append(_table(faces.sort_values("abs", ascending=False),
                           {"model": "face model", "class": "class", "wnid": "wnid", "n_faces": "kept faces",
                            "eta_ci": "eta" + (" [95 % CI]" if has_ci else ""), "gender_skewness": "gender skewness",
                            "mean_gender": "mean apparent gender"}, limit=10))
    return s


def _skew_words(classes: pd.DataFrame) -> str:
    """How many classes lean toward apparent women (positive skewness) and which most, in words
    that hold for none, one or all of them."""
    women = classes[classes["gender_skewness"] > 0]
    men = classes[classes["gender_skewness"] < 0]
    text = (f"{len(women):,} of {_plural(len(classes), 'class')} with a defined skewness "
            f"{'leans' if len(women) == 1 else 'lean'} toward apparent women")
    if len(women):
        text += (f" (most: {_leaders(women, 'gender_skewness')}, {women['gender_skewness'].max():.2f})")
    if len(men):
        text += (f", {len(men):,} toward apparent men (most: {_leaders(men, 'gender_skewness', lowest=True)}, "
                 f"{men['gender_skewness'].min():.2f})")
    return text


def _agreement(m: Marts) -> Section:
    import altair as alt

    s = Section("agreement", "Do two face models agree? (Figure 10b of the 2020 paper)",
                "Each point is a class: the value one face model measured against the other's. The paper found "
                "r = 0.973 for eta, 0.723 for gender skewness and 0.567 for mean age (DEX vs InsightFace). "
                "Marts: <code>annotator_agreement</code>, <code>class_census</code>.")
    pairs = m.frame("annotator_agreement", ["annotator_a", "annotator_b", "split", "n_classes", "pearson_eta",
                                            "pearson_gender_skewness", "pearson_mean_age"],
                    ["dataset", "n_classes_gender_skewness", "n_classes_mean_age"])
    census = m.frame("class_census", ["annotator", "wnid", "split", "eta", "gender_skewness", "mean_age"], ["dataset"])
    if pairs is None or pairs.empty or census is None or census.empty:
        return s.no_data(["annotator_agreement"], "is missing or empty (it needs two face models)")
    pairs = pairs.sort_values(["n_classes"], ascending=False)
    split = "train" if (pairs["split"] == "train").any() else str(pairs["split"].iloc[0])
    pair = pairs[pairs["split"] == split].iloc[0]
    same = census["split"] == split
    if pd.notna(pair["dataset"]) and census["dataset"].notna().any():
        same &= census["dataset"] == pair["dataset"]
    a = census[same & (census["annotator"] == pair["annotator_a"])]
    b = census[same & (census["annotator"] == pair["annotator_b"])]
    both = m.name_classes(a.merge(b, on="wnid", suffixes=("_a", "_b")))
    panels, bits = [], []
    for metric, title in (("eta", "eta"), ("gender_skewness", "gender skewness"), ("mean_age", "mean apparent age")):
        data = both[both[f"{metric}_a"].notna() & both[f"{metric}_b"].notna()][["class", "wnid", f"{metric}_a",
                                                                                f"{metric}_b"]]
        r, n = pair[f"pearson_{metric}"], _n_classes(pair, metric)
        panels.append(alt.Chart(data).mark_circle(size=30, opacity=0.6).encode(
            x=alt.X(f"{metric}_a:Q", title=f"{title}: {pair['annotator_a']}", scale=alt.Scale(zero=False)),
            y=alt.Y(f"{metric}_b:Q", title=f"{title}: {pair['annotator_b']}", scale=alt.Scale(zero=False)),
            tooltip=["class", "wnid", alt.Tooltip(f"{metric}_a:Q", format=".3f"),
                     alt.Tooltip(f"{metric}_b:Q", format=".3f")],
        ).properties(width=PANEL, height=PANEL, title=_panel_title(title, r, n)))
        bits.append(f"{title} {_r_text(r, n, 2)}")
    chart = alt.hconcat(*panels).properties(title=f"Class-wise agreement of two face models ({split})")
    reading = (f"{pair['annotator_a']} and {pair['annotator_b']}, Pearson r of the classes both processed: "
               + "; ".join(bits) + ". A low r over many classes means the census depends on the model chosen.")
    s.blocks.append(_chart("agreement", chart, reading))
    table = pairs.copy()
    for metric in ("eta", "gender_skewness", "mean_age"):
        table[f"r_{metric}"] = table.apply(lambda row, k=metric: _r_cell(row[f"pearson_{k}"], _n_classes(row, k)),
                                           axis=1)
    s.blocks.append(_table(table, {"annotator_a": "model A", "annotator_b": "model B", "split": "split",
                                   "n_classes": "classes", "r_eta": "r (eta)",
                                   "r_gender_skewness": "r (gender skewness)", "r_mean_age": "r (mean age)"}))
    return s


def _n_classes(row: pd.Series, metric: str) -> int:
    """The classes behind one Pearson r (older marts give only n_classes)."""
    n = row.get(f"n_classes_{metric}")
    return int(row["n_classes"] if n is None or pd.isna(n) else n)


def _panel_title(title: str, r, n: int) -> list[str] | str:
    """A panel's title: the metric, r and its n; a second line warns where n is too small."""
    if pd.isna(r):
        return f"{title} (r undefined, {_plural(n, 'class')})"
    if n < MIN_CLASSES_R:
        return [f"{title} (Pearson r = {r:.2f}, {_plural(n, 'class')}):", "too few classes to mean anything"]
    return f"{title} (Pearson r = {r:.3f}, {_plural(n, 'class')})"


def _r_cell(r, n: int) -> str:
    if pd.isna(r):
        return f"– (n = {n:,})"
    return f"{r:.3f} (n = {n:,})" + (": too few" if n < MIN_CLASSES_R else "")


def _nsfw(m: Marts) -> Section:
    import altair as alt

    s = Section("nsfw", "NSFW by class and the review shortlist (Appendix B.2, Figure 12, Table 5)",
                "Mean NSFW score of each class's images (a model score: a proxy to choose classes for human review, "
                "not a label), and the Affinity Propagation cluster of classes in the (mean apparent gender, mean "
                "NSFW) plane whose mean NSFW is highest: the review shortlist. Marts: <code>class_nsfw</code>, "
                "<code>nsfw_clusters</code>, <code>hand_survey_check</code>.")
    nsfw = m.frame("class_nsfw", ["annotator", "wnid", "split", "n_images", "mean_nsfw"], ["dataset"])
    nsfw = None if nsfw is None else nsfw[nsfw["mean_nsfw"].notna()].copy()
    if nsfw is None or nsfw.empty:
        s.no_data(["class_nsfw"], "is missing or holds no NSFW score")
    else:
        nsfw["model"] = _model(nsfw)
        split = _primary_split(nsfw)
        nsfw = nsfw[nsfw["split"] == split].copy()
        model = _primary_model(nsfw)
        one = m.name_classes(nsfw[nsfw["model"] == model].copy())
        top = _axis_labels(one.sort_values(["mean_nsfw", "wnid"], ascending=[False, True]).head(TOP).copy(), "class")
        chart = alt.Chart(top).mark_bar().encode(
            x=alt.X("mean_nsfw:Q", title="mean NSFW score of the class's images", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("label:N", title="class", sort="-x"),
            tooltip=["class", "wnid", alt.Tooltip("mean_nsfw:Q", format=".3f"), alt.Tooltip("n_images:Q", format=",")],
        ).properties(width=NARROW, title=f"Classes with the highest mean NSFW score ({model}, {split})")
        reading = (f"Highest mean NSFW score of {_plural(len(one), 'class')}: {_leaders(one, 'mean_nsfw')} "
                   f"({one['mean_nsfw'].max():.2f}); the median class scores "
                   f"{one['mean_nsfw'].median():.2f}. The paper's top classes were bikini, maillot, brassiere.")
        s.blocks.append(_chart("nsfw_top", chart, reading))

    clusters = m.frame("nsfw_clusters", ["nsfw_annotator", "face_annotator", "wnid", "cluster_id",
                                         "is_review_shortlist", "mean_nsfw", "mean_gender", "mean_age", "n_faces"],
                       ["dataset"])
    if clusters is None or clusters.empty:
        return s.no_data(["nsfw_clusters"])
    clusters["pair"] = clusters["nsfw_annotator"] + " x " + clusters["face_annotator"].fillna("no face model")
    pair = clusters["pair"].value_counts().sort_index().idxmax()
    one = m.name_classes(clusters[clusters["pair"] == pair].copy())
    one["shortlist"] = one["is_review_shortlist"].map({True: "review shortlist", False: "other clusters"})
    short = one[one["is_review_shortlist"]].sort_values("mean_nsfw", ascending=False)
    placed = one[one["mean_gender"].notna()]
    faceless = int(short["mean_gender"].isna().sum())
    reading = (f"{len(short):,} of {_plural(len(one), 'class')} form the review shortlist (diamonds)"
               + (f", led by {_listing(list(short['class'].head(3)))}" if len(short) else "")
               + (f"; {faceless:,} of them have no kept face (no apparent gender: not drawn)" if faceless else "")
               + f"; {_shortlist_gender(short)}; the paper's shortlist was classes of mostly young apparent women.")
    if placed.empty:
        s.blocks.append(f'<p class="nodata">{NO_DATA}: no class has a kept face, so none has a place on the '
                        f"apparent gender axis. Reading: {html.escape(reading)}</p>")
    else:
        chart = alt.Chart(placed).mark_point(filled=True, opacity=0.7).encode(
            x=alt.X("mean_gender:Q", title="mean apparent gender score (0 = female, 1 = male)",
                    scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("mean_nsfw:Q", title="mean NSFW score", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("cluster_id:O", title="cluster"),
            shape=alt.Shape("shortlist:N", title="", scale=alt.Scale(domain=["review shortlist", "other clusters"],
                                                                       range=["diamond", "circle"])),
            size=alt.condition("datum.is_review_shortlist", alt.value(110), alt.value(35)),
            tooltip=["class", "wnid", alt.Tooltip("cluster_id:O", title="cluster"),
                     alt.Tooltip("mean_nsfw:Q", format=".3f"), alt.Tooltip("mean_gender:Q", format=".3f"),
                     alt.Tooltip("mean_age:Q", format=".1f")],
        ).properties(width=WIDE, height=320, title=f"NSFW against apparent gender per class, clustered ({pair})")
        s.blocks.append(_chart("nsfw_clusters", chart, reading))
    if len(short):
        s.blocks.append("<h3>Review shortlist</h3>" + _table(
            short, {"nsfw_annotator": "NSFW model", "face_annotator": "face model", "class": "class", "wnid": "wnid",
                    "mean_nsfw": "mean NSFW", "mean_gender": "mean apparent gender",
                    "mean_age": "mean apparent age", "n_faces": "kept faces"}, limit=TOP))
    survey = m.frame("hand_survey_check", ["annotator", "wnid", "label", "n_hand_labelled", "paper_mean_nsfw_train",
                                           "mean_nsfw_train"], ["dataset"])
    if survey is not None and not survey.empty:
        survey = m.name_classes(survey)
        s.blocks.append("<h3>The paper's hand survey (Table 6) beside this warehouse</h3>" + _table(
            survey.sort_values(["annotator", "dataset", "n_hand_labelled"], ascending=[True, True, False]),
            {"annotator": "NSFW model", "class": "class", "wnid": "wnid",
             "n_hand_labelled": "images in the paper's list", "paper_mean_nsfw_train": "paper mean NSFW (train)",
             "mean_nsfw_train": "this warehouse (train)"}))
    return s


def _shortlist_gender(short: pd.DataFrame) -> str:
    """What the shortlist's kept faces look like, in words, from the same rows."""
    known = short[short["mean_gender"].notna()]
    if known.empty:
        return "none of its classes has a kept face"
    gender = float((known["mean_gender"] * known["n_faces"]).sum() / known["n_faces"].sum())
    lean = "apparent women" if gender < 0.5 else "apparent men"
    n_faces = int(known["n_faces"].sum())
    return f"their kept faces lean toward {lean} (mean apparent gender {gender:.2f} over {n_faces:,} faces)"


def _semantics(m: Marts) -> Section:
    import altair as alt

    s = Section("semantics", "Semantic map of the class labels (Appendix B.2.1, Figure 11)",
                "Each ILSVRC class sits at the 2-D UMAP projection of its label's sentence embedding "
                "(all-MiniLM-L6-v2), so classes with related names sit together; colour shows what a model "
                "measured on the class (grey: not processed or undefined). Mart: <code>class_semantics</code> "
                "(coordinates: seed <code>imagenet_label_umap</code>, <code>ingest labels embed</code>).")
    df = m.frame("class_semantics", ["annotator", "stage", "split", "wnid", "label", "umap_x", "umap_y", "n_images",
                                     "eta", "gender_skewness", "mean_nsfw"], ["dataset"])
    if df is None or df.empty:
        return s.no_data(["class_semantics"])
    df["model"] = _model(df)
    m.name_classes(df)
    panels, readings = [], []
    for stage, metric, title, scheme in (("faces", "eta", "eta (share of images with persons)", "blues"),
                                         ("faces", "gender_skewness", "gender skewness (+: apparent women)",
                                          "blueorange"),
                                         ("nsfw", "mean_nsfw", "mean NSFW score", "reds")):
        measured = df[(df["stage"] == stage) & df[metric].notna()]
        if measured.empty:
            continue
        split = _primary_split(measured)
        model = _primary_model(measured[measured["split"] == split])
        # every class of that model and split: the unmeasured ones are drawn grey
        data = df[(df["model"] == model) & (df["split"] == split)][["class", "wnid", "umap_x", "umap_y", metric]]
        grey = alt.Chart(data).mark_circle(size=14, color="#cccccc").encode(
            x=alt.X("umap_x:Q", title="UMAP 1 of the label embedding", axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("umap_y:Q", title="UMAP 2 of the label embedding", axis=alt.Axis(labels=False, ticks=False)))
        coloured = alt.Chart(data).transform_filter(f"isValid(datum.{metric})").mark_circle(size=30).encode(
            x="umap_x:Q", y="umap_y:Q",
            color=alt.Color(f"{metric}:Q", title=metric,
                            scale=alt.Scale(scheme=scheme, domainMid=0) if metric == "gender_skewness"
                            else alt.Scale(scheme=scheme)),
            tooltip=["class", "wnid", alt.Tooltip(f"{metric}:Q", format=".3f")])
        panels.append((grey + coloured).properties(width=340, height=PANEL, title=f"{title}: {model}"))
        best = data.dropna(subset=[metric]).sort_values([metric, "wnid"], ascending=[False, True]).head(3)
        name = title.split(" (")[0]
        if metric != "gender_skewness" and not (best[metric] > 0).any():
            readings.append(f"{name}: 0 for every ILSVRC class of {model}")
        else:
            readings.append(f"highest {name}: {_listing(list(best['class']))}")
    if not panels:
        return s.no_data(["class_semantics"], "holds no measured class")
    chart = alt.concat(*panels, columns=2).resolve_scale(color="independent").properties(
        title="Class labels placed by meaning, coloured by the census")
    reading = "; ".join(readings)
    s.blocks.append(_chart("semantics", chart, reading[:1].upper() + reading[1:] + "."))
    return s


def _cooccurrence(m: Marts) -> Section:
    import altair as alt

    s = Section("cooccurrence", "Dogs and musical instruments: who appears beside them (Appendix B.3, Figure 14)",
                "The apparent gender of persons co-occurring with dog breeds (by AKC group) and with musical "
                "instruments (the paper's stereotype labels), train split. Marts: <code>dog_group_gender</code>, "
                "<code>instrument_gender_skew</code>.")
    dogs = m.frame("dog_group_gender", ["annotator", "akc_group", "n_classes", "n_faces", "pct_female",
                                        "mean_class_mean_gender", "median_class_mean_gender",
                                        "min_class_mean_gender", "max_class_mean_gender"], ["dataset"])
    if dogs is None or dogs.empty:
        s.no_data(["dog_group_gender"])
    else:
        dogs["model"] = _model(dogs)
        model = _primary_model(dogs, "n_faces")
        one = _axis_labels(dogs[dogs["model"] == model].copy(), "akc_group")
        base = alt.Chart(one).encode(y=alt.Y("label:N", title="AKC dog group",
                                             sort=alt.EncodingSortField("mean_class_mean_gender", order="ascending")))
        chart = (base.mark_rule(strokeWidth=2, color="#888").encode(
            x=alt.X("min_class_mean_gender:Q", title="class mean apparent gender (0 = female, 1 = male)",
                    scale=alt.Scale(domain=[0, 1])), x2="max_class_mean_gender:Q")
            + base.mark_tick(thickness=2, size=14, color="#333").encode(x="median_class_mean_gender:Q")
            + base.mark_point(filled=True, size=70).encode(
                x="mean_class_mean_gender:Q", color=alt.Color("akc_group:N", title="AKC group", legend=None),
                tooltip=["akc_group", alt.Tooltip("n_classes:Q", format=","), alt.Tooltip("n_faces:Q", format=","),
                         alt.Tooltip("mean_class_mean_gender:Q", format=".3f"),
                         alt.Tooltip("pct_female:Q", format=".1f")])
        ).properties(width=NARROW,
                     title=f"Apparent gender beside dog groups ({model}; line: range, tick: median, dot: mean)")
        ordered = one.dropna(subset=["mean_class_mean_gender"]).sort_values(["mean_class_mean_gender", "akc_group"])
        paper = "the paper saw more apparent men beside Non-Sporting, Working and Herding dogs."
        if len(ordered) > 1:
            reading = (f"Most apparent women beside {_leaders(ordered, 'mean_class_mean_gender', 'akc_group', True)} "
                       f"dogs (mean {ordered['mean_class_mean_gender'].iloc[0]:.2f}), fewest beside "
                       f"{_leaders(ordered, 'mean_class_mean_gender', 'akc_group')} "
                       f"({ordered['mean_class_mean_gender'].iloc[-1]:.2f}); {paper}")
        elif len(ordered) == 1:
            reading = (f"Only {ordered['akc_group'].iloc[0]} dogs have persons beside them (mean "
                       f"{ordered['mean_class_mean_gender'].iloc[0]:.2f}): nothing to compare; {paper}")
        else:
            reading = f"No dog group has a person with an apparent gender beside it; {paper}"
        s.blocks.append(_chart("dogs", chart, reading))
    inst = m.frame("instrument_gender_skew", ["annotator", "wnid", "label", "stereotype", "n_faces", "gender_skewness",
                                              "mean_gender"], ["dataset"])
    if inst is None or inst.empty or inst["gender_skewness"].isna().all():
        return s.no_data(["instrument_gender_skew"], "is missing or has no defined skewness")
    inst["model"] = _model(inst)
    inst = inst[inst["gender_skewness"].notna()]
    model = _primary_model(inst, "n_faces")
    one = _axis_labels(m.name_classes(inst[inst["model"] == model].copy()), "class")
    chart = alt.Chart(one).mark_bar().encode(
        x=alt.X("gender_skewness:Q", title="gender skewness (+: mostly apparent women)"),
        y=alt.Y("label:N", title="instrument class", sort="-x"),
        color=alt.Color("stereotype:N", title="stereotype (cited by the paper)",
                        scale=alt.Scale(domain=["feminine", "masculine", "neutral"],
                                        range=["#e45756", "#4c78a8", "#bab0ac"])),
        tooltip=["class", "wnid", "stereotype", alt.Tooltip("gender_skewness:Q", format=".2f"),
                 alt.Tooltip("n_faces:Q", format=",")],
    ).properties(width=NARROW, title=f"Gender skewness of persons beside instruments ({model})")
    women = one[one["gender_skewness"] > 0].sort_values(["gender_skewness", "wnid"], ascending=[False, True])
    men = one[one["gender_skewness"] < 0].sort_values(["gender_skewness", "wnid"])
    reading = (f"Skewed toward apparent women: {_listing(list(women['class'].head(3))) if len(women) else 'none'}; "
               f"toward men: {_listing(list(men['class'].head(3))) if len(men) else 'none'} "
               f"(of {_plural(len(one), 'instrument class')} with a defined skewness). The paper found harp, cello, "
               "oboe, flute and violin most pro-women.")
    s.blocks.append(_chart("instruments", chart, reading))
    return s


def _human_delta(m: Marts) -> Section:
    import altair as alt

    s = Section("human_delta", "Accuracy where persons appear unevenly (Appendix B.6, Figure 16)",
                "Human delta = persons in train / persons in val per class. The paper compared the top-5 val accuracy "
                "of the 25 classes with the largest human delta against the other classes (Welch t-test). "
                "Marts: <code>class_human_delta</code>, <code>class_accuracy</code>, <code>human_delta_ttest</code>.")
    delta = m.frame("class_human_delta", ["annotator", "wnid", "human_delta", "is_top_k"], ["dataset"])
    acc = m.frame("class_accuracy", ["annotator", "wnid", "top5", "n_images"], ["dataset"], where="split = 'val'")
    tests = m.frame("human_delta_ttest", ["classifier_annotator", "face_annotator", "top_k", "n_top", "n_rest",
                                          "mean_top", "mean_rest", "t_statistic", "dof", "p_value"], ["dataset"])
    if delta is None or acc is None or delta.empty or acc.empty or delta["human_delta"].isna().all():
        return s.no_data(["class_human_delta", "class_accuracy"],
                         "are missing or hold no human delta with a val accuracy")
    keys = ["wnid", "dataset"] if delta["dataset"].notna().any() and acc["dataset"].notna().any() else ["wnid"]
    both = delta.dropna(subset=["human_delta"]).merge(acc, on=keys, suffixes=("_face", "_clf"))
    if both.empty:
        return s.no_data(["class_accuracy"], "has no val accuracy for the classes with a human delta")
    m.name_classes(both)
    both["group"] = both["is_top_k"].map({True: "top-k human delta", False: "other classes"})
    both["delta_plot"] = both["human_delta"].clip(lower=0.1)
    chart = alt.Chart(both).mark_circle(size=30, opacity=0.6).encode(
        x=alt.X("delta_plot:Q", title="human delta (persons train / persons val, log)", scale=alt.Scale(type="log")),
        y=alt.Y("top5:Q", title="top-5 val accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("group:N", title="", scale=alt.Scale(domain=["top-k human delta", "other classes"],
                                                             range=["#e45756", "#9ecae9"])),
        row=alt.Row("annotator_face:N", title="face model"),
        column=alt.Column("annotator_clf:N", title="classifier"),
        tooltip=["class", "wnid", alt.Tooltip("human_delta:Q", format=".2f"), alt.Tooltip("top5:Q", format=".3f")],
    ).properties(width=PANEL, height=200, title="Top-5 val accuracy against human delta per class")
    if tests is not None and not tests.empty and tests["t_statistic"].notna().any():
        t = tests.dropna(subset=["t_statistic"]).iloc[0]
        reading = (f"Top-{int(t['top_k'])} human-delta classes: mean top-5 {t['mean_top']:.3f} against "
                   f"{t['mean_rest']:.3f} for the rest ({t['classifier_annotator']}, faces by {t['face_annotator']}; "
                   f"Welch t = {t['t_statistic']:.2f}, p = {t['p_value']:.3g}); the paper found t between "
                   "-3.87 and -3.06.")
    else:
        reading = ("Too few classes with a human delta and a val accuracy for the t-test; points show each class's "
                   "top-5 accuracy against its human delta.")
    s.blocks.append(_chart("human_delta", chart, reading))
    if tests is not None and not tests.empty:
        s.blocks.append(_table(tests, {"classifier_annotator": "classifier", "face_annotator": "face model",
                                       "n_top": "top-k classes", "n_rest": "other classes",
                                       "mean_top": "top-5 acc. (top-k)", "mean_rest": "top-5 acc. (rest)",
                                       "t_statistic": "Welch t", "dof": "dof", "p_value": "p"}, digits=3))
    return s


def _minors(m: Marts) -> Section:
    import altair as alt

    s = Section("minors", "Classes with apparent minors (beyond the paper's hand-found list, B.4)",
                "Kept faces whose apparent age is under 18 (or under 5), per class: a signal for review, not a "
                "finding about a person. Mart: <code>class_minors</code>.")
    df = m.frame("class_minors", ["annotator", "wnid", "split", "n_faces", "n_minors", "n_infants", "share_minors",
                                  "is_paper_child_class"], ["dataset"])
    if df is None or df.empty:
        return s.no_data(["class_minors"])
    df["model"] = _model(df)
    df["is_paper_child_class"] = df["is_paper_child_class"].fillna(False).astype(bool)
    totals = df.groupby(["model", "dataset", "wnid"], as_index=False, dropna=False).agg(
        n_faces=("n_faces", "sum"), n_minors=("n_minors", "sum"), n_infants=("n_infants", "sum"),
        is_paper_child_class=("is_paper_child_class", "max"))
    if not totals["n_minors"].gt(0).any():
        s.blocks.append(f'<p class="nodata">{NO_DATA}: no kept face has an apparent age under 18.</p>')
        return s
    with_minors = totals[totals["n_minors"] > 0]
    model = _primary_model(with_minors, "n_faces")
    one = m.name_classes(with_minors[with_minors["model"] == model].copy())
    one["listed"] = one["is_paper_child_class"].map({True: "in the paper's list", False: "not in the paper's list"})
    one["share_minors"] = one["n_minors"] / one["n_faces"]
    top = _axis_labels(one.sort_values(["n_minors", "wnid"], ascending=[False, True]).head(TOP).copy(), "class")
    chart = alt.Chart(top).mark_bar().encode(
        x=alt.X("n_minors:Q", title="kept faces with apparent age under 18"),
        y=alt.Y("label:N", title="class", sort="-x"),
        color=alt.Color("listed:N", title="B.4 infant classes",
                        scale=alt.Scale(domain=["in the paper's list", "not in the paper's list"],
                                        range=["#72b7b2", "#f58518"])),
        tooltip=["class", "wnid", alt.Tooltip("n_minors:Q", format=","), alt.Tooltip("n_infants:Q", format=","),
                 alt.Tooltip("n_faces:Q", format=","), alt.Tooltip("share_minors:Q", format=".1%")],
    ).properties(width=NARROW, title=f"Classes with the most apparent minors ({model}, all splits)")
    new = int((~one["is_paper_child_class"].astype(bool)).sum())
    most = int(one["n_minors"].max())
    tied = int((one["n_minors"] == most).sum())
    if len(one) == 1:
        where = "in" if one["is_paper_child_class"].iloc[0] else "outside"
        count = f"1 class has at least one apparent minor for {model}, {where} the paper's 30 infant classes"
    else:
        count = (f"{len(one):,} classes have at least one apparent minor for {model}, {new:,} of them outside the "
                 "paper's 30 infant classes")
    reading = (f"{count}; the most apparent minors: {_leaders(one, 'n_minors')} "
               f"({_plural(most, 'face')}{' each' if tied > 1 else ''}).")
    s.blocks.append(_chart("minors", chart, reading))
    s.blocks.append(_table(top, {"model": "face model", "class": "class", "wnid": "wnid", "n_faces": "kept faces",
                                 "n_minors": "apparent < 18", "n_infants": "apparent < 5", "share_minors": "share < 18",
                                 "listed": "B.4 list"}))
    return s


YANG_2022 = "Yang et al. 2022"  # "A Study of Face Obfuscation in ImageNet", ICML 2022, Table 2


def _supercategories(m: Marts) -> Section:
    import altair as alt

    s = Section("supercategories", f"Faces per supercategory beside {YANG_2022} (Table 2)",
                "Share of images with at least one kept face per group of ILSVRC-2012 classes (WordNet 3.0 "
                "hypernyms; seed <code>imagenet_supercategories</code>), with 95 % Wilson intervals, beside the "
                f"share {YANG_2022} published for five of the groups (crowd-verified faces of the ILSVRC-2012 train "
                "images; seed <code>yang2022_table2</code>). Where a reference measured a model's image-level error, "
                "the share corrected for it and the reference's own labelled share are listed too. Marts: "
                "<code>supercategory_face_share</code>, <code>corrected_supercategory_share</code>, "
                "<code>annotator_image_evaluation</code>.")
    df = m.frame("supercategory_face_share", ["annotator", "dataset", "supercategory", "n_images",
                                              "n_images_with_faces", "share", "share_lo", "share_hi",
                                              "published_share"])
    if df is None or df.empty:
        return s.no_data(["supercategory_face_share"])
    df["model"] = _model(df)
    published = df.dropna(subset=["published_share"]).drop_duplicates("supercategory")
    order = list(published.sort_values("published_share", ascending=False)["supercategory"]) + list(
        df[df["published_share"].isna()].groupby("supercategory")["n_images"].sum().sort_values(ascending=False).index)
    axis = alt.Y("supercategory:N", title="supercategory", sort=order)
    base = alt.Chart(df).encode(y=axis, color=alt.Color("model:N", title="face model"), yOffset="model:N")
    chart = base.mark_rule().encode(
        x=alt.X("share_lo:Q", title="share of images with a kept face (95 % Wilson interval)",
                scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        x2="share_hi:Q") + base.mark_point(filled=True, size=60).encode(
        x="share:Q", tooltip=["model", "supercategory", alt.Tooltip("n_images:Q", format=","),
                              alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("published_share:Q", format=".1%")])
    if not published.empty:
        chart += alt.Chart(published).mark_point(shape="diamond", size=120, color="black", filled=False).encode(
            y=axis, x=alt.X("published_share:Q"),
            tooltip=["supercategory", alt.Tooltip("published_share:Q", format=".1%", title=YANG_2022)])
    chart = chart.properties(width=NARROW, title=f"Images with a face per supercategory (black diamonds: {YANG_2022})")
    model = _primary_model(df)
    one = df[(df["model"] == model) & df["published_share"].notna()].set_index("supercategory")
    pairs = [f"{g} {_pct(one.loc[g, 'share'])} ({_pct(one.loc[g, 'published_share'])})" for g in order
             if g in one.index]
    reading = (f"{model}, share of images with a face (Yang et al.'s in brackets): " + "; ".join(pairs) + "."
               if pairs else f"No image of {model} is in a group {YANG_2022} report; the chart shows the others.")
    s.blocks.append(_chart("supercategories", chart, reading))
    table = df.copy()
    table["share_ci"] = table.apply(lambda r: f"{_pct(r['share'])} [{_pct(r['share_lo'])}, {_pct(r['share_hi'])}]",
                                    axis=1)
    table["yang"] = table["published_share"].map(_pct)
    corrected = m.frame("corrected_supercategory_share", ["annotator", "reference", "dataset", "supercategory",
                                                          "share_corrected", "rates_from"])
    labelled = m.frame("annotator_image_evaluation", ["annotator", "reference", "dataset", "group_value",
                                                      "n_images", "reference_share"],
                       where="group_kind = 'supercategory'")
    columns = {"model": "face model", "supercategory": "supercategory", "n_images": "images",
               "n_images_with_faces": "with a face", "share_ci": "share [95 % CI]", "yang": YANG_2022}
    if corrected is not None and not corrected.empty:
        corrected["corrected"] = corrected.apply(
            lambda r: f"{_pct(r['share_corrected'])} ({r['reference']}, {r['rates_from']} rates)", axis=1)
        table = table.merge(corrected[["annotator", "dataset", "supercategory", "reference", "corrected"]],
                            on=["annotator", "dataset", "supercategory"], how="left")
        columns["corrected"] = "corrected for the measured error"
        if labelled is not None and not labelled.empty:
            labelled["labelled"] = labelled.apply(
                lambda r: f"{_pct(r['reference_share'])} of {int(r['n_images']):,}", axis=1)
            table = table.merge(labelled.rename(columns={"group_value": "supercategory"})[
                ["annotator", "reference", "dataset", "supercategory", "labelled"]],
                on=["annotator", "reference", "dataset", "supercategory"], how="left")
            columns["labelled"] = "the reference's labelled share"
    rank = {g: i for i, g in enumerate(order)}
    table = table.assign(_rank=table["supercategory"].map(rank)).sort_values(["_rank", "model"])
    s.blocks.append(_table(table, columns))
    return s


def _method() -> Section:
    s = Section("method", "Method and limits")
    s.blocks.append(
        "<ul>"
        f"<li>Faces count when their detection score is at least the dbt var <code>face_min_score</code> "
        f"(default {FACE_MIN_SCORE}, as the 2019 paper). An image's result for a model is the latest run of that "
        "model in which the image was processed ok; errors never count as processed.</li>"
        "<li>eta<sub>c</sub> = images of class c with a kept face / images of class c processed ok. Gender skewness "
        "is the population skewness (third standardised moment) of the apparent gender score (0 = female, "
        "1 = male) over the class's kept faces, as Appendix B.1 of the 2020 paper.</li>"
        "<li>NSFW scores are an image model's output; the shortlist is Affinity Propagation over every class in the "
        "(mean apparent gender, mean NSFW) plane, a class without a kept face placed at the gender axis' mean. "
        "Human delta and its Welch t-test follow Appendix B.6.</li>"
        "<li>Intervals: 95 % Wilson score intervals for shares of images (eta, supercategories); the headline "
        "shares of faces use a percentile bootstrap that resamples images, and Wilson's interval over the same "
        "images where every image agrees and the bootstrap has no spread (marked Wilson). A Pearson r is printed "
        f"with the classes behind it; below {MIN_CLASSES_R} classes it is marked as meaning nothing.</li>"
        "<li>Classes are named by the first lemma of their ILSVRC label (WordNet's, from <code>label_audit</code>, "
        "for other wnids; the label itself for a folder name), the wnid beside it in tables and tooltips; "
        f"images under no class read {UNLABELLED}. Axis labels are shortened with an ellipsis only as far as "
        "they stay distinct.</li>"
        "<li>Every figure describes one dataset; reference labels (<code>reference/&lt;name&gt;</code>) only measure "
        "the models' error and are never counted as a census model.</li>"
        "<li>The semantic map embeds each ILSVRC label with all-MiniLM-L6-v2 and projects with UMAP (fixed seed); "
        "the paper used GloVe word vectors.</li>"
        "<li>Every figure here is a query over the dbt marts; their column definitions are in the marts' .yml files "
        "(<code>dbt docs generate --profiles-dir .</code>) and in the README of <code>ingest export marts</code>.</li>"
        "</ul>"
        f'<p class="warning"><strong>Warning.</strong> {html.escape(CAVEAT)}</p>')
    return s


SECTIONS = (_coverage, _table4, _demographics, _class_census, _supercategories, _agreement, _nsfw, _semantics,
            _cooccurrence, _human_delta, _minors)


# --------------------------------------------------------------------------- page
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header,main{max-width:1100px;margin:0 auto;padding:0 24px}
header{padding-top:24px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:20px;margin:0 0 8px} h3{font-size:16px;margin:16px 0 6px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:16px 20px;margin:18px 0}
.meta{color:#666;font-size:13px}
.warning{background:#fff4e5;border-left:4px solid #f58518;padding:8px 12px}
.nodata{color:#8a6d3b;background:#fcf8e3;padding:6px 10px;border-radius:4px}
.reading{font-style:italic;color:#333;margin:4px 0 14px}
.chart{margin:8px 0;overflow-x:auto}
.table{overflow-x:auto} table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f3f3f3} .more{color:#666;font-size:12px} .note{color:#555;font-size:13px}
nav ol{columns:2;font-size:14px}
"""

SCRIPT = """
(function () {
  var charts = document.querySelectorAll('div.chart');
  var pending = charts.length;
  window.reportCharts = {total: charts.length, rendered: 0, failed: 0};
  function done() { if (--pending <= 0) document.body.setAttribute('data-charts', 'done'); }
  if (!pending) { document.body.setAttribute('data-charts', 'done'); return; }
  charts.forEach(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute('data-spec')).textContent);
    vegaEmbed(el.querySelector('.vis'), spec, {renderer: 'svg', actions: {export: true, source: false,
      compiled: false, editor: false}}).then(function () {
      el.setAttribute('data-rendered', 'ok'); window.reportCharts.rendered++; done();
    }).catch(function (err) {
      el.setAttribute('data-rendered', 'error'); window.reportCharts.failed++;
      console.error('chart ' + el.id + ' failed: ' + err); done();
    });
  });
})();
"""


def _json_for_script(value) -> str:
    """JSON safe inside a <script> element (no closing tag, no HTML comment opener)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "census-warehouse"


def _javascript() -> tuple[str, str]:
    """The vega + vega-lite + vega-embed bundle (from vl-convert-python, offline) and its versions.
    vl-convert builds the bundle in about 5 s; it depends only on the package versions, so it is
    cached under $XDG_CACHE_HOME/census-warehouse (skipped where that is not writable)."""
    import altair as alt
    import vl_convert as vlc

    vl = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    cached = _cache_dir() / f"vega-embed-bundle-vlc{vlc.__version__}-vl{vl}.js"
    try:
        bundle = cached.read_text(encoding="utf-8")
    except OSError:
        bundle = vlc.javascript_bundle(vl_version=vl)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
            tmp.write_text(bundle, encoding="utf-8")
            tmp.replace(cached)
        except OSError:
            pass
    if "</script" in bundle.lower():
        bundle = bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    versions = (f"Vega {vlc.get_vega_version()}, Vega-Lite {vl}, vega-embed {vlc.get_vega_embed_version()} "
                f"(inlined from vl-convert-python {vlc.__version__}), Altair {alt.__version__}")
    return bundle, versions


def _render_section(section: Section) -> str:
    parts = [f'<section id="{section.key}" data-section="{section.key}">', f"<h2>{html.escape(section.title)}</h2>"]
    if section.intro:
        parts.append(f'<p class="intro">{section.intro}</p>')
    for block in section.blocks:
        if isinstance(block, Chart):
            spec = _json_for_script(block.spec)
            parts.append(f'<div class="chart" id="chart-{block.key}" data-spec="spec-{block.key}">'
                         f'<div class="vis"></div></div>'
                         f'<script type="application/json" id="spec-{block.key}">{spec}</script>'
                         f'<p class="reading">Reading: {html.escape(block.reading)}</p>')
        else:
            parts.append(block)
    parts.append("</section>")
    return "\n".join(parts)


def _section(build, marts: Marts) -> Section:
    """One section; a mart of another shape (rebuild it with this project's dbt) says so in place."""
    try:
        return build(marts)
    except MartShapeError as error:
        message = f"the mart {error}; rebuild the marts with this project's dbt build"
    except Exception as error:  # a bug in one section must not cost the whole report
        warnings.warn(f"report section {build.__name__} failed: {error!r}", stacklevel=2)
        message = f"this section could not be built ({type(error).__name__}: {error})"
    key = build.__name__.lstrip("_")
    section = Section(key, key.replace("_", " ").capitalize())
    section.blocks.append(f'<p class="nodata">{NO_DATA}: {html.escape(message)}.</p>')
    return section


def warehouse_words(db: Path | None) -> str:
    """Which warehouse file the page describes: its path (relative to the project or the
    current folder where it lies inside one, else with ~ for the home folder), and "the
    default warehouse" only where it is the default (no --db, no CENSUS_DB elsewhere)."""
    path = Path(db) if db else database_path()
    resolved = path.expanduser().resolve()
    for base in (PROJECT_DIR, Path.cwd()):
        if resolved.is_relative_to(base.resolve()):
            shown = str(resolved.relative_to(base.resolve()))
            break
    else:
        home = Path.home().resolve()
        shown = "~/" + str(resolved.relative_to(home)) if resolved.is_relative_to(home) else str(resolved)
    return f"the default warehouse ({shown})" if resolved == DEFAULT_DB.resolve() else shown


def build_report(db: Path | None = None, dataset: str | None = None, annotator: str | None = None) -> str:
    """The report's HTML for one dataset (the one named, else the only one; several: a
    CensusError listing them). Built but empty marts give sections that say "no data"; a
    warehouse without any mart is a CensusError."""
    con = connect(db, read_only=True)
    try:
        if not built_marts(con):
            raise CensusError(f"The census marts are not built yet: run `{BUILD_COMMAND}` first (or add --build).")
        scope = resolve(con, dataset, annotator)
        stale = stale_sentence(con)
        marts = Marts(con, scope)
        sections = [_section(build, marts) for build in SECTIONS]
    finally:
        con.close()
    sections.append(_method())
    bundle, versions = _javascript()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in sections)
    n_charts = sum(isinstance(b, Chart) for s in sections for b in s.blocks)
    body = "\n".join(_render_section(s) for s in sections)
    db_name = html.escape(warehouse_words(db))
    of = f": {html.escape(scope.describe())}" if scope.describe() else ""
    stale_note = f'<p class="warning stale"><strong>Stale.</strong> {html.escape(stale)}</p>\n' if stale else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dataset audit report{of}</title>
<style>{CSS}</style>
<script>/* {html.escape(versions)} */
{bundle}
</script>
</head>
<body data-charts="pending" data-chart-count="{n_charts}">
<header>
<h1>Dataset audit report{of}</h1>
{stale_note}<p class="meta">Built {when} from the census marts of {db_name}; {n_charts} charts. {html.escape(versions)}.
Opens offline: every chart and its JavaScript are inside this file.</p>
<p class="warning"><strong>Read with care.</strong> {html.escape(CAVEAT)}</p>
<nav><ol>{toc}</ol></nav>
</header>
<main>
{body}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


def write_report(out: Path, db: Path | None = None, dataset: str | None = None,
                 annotator: str | None = None) -> Path:
    """Write out/report.html (atomically) and return its path."""
    text = build_report(db, dataset, annotator)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_FILE
    tmp = path.with_name(f".{REPORT_FILE}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
