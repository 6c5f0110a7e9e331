"""The class labels placed by meaning, coloured by the census (class_semantics)."""

from __future__ import annotations

from .. import blocks
from ..blocks import PANEL, Section
from ..reader import Marts, model_column, primary_model, primary_split
from ..render import prose
from ..words import listing


def semantics(m: Marts) -> Section:
    import altair as alt

    s = Section("semantics", "Semantic map of the class labels (Appendix B.2.1, Figure 11)", prose("semantics"))
    df = m.frame("class_semantics", ["annotator", "stage", "split", "wnid", "label", "umap_x", "umap_y", "n_images",
                                     "eta", "gender_skewness", "mean_nsfw"], ["dataset"])
    if df is None or df.empty:
        return s.no_data(["class_semantics"])
    df["model"] = model_column(df)
    m.name_classes(df)
    panels, readings = [], []
    for stage, metric, title, scheme in (("faces", "eta", "eta (share of images with persons)", "blues"),
                                         ("faces", "gender_skewness", "gender skewness (+: apparent women)",
                                          "blueorange"),
                                         ("nsfw", "mean_nsfw", "mean NSFW score", "reds")):
        measured = df[(df["stage"] == stage) & df[metric].notna()]
        if measured.empty:
            continue
        split = primary_split(measured)
        model = primary_model(measured[measured["split"] == split])
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
            readings.append(f"highest {name}: {listing(list(best['class']))}")
    if not panels:
        return s.no_data(["class_semantics"], "holds no measured class")
    chart = alt.concat(*panels, columns=2).resolve_scale(color="independent").properties(
        title="Class labels placed by meaning, coloured by the census")
    reading = "; ".join(readings)
    s.blocks.append(blocks.chart("semantics", chart, reading[:1].upper() + reading[1:] + "."))
    return s
