"""Whether two face models agree, class by class (annotator_agreement, class_census)."""

from __future__ import annotations

import pandas as pd

from .. import blocks
from ..blocks import PANEL, Section
from ..reader import Marts
from ..render import prose
from ..words import MIN_CLASSES_R, plural, r_text


def agreement(m: Marts) -> Section:
    import altair as alt

    s = Section("agreement", "Do two face models agree? (Figure 10b of the 2020 paper)", prose("agreement"))
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
        bits.append(f"{title} {r_text(r, n, 2)}")
    chart = alt.hconcat(*panels).properties(title=f"Class-wise agreement of two face models ({split})")
    reading = (f"{pair['annotator_a']} and {pair['annotator_b']}, Pearson r of the classes both processed: "
               + "; ".join(bits) + ". A low r over many classes means the census depends on the model chosen.")
    s.blocks.append(blocks.chart("agreement", chart, reading))
    table = pairs.copy()
    for metric in ("eta", "gender_skewness", "mean_age"):
        table[f"r_{metric}"] = table.apply(lambda row, k=metric: _r_cell(row[f"pearson_{k}"], _n_classes(row, k)),
                                           axis=1)
    s.blocks.append(blocks.table(table, {"annotator_a": "model A", "annotator_b": "model B", "split": "split",
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
        return f"{title} (r undefined, {plural(n, 'class')})"
    if n < MIN_CLASSES_R:
        return [f"{title} (Pearson r = {r:.2f}, {plural(n, 'class')}):", "too few classes to mean anything"]
    return f"{title} (Pearson r = {r:.3f}, {plural(n, 'class')})"


def _r_cell(r, n: int) -> str:
    if pd.isna(r):
        return f"– (n = {n:,})"
    return f"{r:.3f} (n = {n:,})" + (": too few" if n < MIN_CLASSES_R else "")
