"""Classifier accuracy where persons appear unevenly (class_human_delta, class_accuracy, human_delta_ttest)."""

from __future__ import annotations

from .. import blocks
from ..blocks import PANEL, Section
from ..reader import Marts
from ..render import prose


def human_delta(m: Marts) -> Section:
    import altair as alt

    s = Section("human_delta", "Accuracy where persons appear unevenly (Appendix B.6, Figure 16)", prose("human_delta"))
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
    s.blocks.append(blocks.chart("human_delta", chart, reading))
    if tests is not None and not tests.empty:
        s.blocks.append(blocks.table(tests, {"classifier_annotator": "classifier", "face_annotator": "face model",
                                       "n_top": "top-k classes", "n_rest": "other classes",
                                       "mean_top": "top-5 acc. (top-k)", "mean_rest": "top-5 acc. (rest)",
                                       "t_statistic": "Welch t", "dof": "dof", "p_value": "p"}, digits=3))
    return s
