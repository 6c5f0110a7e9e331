"""Persons, apparent gender and apparent minors per class (class_census, class_minors)."""

from __future__ import annotations

import pandas as pd

from .. import blocks
from ..blocks import NARROW, TOP, WIDE, Section
from ..reader import Marts, model_column, primary_model, primary_split
from ..render import prose
from ..words import axis_labels, leaders, plural


def class_census(m: Marts) -> Section:
    import altair as alt

    s = Section("classes", "Persons and apparent gender per class (Appendix B.1, Figure 10a)", prose("classes"))
    df = m.frame("class_census", ["annotator", "wnid", "split", "n_images", "n_faces", "eta", "gender_skewness",
                                  "mean_gender"], ["dataset", "eta_lo", "eta_hi"])
    if df is None or df.empty:
        return s.no_data(["class_census"])
    df["model"] = model_column(df)
    split = primary_split(df)
    df = df[df["split"] == split].copy()
    model = primary_model(df)
    one = m.name_classes(df[df["model"] == model].copy())
    has_ci = one["eta_lo"].notna().any()
    top = axis_labels(one.sort_values(["eta", "n_images"], ascending=[False, False]).head(TOP).copy(), "class")
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
        images = f"; {plural(int(first['n_images']), 'image')}" if (one["eta"] == first["eta"]).sum() == 1 else ""
        reading = (f"Highest eta: {leaders(one, 'eta')} ({first['eta']:.2f}{images}); the median class of {model} has "
                   f"{one['eta'].median():.2f}" + (" (bars: 95 % Wilson intervals; wide ones mean few images)."
                                                   if has_ci else "."))
    else:
        reading = f"No class of {model} has an image with a kept face in {split} (eta 0 for all {len(one):,})."
    s.blocks.append(blocks.chart("eta_top", chart, reading))

    faces = df[df["gender_skewness"].notna()].copy()
    if faces.empty:
        return s.nothing_because("no class has a defined gender skewness (it needs at least two faces with "
                                 "different apparent gender scores).")
    m.name_classes(faces)
    scatter = alt.Chart(faces).mark_circle(size=28, opacity=0.6).encode(
        x=alt.X("eta:Q", title="eta (share of images with a kept face)"),
        y=alt.Y("gender_skewness:Q", title="gender skewness (+: mostly apparent women)"),
        color=alt.Color("model:N", title="face model"),
        tooltip=["class", "wnid", "model", alt.Tooltip("eta:Q", format=".3f"),
                 alt.Tooltip("gender_skewness:Q", format=".2f"), alt.Tooltip("n_faces:Q", format=",")],
    ).properties(width=WIDE, height=320, title=f"Class-wise eta and gender skewness ({split})")
    skew_model = model if (faces["model"] == model).any() else primary_model(faces)
    pos = faces[faces["model"] == skew_model]
    reading = f"{_skew_words(pos)} for {skew_model} (gender skewness needs two faces of different scores)."
    s.blocks.append(blocks.chart("eta_skew", scatter, reading))
    faces["abs"] = faces["gender_skewness"].abs()
    faces["eta_ci"] = faces.apply(lambda r: f"{r['eta']:.3f}" + (f" [{r['eta_lo']:.3f}, {r['eta_hi']:.3f}]"
                                                                 if pd.notna(r["eta_lo"]) else ""), axis=1)
    s.blocks.append(blocks.table(faces.sort_values("abs", ascending=False),
                                 {"model": "face model", "class": "class", "wnid": "wnid", "n_faces": "kept faces",
                                  "eta_ci": "eta" + (" [95 % CI]" if has_ci else ""),
                                  "gender_skewness": "gender skewness", "mean_gender": "mean apparent gender"},
                                 limit=10, heading="Classes with the most skewed apparent gender"))
    return s


def _skew_words(classes: pd.DataFrame) -> str:
    """How many classes lean toward apparent women (positive skewness) and which most, in words
    that hold for none, one or all of them."""
    women = classes[classes["gender_skewness"] > 0]
    men = classes[classes["gender_skewness"] < 0]
    text = (f"{len(women):,} of {plural(len(classes), 'class')} with a defined skewness "
            f"{'leans' if len(women) == 1 else 'lean'} toward apparent women")
    if len(women):
        text += (f" (most: {leaders(women, 'gender_skewness')}, {women['gender_skewness'].max():.2f})")
    if len(men):
        text += (f", {len(men):,} toward apparent men (most: {leaders(men, 'gender_skewness', lowest=True)}, "
                 f"{men['gender_skewness'].min():.2f})")
    return text


def minors(m: Marts) -> Section:
    import altair as alt

    s = Section("minors", "Classes with apparent minors (beyond the paper's hand-found list, B.4)", prose("minors"))
    df = m.frame("class_minors", ["annotator", "wnid", "split", "n_faces", "n_minors", "n_infants", "share_minors",
                                  "is_paper_child_class"], ["dataset"])
    if df is None or df.empty:
        return s.no_data(["class_minors"])
    df["model"] = model_column(df)
    df["is_paper_child_class"] = df["is_paper_child_class"].fillna(False).astype(bool)
    totals = df.groupby(["model", "dataset", "wnid"], as_index=False, dropna=False).agg(
        n_faces=("n_faces", "sum"), n_minors=("n_minors", "sum"), n_infants=("n_infants", "sum"),
        is_paper_child_class=("is_paper_child_class", "max"))
    if not totals["n_minors"].gt(0).any():
        return s.nothing_because("no kept face has an apparent age under 18.")
    with_minors = totals[totals["n_minors"] > 0]
    model = primary_model(with_minors, "n_faces")
    one = m.name_classes(with_minors[with_minors["model"] == model].copy())
    one["listed"] = one["is_paper_child_class"].map({True: "in the paper's list", False: "not in the paper's list"})
    one["share_minors"] = one["n_minors"] / one["n_faces"]
    top = axis_labels(one.sort_values(["n_minors", "wnid"], ascending=[False, True]).head(TOP).copy(), "class")
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
    reading = (f"{count}; the most apparent minors: {leaders(one, 'n_minors')} "
               f"({plural(most, 'face')}{' each' if tied > 1 else ''}).")
    s.blocks.append(blocks.chart("minors", chart, reading))
    s.blocks.append(blocks.table(top, {"model": "face model", "class": "class", "wnid": "wnid", "n_faces": "kept faces",
                                 "n_minors": "apparent < 18", "n_infants": "apparent < 5", "share_minors": "share < 18",
                                 "listed": "B.4 list"}))
    return s
