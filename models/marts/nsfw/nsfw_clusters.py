"""Appendix B.2 / Table 5 of the 2020 paper: Affinity Propagation over classes.

One clustering per (NSFW model, face annotator, dataset), over the train-split classes that
have a mean NSFW score and at least var nsfw_cluster_min_faces kept faces, in the plane
mean NSFW x mean gender (Figure 12, left; with var nsfw_cluster_use_age, mean age too). Each
feature is standardised (z-score over the clustered classes, population std) first, so that
age in years cannot swamp scores in [0, 1]. The cluster whose member classes have the
highest mean NSFW is the review shortlist (the paper's Table 5).
"""

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.cluster import AffinityPropagation

SCHEMA = pa.schema(
    [
        ("nsfw_annotator", pa.string()),
        ("face_annotator", pa.string()),
        ("dataset", pa.string()),
        ("wnid", pa.string()),
        ("cluster_id", pa.int64()),
        ("is_review_shortlist", pa.bool_()),
        ("mean_nsfw", pa.float64()),
        ("mean_gender", pa.float64()),
        ("mean_age", pa.float64()),
        ("n_images", pa.int64()),
        ("n_faces", pa.int64()),
        ("cluster_mean_nsfw", pa.float64()),
        ("n_clusters", pa.int64()),
    ]
)


def standardise(features: np.ndarray) -> np.ndarray:
    """Each column as z-scores: (x - mean) / std with the population std (ddof = 0, as
    sklearn's StandardScaler); a constant column becomes zeros."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) == 0:
        return features
    centred = features - features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    return centred / scale


def cluster_labels(features: np.ndarray, damping: float, seed: int) -> np.ndarray:
    """Affinity Propagation labels (-1 everywhere when it does not converge)."""
    if len(features) == 0:
        return np.zeros(0, dtype=np.int64)
    algo = AffinityPropagation(damping=damping, random_state=seed, max_iter=1000)
    return algo.fit(features).labels_.astype(np.int64)


def model(dbt, session):
    dbt.config(materialized="table")
    damping = float(dbt.config.get("damping"))
    seed = int(dbt.config.get("seed"))
    min_faces = int(dbt.config.get("min_faces"))
    use_age = str(dbt.config.get("use_age")).strip().lower() in ("true", "1", "yes")
    feature_columns = ["mean_nsfw", "mean_gender"] + (["mean_age"] if use_age else [])

    nsfw = (
        dbt.ref("class_nsfw")
        .filter("split = 'train' and mean_nsfw is not null")
        .project("annotator, dataset, wnid, mean_nsfw, n_images")
        .df()
    )
    faces = (
        dbt.ref("class_census")
        .filter(f"split = 'train' and mean_gender is not null and n_faces >= {min_faces}")
        .project("annotator, dataset, wnid, mean_gender, mean_age, n_faces")
        .df()
    )
    frames = []
    for (nsfw_annotator, dataset), nsfw_part in nsfw.groupby(["annotator", "dataset"], sort=True):
        same_dataset = faces[faces["dataset"] == dataset]
        for face_annotator, face_part in same_dataset.groupby("annotator", sort=True):
            classes = (
                nsfw_part.drop(columns=["annotator", "dataset"])
                .merge(face_part.drop(columns=["annotator", "dataset"]), on="wnid", how="inner")
                .sort_values("wnid", kind="stable")
                .reset_index(drop=True)
            )
            if use_age:
                classes = classes[classes["mean_age"].notna()].reset_index(drop=True)
            if classes.empty:
                continue
            features = standardise(classes[feature_columns].to_numpy(dtype=np.float64))
            labels = cluster_labels(features, damping, seed)
            classes["cluster_id"] = labels
            converged = labels >= 0
            cluster_means = classes[converged].groupby("cluster_id")["mean_nsfw"].mean()
            classes["cluster_mean_nsfw"] = classes["cluster_id"].map(cluster_means).astype("float64")
            shortlist = cluster_means.idxmax() if len(cluster_means) else None
            classes["is_review_shortlist"] = classes["cluster_id"] == shortlist
            classes["n_clusters"] = len(cluster_means)
            classes["nsfw_annotator"] = nsfw_annotator
            classes["face_annotator"] = face_annotator
            classes["dataset"] = dataset
            frames.append(classes)
    if frames:
        result = pd.concat(frames, ignore_index=True)[SCHEMA.names]
    else:
        result = pd.DataFrame({name: [] for name in SCHEMA.names})
    return pa.Table.from_pandas(result, schema=SCHEMA, preserve_index=False)
