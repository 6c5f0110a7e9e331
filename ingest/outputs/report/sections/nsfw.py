"""NSFW by class, the review shortlist and the paper's hand survey (class_nsfw, nsfw_clusters, hand_survey_check)."""

from __future__ import annotations

import pandas as pd

from .. import blocks
from ..blocks import NARROW, TOP, WIDE, Section
from ..reader import Marts, model_column, primary_model, primary_split
from ..render import prose
from ..words import axis_labels, leaders, listing, plural


def nsfw(m: Marts) -> Section:
    import altair as alt

    s = Section("nsfw", "NSFW by class and the review shortlist (Appendix B.2, Figure 12, Table 5)", prose("nsfw"))
    nsfw = m.frame("class_nsfw", ["annotator", "wnid", "split", "n_images", "mean_nsfw"], ["dataset"])
    nsfw = None if nsfw is None else nsfw[nsfw["mean_nsfw"].notna()].copy()
    if nsfw is None or nsfw.empty:
        s.no_data(["class_nsfw"], "is missing or holds no NSFW score")
    else:
        nsfw["model"] = model_column(nsfw)
        split = primary_split(nsfw)
        nsfw = nsfw[nsfw["split"] == split].copy()
        model = primary_model(nsfw)
        one = m.name_classes(nsfw[nsfw["model"] == model].copy())
        top = axis_labels(one.sort_values(["mean_nsfw", "wnid"], ascending=[False, True]).head(TOP).copy(), "class")
        chart = alt.Chart(top).mark_bar().encode(
            x=alt.X("mean_nsfw:Q", title="mean NSFW score of the class's images", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("label:N", title="class", sort="-x"),
            tooltip=["class", "wnid", alt.Tooltip("mean_nsfw:Q", format=".3f"), alt.Tooltip("n_images:Q", format=",")],
        ).properties(width=NARROW, title=f"Classes with the highest mean NSFW score ({model}, {split})")
        reading = (f"Highest mean NSFW score of {plural(len(one), 'class')}: {leaders(one, 'mean_nsfw')} "
                   f"({one['mean_nsfw'].max():.2f}); the median class scores "
                   f"{one['mean_nsfw'].median():.2f}. The paper's top classes were bikini, maillot, brassiere.")
        s.blocks.append(blocks.chart("nsfw_top", chart, reading))

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
    reading = (f"{len(short):,} of {plural(len(one), 'class')} form the review shortlist (diamonds)"
               + (f", led by {listing(list(short['class'].head(3)))}" if len(short) else "")
               + (f"; {faceless:,} of them have no kept face (no apparent gender: not drawn)" if faceless else "")
               + f"; {_shortlist_gender(short)}; the paper's shortlist was classes of mostly young apparent women.")
    if placed.empty:
        s.nothing_because(f"no class has a kept face, so none has a place on the apparent gender axis. "
                          f"Reading: {reading}")
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
        s.blocks.append(blocks.chart("nsfw_clusters", chart, reading))
    if len(short):
        s.blocks.append(blocks.table(
            short, {"nsfw_annotator": "NSFW model", "face_annotator": "face model", "class": "class", "wnid": "wnid",
                    "mean_nsfw": "mean NSFW", "mean_gender": "mean apparent gender",
                    "mean_age": "mean apparent age", "n_faces": "kept faces"}, limit=TOP,
            heading="Review shortlist"))
    survey = m.frame("hand_survey_check", ["annotator", "wnid", "label", "n_hand_labelled", "paper_mean_nsfw_train",
                                           "mean_nsfw_train"], ["dataset"])
    if survey is not None and not survey.empty:
        survey = m.name_classes(survey)
        s.blocks.append(blocks.table(
            survey.sort_values(["annotator", "dataset", "n_hand_labelled"], ascending=[True, True, False]),
            {"annotator": "NSFW model", "class": "class", "wnid": "wnid",
             "n_hand_labelled": "images in the paper's list", "paper_mean_nsfw_train": "paper mean NSFW (train)",
             "mean_nsfw_train": "this warehouse (train)"},
            heading="The paper's hand survey (Table 6) beside this warehouse"))
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
