"""Appendix B.6 of the 2020 paper: top-5 val accuracy of the top-k human-delta classes
against the general population (every other class of the dataset with a val top-5
accuracy, whether or not it has val persons), Welch's two-sided t-test (scipy), one row per
classifier, face annotator and dataset.
"""

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

SCHEMA = pa.schema(
    [
        ("classifier_annotator", pa.string()),
        ("face_annotator", pa.string()),
        ("dataset", pa.string()),
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


def welch(top: np.ndarray, rest: np.ndarray) -> tuple:
    """(t, dof, p) of Welch's two-sided test, or (None, None, None): with fewer than two
    values in a group, or where t is not finite (both groups constant), the row holds no
    statistic at all, never a p-value beside a missing t."""
    if len(top) < 2 or len(rest) < 2:
        return None, None, None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant groups: scipy warns, t is inf
        result = stats.ttest_ind(top, rest, equal_var=False)
    values = (float(result.statistic), float(result.df), float(result.pvalue))
    if not all(np.isfinite(values)):
        return None, None, None
    return values


def model(dbt, session):
    dbt.config(materialized="table")
    top_k = int(dbt.config.get("top_k"))

    deltas = (
        dbt.ref("class_human_delta")
        .filter("human_delta is not null")
        .project("annotator, dataset, wnid, is_top_k")
        .df()
    )
    accuracy = (
        dbt.ref("class_accuracy")
        .filter("split = 'val' and top5 is not null")
        .project("annotator, dataset, wnid, top5")
        .df()
    )

    rows = []
    for (classifier, dataset), acc_part in accuracy.groupby(["annotator", "dataset"], sort=True):
        population = acc_part.set_index("wnid")["top5"]
        for face_annotator, delta_part in deltas[deltas["dataset"] == dataset].groupby("annotator", sort=True):
            top_wnids = set(delta_part.loc[delta_part["is_top_k"], "wnid"])
            in_top = population.index.isin(top_wnids)
            top = population[in_top].sort_index()
            rest = population[~in_top]
            top_values = top.to_numpy(dtype=np.float64)
            rest_values = rest.to_numpy(dtype=np.float64)
            t_stat, dof, p_value = welch(top_values, rest_values)
            rows.append(
                {
                    "classifier_annotator": classifier,
                    "face_annotator": face_annotator,
                    "dataset": dataset,
                    "top_k": top_k,
                    "n_top": len(top_values),
                    "n_rest": len(rest_values),
                    "mean_top": finite_or_none(top_values.mean()) if len(top_values) else None,
                    "mean_rest": finite_or_none(rest_values.mean()) if len(rest_values) else None,
                    "t_statistic": t_stat,
                    "dof": dof,
                    "p_value": p_value,
                    "top_wnids": ",".join(top.index),
                }
            )
    result = pd.DataFrame(rows, columns=SCHEMA.names)
    return pa.Table.from_pandas(result, schema=SCHEMA, preserve_index=False)
