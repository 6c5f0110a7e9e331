"""Humans in the dataset and their apparent age and gender (census_overview, demographics, demographics_age_gender)."""

from __future__ import annotations

import pandas as pd

from .. import blocks
from ..blocks import NARROW, PANEL, Section
from ..reader import Marts, model_column
from ..render import prose
from ..words import axis_labels, pct

PAPER_PERSON_SHARE = "7.6-10.3 %"  # 2020 paper, B.1: images of ImageNet with a person
PAPER_2019 = {"pct_female": 41.62, "pct_over_60": 1.71, "pct_male_15_29": 27.11}  # 2019 paper, ILSVRC train


def table4(m: Marts) -> Section:
    import altair as alt

    s = Section("humans", "Humans in the dataset (Table 4 of the 2020 paper)", prose("humans"))
    df = m.frame("census_overview", ["annotator", "split", "n_images", "n_images_with_faces", "n_faces", "n_women",
                                     "n_men", "share_images_with_faces", "mean_age_women", "mean_age_men"], ["dataset"])
    if df is None or df.empty:
        return s.no_data(["census_overview"])
    df["model"] = model_column(df)
    df = axis_labels(df.sort_values(["model", "split"]), "model")
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
    share = pct(lo) if pct(lo) == pct(hi) else f"{pct(lo)} to {pct(hi)}"
    reading = (f"Persons (kept faces) appear in {share} of the images across models and splits; "
               f"the 2020 paper found {PAPER_PERSON_SHARE} in ImageNet.")
    s.blocks.append(blocks.chart("table4", chart, reading))
    df["share"] = df["share_images_with_faces"].map(pct)
    s.blocks.append(blocks.table(df, {"model": "face model", "split": "split", "n_images": "images",
                                "n_images_with_faces": "n (images with persons)", "n_faces": "N (persons)",
                                "n_women": "apparent women", "n_men": "apparent men", "share": "share with persons",
                                "mean_age_women": "mean age (women)", "mean_age_men": "mean age (men)"}, digits=1))
    return s


def demographics(m: Marts) -> Section:
    import altair as alt

    s = Section("demographics", "Apparent age and gender (the 2019 paper's headline shares)",
                prose("demographics", paper=PAPER_2019))
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
        s.blocks.append(blocks.table(demo, {"model": "face model", "n_faces": "kept faces",
                                      "female": "% apparent female" + (" [95 % CI]" if has_ci else ""),
                                      "over60": "% apparent over 60" + (" [95 % CI]" if has_ci else ""),
                                      "pct_male_15_29": "% apparent male 15-29"}))
        if has_ci:
            s.blocks.append(blocks.note(INTERVAL_NOTE))
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
    s.blocks.append(blocks.chart("pyramid", chart, reading))
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
