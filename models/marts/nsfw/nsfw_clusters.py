"""Appendix B.2 / Table 5 of the 2020 paper: Affinity Propagation over classes.

One clustering per (NSFW model, face annotator, dataset), over EVERY class of the dataset's
audit split (int_audit_splits: train where it has one) with a mean NSFW score, in the plane
mean NSFW x mean gender (Figure 12, left; with var nsfw_cluster_use_age, mean age too). Each
feature is standardised (z-score over the classes that have it, population std) first, so that
age in years cannot swamp scores in [0, 1]. A class
with fewer than var nsfw_cluster_min_faces kept faces has no usable mean gender (or age): it sits
at that axis' mean (z = 0), so its NSFW score alone places it; the most explicit classes often
show no face at all, and leaving them out would keep them off the shortlist. Where no face
model processed the dataset, one clustering per NSFW model runs with face_annotator NULL. The
cluster whose member classes have the highest mean NSFW is the review shortlist (Table 5).
Reference annotators never reach class_census, so they form no shortlist.
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
    sklearn's StandardScaler) over the column's known values; a constant column becomes zeros
    and an unknown value (NaN) becomes 0, the column's mean."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) == 0:
        return features
    known = ~np.isnan(features)
    counts = known.sum(axis=0)
    safe = np.where(known, features, 0.0)
    mean = np.divide(safe.sum(axis=0), counts, out=np.zeros(features.shape[1]), where=counts > 0)
    centred = np.where(known, features - mean, 0.0)
    scale = np.sqrt(np.divide((centred ** 2).sum(axis=0), counts, out=np.zeros(features.shape[1]),
                              where=counts > 0))
    scale[scale == 0] = 1.0
    return centred / scale


def cluster_labels(features: np.ndarray, damping: float, seed: int, max_classes: int | None = None) -> np.ndarray:
    """Affinity Propagation labels (-1 everywhere when it does not converge). Its time and
    memory grow with the square of the classes (21,843 classes of ImageNet-21k: three 3.8 GB
    matrices and hours); above ``max_classes`` it runs on a seeded sample of that many
    classes and every class joins its nearest exemplar (``AffinityPropagation.predict``)."""
    if len(features) == 0:
        return np.zeros(0, dtype=np.int64)
    algo = AffinityPropagation(damping=damping, random_state=seed, max_iter=1000)
    if max_classes is None or len(features) <= max_classes:
        return algo.fit(features).labels_.astype(np.int64)
    sample = np.sort(np.random.default_rng(seed).choice(len(features), size=max_classes, replace=False))
    algo.fit(features[sample])
    if len(algo.cluster_centers_) == 0:
        return np.full(len(features), -1, dtype=np.int64)
    return algo.predict(features).astype(np.int64)


def cluster_classes(classes: pd.DataFrame, feature_columns: list[str], damping: float, seed: int,
                    max_classes: int | None = None) -> pd.DataFrame:
    """The classes (sorted by wnid) with cluster_id, cluster_mean_nsfw, is_review_shortlist and
    n_clusters: the shortlist is the converged cluster with the highest mean of mean_nsfw."""
    classes = classes.sort_values("wnid", kind="stable").reset_index(drop=True)
    features = standardise(classes[feature_columns].to_numpy(dtype=np.float64))
    labels = cluster_labels(features, damping, seed, max_classes)
    classes["cluster_id"] = labels
    converged = labels >= 0
    cluster_means = classes[converged].groupby("cluster_id")["mean_nsfw"].mean()
    classes["cluster_mean_nsfw"] = classes["cluster_id"].map(cluster_means).astype("float64")
    shortlist = cluster_means.idxmax() if len(cluster_means) else None
    classes["is_review_shortlist"] = classes["cluster_id"] == shortlist
    classes["n_clusters"] = len(cluster_means)
    return classes


def model(dbt, session):
    dbt.config(materialized="table")
    damping = float(dbt.config.get("damping"))
    seed = int(dbt.config.get("seed"))
    min_faces = int(dbt.config.get("min_faces"))
    max_classes = int(dbt.config.get("max_classes"))
    use_age = str(dbt.config.get("use_age")).strip().lower() in ("true", "1", "yes")
    feature_columns = ["mean_nsfw", "gender_feature"] + (["age_feature"] if use_age else [])

    audit_splits = dbt.ref("int_audit_splits").project("dataset, split").df()
    nsfw = (
        dbt.ref("class_nsfw")
        .filter("mean_nsfw is not null")
        .project("annotator, dataset, split, wnid, mean_nsfw, n_images")
        .df()
        .merge(audit_splits, on=["dataset", "split"])
        .drop(columns="split")
    )
    faces = (
        dbt.ref("class_census")
        .project("annotator, dataset, split, wnid, mean_gender, mean_age, n_faces")
        .df()
        .merge(audit_splits, on=["dataset", "split"])
        .drop(columns="split")
    )
    frames = []
    for (nsfw_annotator, dataset), nsfw_part in nsfw.groupby(["annotator", "dataset"], sort=True):
        same_dataset = faces[faces["dataset"] == dataset]
        face_groups = list(same_dataset.groupby("annotator", sort=True)) or [(None, same_dataset)]
        for face_annotator, face_part in face_groups:
            classes = nsfw_part.drop(columns=["annotator", "dataset"]).merge(
                face_part.drop(columns=["annotator", "dataset"]), on="wnid", how="left")
            classes["n_faces"] = classes["n_faces"].fillna(0).astype("int64")
            enough = classes["n_faces"] >= min_faces
            classes["gender_feature"] = classes["mean_gender"].where(enough)
            classes["age_feature"] = classes["mean_age"].where(enough)
            classes = cluster_classes(classes, feature_columns, damping, seed, max_classes)
            classes["nsfw_annotator"] = nsfw_annotator
            classes["face_annotator"] = face_annotator
            classes["dataset"] = dataset
            frames.append(classes)
    if frames:
        result = pd.concat(frames, ignore_index=True)[SCHEMA.names]
    else:
        result = pd.DataFrame({name: [] for name in SCHEMA.names})
    return pa.Table.from_pandas(result, schema=SCHEMA, preserve_index=False)
