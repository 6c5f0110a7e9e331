"""Who appears beside dogs and musical instruments (dog_group_gender, instrument_gender_skew)."""

from __future__ import annotations

from .. import blocks
from ..blocks import NARROW, Section
from ..reader import Marts, model_column, primary_model
from ..render import prose
from ..words import axis_labels, leaders, listing, plural


def cooccurrence(m: Marts) -> Section:
    import altair as alt

    s = Section("cooccurrence", "Dogs and musical instruments: who appears beside them (Appendix B.3, Figure 14)",
                prose("cooccurrence"))
    dogs = m.frame("dog_group_gender", ["annotator", "akc_group", "n_classes", "n_faces", "pct_female",
                                        "mean_class_mean_gender", "median_class_mean_gender",
                                        "min_class_mean_gender", "max_class_mean_gender"], ["dataset"])
    if dogs is None or dogs.empty:
        s.no_data(["dog_group_gender"])
    else:
        dogs["model"] = model_column(dogs)
        model = primary_model(dogs, "n_faces")
        one = axis_labels(dogs[dogs["model"] == model].copy(), "akc_group")
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
            reading = (f"Most apparent women beside {leaders(ordered, 'mean_class_mean_gender', 'akc_group', True)} "
                       f"dogs (mean {ordered['mean_class_mean_gender'].iloc[0]:.2f}), fewest beside "
                       f"{leaders(ordered, 'mean_class_mean_gender', 'akc_group')} "
                       f"({ordered['mean_class_mean_gender'].iloc[-1]:.2f}); {paper}")
        elif len(ordered) == 1:
            reading = (f"Only {ordered['akc_group'].iloc[0]} dogs have persons beside them (mean "
                       f"{ordered['mean_class_mean_gender'].iloc[0]:.2f}): nothing to compare; {paper}")
        else:
            reading = f"No dog group has a person with an apparent gender beside it; {paper}"
        s.blocks.append(blocks.chart("dogs", chart, reading))
    inst = m.frame("instrument_gender_skew", ["annotator", "wnid", "label", "stereotype", "n_faces", "gender_skewness",
                                              "mean_gender"], ["dataset"])
    if inst is None or inst.empty or inst["gender_skewness"].isna().all():
        return s.no_data(["instrument_gender_skew"], "is missing or has no defined skewness")
    inst["model"] = model_column(inst)
    inst = inst[inst["gender_skewness"].notna()]
    model = primary_model(inst, "n_faces")
    one = axis_labels(m.name_classes(inst[inst["model"] == model].copy()), "class")
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
    reading = (f"Skewed toward apparent women: {listing(list(women['class'].head(3))) if len(women) else 'none'}; "
               f"toward men: {listing(list(men['class'].head(3))) if len(men) else 'none'} "
               f"(of {plural(len(one), 'instrument class')} with a defined skewness). The paper found harp, cello, "
               "oboe, flute and violin most pro-women.")
    s.blocks.append(blocks.chart("instruments", chart, reading))
    return s
