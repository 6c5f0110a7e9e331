"""Faces per supercategory beside Yang et al. 2022, corrected for the measured error where a reference measured it
(supercategory_face_share, corrected_supercategory_share, annotator_image_evaluation)."""

from __future__ import annotations

from .. import blocks
from ..blocks import NARROW, Section
from ..reader import Marts, model_column, primary_model
from ..render import prose
from ..words import pct

YANG_2022 = "Yang et al. 2022"  # "A Study of Face Obfuscation in ImageNet", ICML 2022, Table 2


def supercategories(m: Marts) -> Section:
    import altair as alt

    s = Section("supercategories", f"Faces per supercategory beside {YANG_2022} (Table 2)",
                prose("supercategories", yang=YANG_2022))
    df = m.frame("supercategory_face_share", ["annotator", "dataset", "supercategory", "n_images",
                                              "n_images_with_faces", "share", "share_lo", "share_hi",
                                              "published_share"])
    if df is None or df.empty:
        return s.no_data(["supercategory_face_share"])
    df["model"] = model_column(df)
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
    model = primary_model(df)
    one = df[(df["model"] == model) & df["published_share"].notna()].set_index("supercategory")
    pairs = [f"{g} {pct(one.loc[g, 'share'])} ({pct(one.loc[g, 'published_share'])})" for g in order
             if g in one.index]
    reading = (f"{model}, share of images with a face (Yang et al.'s in brackets): " + "; ".join(pairs) + "."
               if pairs else f"No image of {model} is in a group {YANG_2022} report; the chart shows the others.")
    s.blocks.append(blocks.chart("supercategories", chart, reading))
    table = df.copy()
    table["share_ci"] = table.apply(lambda r: f"{pct(r['share'])} [{pct(r['share_lo'])}, {pct(r['share_hi'])}]",
                                    axis=1)
    table["yang"] = table["published_share"].map(pct)
    corrected = m.frame("corrected_supercategory_share", ["annotator", "reference", "dataset", "supercategory",
                                                          "share_corrected", "rates_from"])
    labelled = m.frame("annotator_image_evaluation", ["annotator", "reference", "dataset", "group_value",
                                                      "n_images", "reference_share"],
                       where="group_kind = 'supercategory'")
    columns = {"model": "face model", "supercategory": "supercategory", "n_images": "images",
               "n_images_with_faces": "with a face", "share_ci": "share [95 % CI]", "yang": YANG_2022}
    if corrected is not None and not corrected.empty:
        corrected["corrected"] = corrected.apply(
            lambda r: f"{pct(r['share_corrected'])} ({r['reference']}, {r['rates_from']} rates)", axis=1)
        table = table.merge(corrected[["annotator", "dataset", "supercategory", "reference", "corrected"]],
                            on=["annotator", "dataset", "supercategory"], how="left")
        columns["corrected"] = "corrected for the measured error"
        if labelled is not None and not labelled.empty:
            labelled["labelled"] = labelled.apply(
                lambda r: f"{pct(r['reference_share'])} of {int(r['n_images']):,}", axis=1)
            table = table.merge(labelled.rename(columns={"group_value": "supercategory"})[
                ["annotator", "reference", "dataset", "supercategory", "labelled"]],
                on=["annotator", "reference", "dataset", "supercategory"], how="left")
            columns["labelled"] = "the reference's labelled share"
    rank = {g: i for i, g in enumerate(order)}
    table = table.assign(_rank=table["supercategory"].map(rank)).sort_values(["_rank", "model"])
    s.blocks.append(blocks.table(table, columns))
    return s
