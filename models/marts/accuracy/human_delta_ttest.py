"""Appendix B.6 of the 2020 paper: top-5 val accuracy of the top-k human-delta classes
against every other class with a human delta, Welch's two-sided t-test (scipy), one row per
classifier and face annotator.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

SCHEMA = pa.schema(
    [
        ("classifier_annotator", pa.string()),
        ("face_annotator", pa.string()),
        ("top_k", pa.int64()),
        ("n_top", pa.int64()),
        ("n_rest", pa.int64()),
        ("mean_top", pa.float64()),
        ("mean_rest", pa.float64()),
        ("t_statistic", pa.float64()),
        ("dof", pa.float64()),
        ("p_value", pa.float64()),
        ("top_wnids", pa.string()),
    ]
)


def finite_or_none(value):
    value = float(value)
    return value if np.isfinite(value) else None


def model(dbt, session):
    dbt.config(materialized="table")
    top_k = int(dbt.config.get("top_k"))

    deltas = (
        dbt.ref("class_human_delta")
        .filter("human_delta is not null")
        .project("annotator, wnid, human_delta, is_top_k")
        .df()
    )
    accuracy = (
        dbt.ref("class_accuracy").filter("split = 'val' and top5 is not null").project("annotator, wnid, top5").df()
    )

    rows = []
    for classifier, acc_part in accuracy.groupby("annotator", sort=True):
        for face_annotator, delta_part in deltas.groupby("annotator", sort=True):
            classes = delta_part.merge(acc_part[["wnid", "top5"]], on="wnid", how="inner")
            top = classes.loc[classes["is_top_k"]].sort_values("wnid")
            rest = classes.loc[~classes["is_top_k"]]
            top_values = top["top5"].to_numpy(dtype=np.float64)
            rest_values = rest["top5"].to_numpy(dtype=np.float64)
            t_stat = dof = p_value = None
            if len(top_values) >= 2 and len(rest_values) >= 2:
                with np.errstate(all="ignore"):
                    result = stats.ttest_ind(top_values, rest_values, equal_var=False)
                t_stat = finite_or_none(result.statistic)
                dof = finite_or_none(result.df)
                p_value = finite_or_none(result.pvalue)
            rows.append(
                {
                    "classifier_annotator": classifier,
                    "face_annotator": face_annotator,
                    "top_k": top_k,
                    "n_top": len(top_values),
                    "n_rest": len(rest_values),
                    "mean_top": finite_or_none(top_values.mean()) if len(top_values) else None,
                    "mean_rest": finite_or_none(rest_values.mean()) if len(rest_values) else None,
                    "t_statistic": t_stat,
                    "dof": dof,
                    "p_value": p_value,
                    "top_wnids": ",".join(top["wnid"]),
                }
            )
    result = pd.DataFrame(rows, columns=SCHEMA.names)
    return pa.Table.from_pandas(result, schema=SCHEMA, preserve_index=False)
