"""Coverage: the images each model processed ok and those that failed in every run (annotator_coverage)."""

from __future__ import annotations

from .. import blocks
from ..blocks import NARROW, Section
from ..reader import Marts, model_column
from ..render import prose
from ..words import axis_labels, plural


def coverage(m: Marts) -> Section:
    import altair as alt

    s = Section("coverage", "Coverage: what was processed", prose("coverage"))
    df = m.frame("annotator_coverage", ["annotator", "stage", "n_images_ok", "n_images_error"], ["dataset"])
    if df is None or df.empty:
        return s.no_data(["annotator_coverage"])
    df["model"] = model_column(df)
    df = df.sort_values(["stage", "model"])
    df["run"] = df["stage"] + ": " + df["model"]
    axis_labels(df, "run")
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
    reading = (f"{plural(df['model'].nunique(), 'model')} over {plural(df['stage'].nunique(), 'stage')}; up to "
               f"{plural(int(df['n_images_ok'].max()), 'image')} processed by one model; "
               + (f"{plural(errors, 'image result')} failed in every run and "
                  f"{'is' if errors == 1 else 'are'} not counted anywhere." if errors else
                  "no image failed in every run."))
    s.blocks.append(blocks.chart("coverage", chart, reading))
    s.blocks.append(blocks.table(df, {"dataset": "dataset", "stage": "stage", "model": "model",
                                "n_images_ok": "images ok", "n_images_error": "errors (never ok)"}))
    return s
