"""The census marts against pandas/scipy/scikit-learn computed independently from the raw rows.

One dbt build per module on a small warehouse with a known structure (marts_data), then every
column of every mart is compared with a reference computed here, to 1e-9.
"""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from marts_data import (
    BASSOON,
    CLF_A,
    CLF_B,
    FACE_MIN_SCORE,
    FACES_A,
    FACES_B,
    INFANT_AGE,
    MINOR_AGE,
    NSFW,
    NSFW_DAMPING,
    NSFW_MIN_FACES,
    NSFW_SEED,
    SHARED,
    SYNSET_MIN_FACE_SHARE,
    TEST_VARS,
    build_raw,
    dbt_build,
    query,
    read_mart,
    read_seed,
    write_raw,
)
from scipy import stats
from sklearn.cluster import AffinityPropagation
from sklearn.preprocessing import StandardScaler

TOL = 1e-9
TOP_K = TEST_VARS["human_delta_top_k"]
MIN_IMAGES = TEST_VARS["synset_min_images"]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    return build_raw()


@pytest.fixture(scope="module")
def warehouse(raw, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("marts")
    db = work / "census.duckdb"
    write_raw(db, raw)
    result = dbt_build(db, work, TEST_VARS)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return db


mart = read_mart


# ---------------------------------------------------------------- reference computations


def winning(raw, stage: str) -> pd.DataFrame:
    """Latest ok run per annotator and image (by started_at, ties by run_id)."""
    ir = raw["image_runs"].merge(raw["runs"], on="run_id")
    ir = ir[(ir.status_x == "ok") & (ir.stage == stage)]
    ir = ir.sort_values(["annotator", "image_id", "started_at", "run_id"])
    win = ir.groupby(["annotator", "image_id"], as_index=False).tail(1)[["annotator", "image_id", "run_id"]]
    return win.merge(raw["images"][["image_id", "dataset", "split", "wnid"]], on="image_id")


def kept_faces(raw) -> pd.DataFrame:
    faces = winning(raw, "faces").merge(raw["faces"], on=["run_id", "image_id"])
    return faces[faces.det_score >= FACE_MIN_SCORE].copy()


def nan_to_none(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def pop_skew(values: pd.Series):
    """scipy's population skewness (NaN, i.e. NULL, for one face or a constant gender)."""
    if not len(values):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns on constant input
        return nan_to_none(float(stats.skew(values.to_numpy(dtype=float), bias=True)))


CLASS = ["annotator", "dataset", "wnid", "split"]  # the class grain: datasets never pool


def ref_class_census(raw) -> pd.DataFrame:
    processed = winning(raw, "faces").groupby(CLASS).size().rename("n_images").reset_index()
    faces = kept_faces(raw)
    rows = []
    for key, part in faces.groupby(CLASS):
        women = part[part.gender_score < 0.5]
        men = part[part.gender_score >= 0.5]
        rows.append(
            dict(
                zip(CLASS, key, strict=True),
                n_images_with_faces=part.image_id.nunique(),
                n_faces=len(part),
                mean_age=part.age.mean(),
                std_age=part.age.std(),
                gender_skewness=pop_skew(part.gender_score),
                mean_gender=part.gender_score.mean(),
                n_women=len(women),
                n_men=len(men),
                mean_age_women=women.age.mean() if len(women) else None,
                std_age_women=women.age.std() if len(women) else None,
                mean_age_men=men.age.mean() if len(men) else None,
                std_age_men=men.age.std() if len(men) else None,
                min_age=part.age.min(),
                max_age=part.age.max(),
            )
        )
    stats_df = pd.DataFrame(rows)
    out = processed.merge(stats_df, on=CLASS, how="left")
    for col in ["n_images_with_faces", "n_faces", "n_women", "n_men"]:
        out[col] = out[col].fillna(0).astype(int)
    out["eta"] = out.n_images_with_faces / out.n_images
    return out


def compare(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str], columns: list[str] | None = None):
    """Same keys; every column equal (numbers to 1e-9, NULL where NaN/None)."""
    columns = columns or [c for c in expected.columns if c not in keys]
    assert set(columns) <= set(actual.columns), set(columns) - set(actual.columns)
    assert not actual.duplicated(keys).any()
    assert len(actual) == len(expected), (len(actual), len(expected))
    merged = actual.merge(expected, on=keys, how="outer", suffixes=("_mart", "_ref"), indicator=True)
    missing = merged[merged._merge != "both"]
    assert missing.empty, missing[keys + ["_merge"]].head(10)
    for col in columns:
        a, e = merged[f"{col}_mart"], merged[f"{col}_ref"]
        for i, (x, y) in enumerate(zip(a, e, strict=True)):
            x_null = x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA or x is pd.NaT
            y_null = y is None or (isinstance(y, float) and math.isnan(y)) or y is pd.NA or y is pd.NaT
            where = f"{col} at {merged.loc[i, keys].to_dict()}: mart {x!r} vs ref {y!r}"
            assert x_null == y_null, where
            if x_null:
                continue
            if isinstance(y, (bool, np.bool_, str)):
                assert x == y, where
            else:
                assert math.isclose(float(x), float(y), rel_tol=TOL, abs_tol=TOL), where


# ---------------------------------------------------------------- the data covers the cases


def test_fixture_covers_the_edge_cases(raw, warehouse):
    census = mart(warehouse, "class_census")
    assert (census.n_faces == 0).any(), "a class without faces"
    assert ((census.n_faces == 1) & census.gender_skewness.isna()).any(), "a class with one face"
    assert ((census.n_faces >= 2) & census.gender_skewness.isna()).any(), "a constant-gender class"
    assert (raw["faces"].det_score < FACE_MIN_SCORE).any() and (raw["faces"].det_score == FACE_MIN_SCORE).any()
    assert set(census.annotator) == {FACES_A, FACES_B}
    assert set(census.split) == {"train", "val"}
    assert {"cat", "dog"} <= set(census.wnid)
    # A second dataset with ImageNet's wnid and split names keeps rows of its own.
    shared = census[census.dataset == SHARED]
    same = census[census.dataset == "imagenet"].merge(shared, on=["annotator", "wnid", "split"])
    assert len(same) >= 8 and (same.mean_gender_x != same.mean_gender_y).any()
    # The resumed run wins where it has the image ok; the first run where the second failed.
    results = mart_intermediate(warehouse, "int_image_results")
    fa = results[(results.annotator == FACES_A) & (results.stage == "faces")]
    assert {"run-fa-1", "run-fa-2", "run-fa-pets", "run-fa-copy", "run-fa-copy-retry"} == set(fa.run_id)
    ir = raw["image_runs"]
    second_ok = set(ir[(ir.run_id == "run-fa-2") & (ir.status == "ok")].image_id)
    assert set(fa[fa.run_id == "run-fa-2"].image_id) == second_ok
    second_err = set(ir[(ir.run_id == "run-fa-2") & (ir.status == "error")].image_id)
    first_ok = set(ir[(ir.run_id == "run-fa-1") & (ir.status == "ok")].image_id)
    assert second_err & first_ok and second_err & first_ok <= set(fa[fa.run_id == "run-fa-1"].image_id)
    # Same start time: the larger run_id wins.
    fb = results[results.annotator == FACES_B]
    both_ok = set(ir[(ir.run_id == "run-fb-1") & (ir.status == "ok")].image_id) & set(
        ir[(ir.run_id == "run-fb-2") & (ir.status == "ok")].image_id
    )
    assert both_ok and set(fb[fb.image_id.isin(both_ok)].run_id) == {"run-fb-2"}


def mart_intermediate(db: Path, name: str) -> pd.DataFrame:
    """An intermediate model, wherever the schema naming put it (intermediate or main_intermediate)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        schema = con.execute(
            "select table_schema from information_schema.tables"
            " where table_name = ? and table_schema like '%intermediate'",
            [name],
        ).fetchone()[0]
        return con.execute(f"select * from {schema}.{name}").df()
    finally:
        con.close()


# ---------------------------------------------------------------- census marts


def test_class_census(raw, warehouse):
    compare(mart(warehouse, "class_census"), ref_class_census(raw), CLASS)


def test_census_overview(raw, warehouse):
    keys = ["annotator", "dataset", "split"]
    processed = winning(raw, "faces").groupby(keys).size().rename("n_images").reset_index()
    faces = kept_faces(raw)
    g = faces.groupby(keys)
    totals = pd.DataFrame(
        {
            "n_images_with_faces": g.image_id.nunique(),
            "n_faces": g.size(),
            "n_women": g.gender_score.apply(lambda s: int((s < 0.5).sum())),
            "n_men": g.gender_score.apply(lambda s: int((s >= 0.5).sum())),
            "mean_age": g.age.mean(),
            "mean_age_women": g.apply(lambda p: p.age[p.gender_score < 0.5].mean(), include_groups=False),
            "mean_age_men": g.apply(lambda p: p.age[p.gender_score >= 0.5].mean(), include_groups=False),
        }
    ).reset_index()
    expected = processed.merge(totals, on=keys, how="left")
    expected["share_images_with_faces"] = expected.n_images_with_faces / expected.n_images
    compare(mart(warehouse, "census_overview"), expected, keys)


def test_demographics(raw, warehouse):
    faces = kept_faces(raw)
    rows = []
    for (annotator, dataset), part in faces.groupby(["annotator", "dataset"]):  # datasets never pool
        rows.append(
            {
                "annotator": annotator,
                "dataset": dataset,
                "n_faces": len(part),
                "n_women": int((part.gender_score < 0.5).sum()),
                "n_men": int((part.gender_score >= 0.5).sum()),
                "pct_female": 100 * (part.gender_score < 0.5).mean(),
                "pct_over_60": 100 * (np.floor(part.age) >= 60).mean(),
                "mean_age": part.age.mean(),
            }
        )
    compare(mart(warehouse, "demographics"), pd.DataFrame(rows), ["annotator", "dataset"])


def test_demographics_age_gender(raw, warehouse):
    faces = kept_faces(raw)
    faces["age_bucket"] = pd.cut(
        np.floor(faces.age), [-np.inf, 14, 29, 44, 59, np.inf], labels=["0-14", "15-29", "30-44", "45-59", "60+"]
    ).astype(str)
    faces["gender"] = np.where(faces.gender_score < 0.5, "female", "male")
    rows = []
    for (annotator, dataset), part in faces.groupby(["annotator", "dataset"]):
        for bucket in ["0-14", "15-29", "30-44", "45-59", "60+"]:
            for gender in ["female", "male"]:
                n = int(((part.age_bucket == bucket) & (part.gender == gender)).sum())
                rows.append((annotator, dataset, bucket, gender, n, 100 * n / len(part)))
    expected = pd.DataFrame(rows, columns=["annotator", "dataset", "age_bucket", "gender", "n_faces",
                                           "pct_of_faces"])
    actual = mart(warehouse, "demographics_age_gender")
    compare(actual, expected, ["annotator", "dataset", "age_bucket", "gender"])
    assert (actual.n_faces > 0).sum() >= 8, "the data should fill most buckets"


def test_synset_gender_rank(raw, warehouse):
    census = ref_class_census(raw)
    train = census[
        (census.split == "train")
        & (census.n_images >= MIN_IMAGES)
        & (census.n_images_with_faces / census.n_images >= SYNSET_MIN_FACE_SHARE)
        & (census.n_women + census.n_men > 0)
    ].copy()
    train["pct_female"] = 100 * train.n_women / (train.n_women + train.n_men)
    train["pct_male"] = 100 * train.n_men / (train.n_women + train.n_men)
    parts = []
    for _, part in train.groupby(["annotator", "dataset"]):
        part = part.copy()
        order_f = part.sort_values(["pct_female", "wnid"], ascending=[False, True])
        part.loc[order_f.index, "rank_female"] = np.arange(1, len(part) + 1)
        order_m = part.sort_values(["pct_male", "wnid"], ascending=[False, True])
        part.loc[order_m.index, "rank_male"] = np.arange(1, len(part) + 1)
        parts.append(part)
    expected = pd.concat(parts)[
        [
            "annotator",
            "dataset",
            "wnid",
            "n_images",
            "n_images_with_faces",
            "n_faces",
            "n_women",
            "n_men",
            "pct_female",
            "pct_male",
            "rank_female",
            "rank_male",
        ]
    ]
    actual = mart(warehouse, "synset_gender_rank")
    compare(actual, expected, ["annotator", "dataset", "wnid"])
    assert len(actual) >= 4 and len(actual) < len(census[census.split == "train"]), "the filters bite"


def test_class_minors(raw, warehouse):
    processed = winning(raw, "faces").groupby(CLASS).size().rename("n_images").reset_index()
    faces = kept_faces(raw)
    children = set(read_seed("child_classes").wnid)
    rows = []
    for key, part in faces.groupby(CLASS):
        minors = part[part.age < MINOR_AGE]
        infants = part[part.age < INFANT_AGE]
        rows.append(
            dict(
                zip(CLASS, key, strict=True),
                n_faces=len(part),
                n_faces_with_age=int(part.age.notna().sum()),
                n_minors=len(minors),
                n_infants=len(infants),
                share_minors=len(minors) / len(part),
                share_infants=len(infants) / len(part),
                n_images_with_minors=minors.image_id.nunique(),
                n_images_with_infants=infants.image_id.nunique(),
            )
        )
    expected = processed.merge(pd.DataFrame(rows), on=CLASS, how="left")
    counts = ["n_faces", "n_faces_with_age", "n_minors", "n_infants", "n_images_with_minors", "n_images_with_infants"]
    for col in counts:
        expected[col] = expected[col].fillna(0).astype(int)
    expected["share_images_with_minors"] = expected.n_images_with_minors / expected.n_images
    expected["is_paper_child_class"] = expected.wnid.isin(children)
    actual = mart(warehouse, "class_minors")
    compare(actual, expected, CLASS)
    assert actual.n_infants.sum() > 0 and actual.is_paper_child_class.any()


def test_annotator_agreement(raw, warehouse):
    census = ref_class_census(raw)
    a = census[census.annotator == FACES_A]
    b = census[census.annotator == FACES_B]
    both = a.merge(b, on=["dataset", "wnid", "split"], suffixes=("_a", "_b"))
    rows = []
    for (dataset, split), part in both.groupby(["dataset", "split"]):
        row = {"annotator_a": FACES_A, "annotator_b": FACES_B, "dataset": dataset, "split": split,
               "n_classes": len(part)}
        for metric in ["eta", "gender_skewness", "mean_age"]:
            pair = part[[f"{metric}_a", f"{metric}_b"]].astype(float).dropna()
            if metric != "eta":
                row[f"n_classes_{metric}"] = len(pair)
            r = None
            if len(pair) >= 2 and pair.iloc[:, 0].nunique() > 1 and pair.iloc[:, 1].nunique() > 1:
                r = float(stats.pearsonr(pair.iloc[:, 0], pair.iloc[:, 1]).statistic)
            row[f"pearson_{metric}"] = r
        rows.append(row)
    actual = mart(warehouse, "annotator_agreement")
    compare(actual, pd.DataFrame(rows), ["annotator_a", "annotator_b", "dataset", "split"])
    assert set(actual.dataset) == {"imagenet", SHARED}
    assert actual.pearson_eta.notna().all() and actual.pearson_gender_skewness.notna().any()


# ---------------------------------------------------------------- NSFW marts


def ref_class_nsfw(raw) -> pd.DataFrame:
    nsfw = winning(raw, "nsfw").merge(raw["nsfw"], on=["run_id", "image_id"], how="left")
    g = nsfw.groupby(CLASS)
    return pd.DataFrame(
        {
            "n_images": g.size(),
            "n_scored": g.nsfw_score.count(),
            "mean_nsfw": g.nsfw_score.mean(),
            "std_nsfw": g.nsfw_score.std(),
            "std_nsfw_pop": g.nsfw_score.std(ddof=0),
        }
    ).reset_index()


def test_class_nsfw(raw, warehouse):
    compare(mart(warehouse, "class_nsfw"), ref_class_nsfw(raw), CLASS)


def test_nsfw_clusters(raw, warehouse):
    nsfw = ref_class_nsfw(raw)
    nsfw = nsfw[(nsfw.split == "train") & nsfw.mean_nsfw.notna()]
    census = ref_class_census(raw)
    census = census[census.split == "train"]
    frames = []
    for (face_annotator, dataset), faces in census.groupby(["annotator", "dataset"]):
        # every class with an NSFW score, faces or not: a class below the face minimum sits at the
        # gender axis' mean (z = 0 after standardising the classes that have one)
        classes = nsfw[nsfw.dataset == dataset].merge(faces, on=["dataset", "wnid"], suffixes=("", "_faces"),
                                                      how="left")
        classes = classes.sort_values("wnid").reset_index(drop=True)
        if classes.empty:
            continue
        classes["n_faces"] = classes.n_faces.fillna(0).astype(int)
        gender = classes.mean_gender.where(classes.n_faces >= NSFW_MIN_FACES)
        known = gender.notna().to_numpy()
        features = np.zeros((len(classes), 2))
        features[:, 0] = StandardScaler().fit_transform(classes[["mean_nsfw"]].to_numpy(dtype=float))[:, 0]
        if known.any():
            features[known, 1] = StandardScaler().fit_transform(gender[known].to_numpy(dtype=float)[:, None])[:, 0]
        ap = AffinityPropagation(damping=NSFW_DAMPING, random_state=NSFW_SEED, max_iter=1000)
        labels = ap.fit(features).labels_
        classes["cluster_id"] = labels
        means = classes.groupby("cluster_id").mean_nsfw.mean()
        classes["cluster_mean_nsfw"] = classes.cluster_id.map(means)
        classes["is_review_shortlist"] = classes.cluster_id == means.idxmax()
        classes["n_clusters"] = len(means)
        classes["nsfw_annotator"] = NSFW
        classes["face_annotator"] = face_annotator
        frames.append(classes)
    expected = pd.concat(frames)[
        [
            "nsfw_annotator",
            "face_annotator",
            "dataset",
            "wnid",
            "cluster_id",
            "is_review_shortlist",
            "mean_nsfw",
            "mean_gender",
            "mean_age",
            "n_images",
            "n_faces",
            "cluster_mean_nsfw",
            "n_clusters",
        ]
    ]
    actual = mart(warehouse, "nsfw_clusters")
    compare(actual, expected, ["nsfw_annotator", "face_annotator", "dataset", "wnid"])
    assert (actual.cluster_id >= 0).all() and actual[actual.dataset == "imagenet"].n_clusters.min() >= 2


def test_nsfw_cluster_features_are_standardised():
    """Hand-computed z-scores (population std): a column 0, 2 becomes -1, 1; 10, 30, 50
    becomes -sqrt(1.5), 0, sqrt(1.5); a constant column becomes zeros. So the clusters do not
    change when age is in months instead of years: no feature wins by its unit."""
    clusters = load_python_model("nsfw/nsfw_clusters.py")
    assert np.allclose(clusters.standardise(np.array([[0.0, 5.0], [2.0, 5.0]])), [[-1, 0], [1, 0]])
    assert np.allclose(clusters.standardise(np.array([[10.0], [30.0], [50.0]]))[:, 0],
                       [-math.sqrt(1.5), 0, math.sqrt(1.5)])
    rng = np.random.default_rng(3)
    features = np.column_stack([rng.uniform(0, 1, 30), rng.uniform(0, 1, 30), rng.uniform(1, 80, 30)])
    in_months = features * [1, 1, 12]
    labels = clusters.cluster_labels(clusters.standardise(features), NSFW_DAMPING, NSFW_SEED)
    assert (labels == clusters.cluster_labels(clusters.standardise(in_months), NSFW_DAMPING, NSFW_SEED)).all()
    assert len(set(labels)) >= 2


def test_nsfw_clusters_above_the_class_cap_fit_a_sample_and_place_every_class():
    """Beyond max_classes (ImageNet-21k's 21,843 would cost hours), the clustering is fitted on
    a seeded sample and every class gets its nearest exemplar's cluster; at or under the cap
    nothing changes."""
    clusters = load_python_model("nsfw/nsfw_clusters.py")
    rng = np.random.default_rng(5)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    features = np.vstack([c + rng.normal(0, 0.5, (200, 2)) for c in centres])
    full = clusters.cluster_labels(features, NSFW_DAMPING, NSFW_SEED)
    assert (clusters.cluster_labels(features, NSFW_DAMPING, NSFW_SEED, max_classes=600) == full).all()
    capped = clusters.cluster_labels(features, NSFW_DAMPING, NSFW_SEED, max_classes=90)
    assert len(capped) == 600 and (capped >= 0).all()
    again = clusters.cluster_labels(features, NSFW_DAMPING, NSFW_SEED, max_classes=90)
    assert (capped == again).all()  # seeded
    for group in range(3):  # each blob's classes share clusters with no other blob
        mine = set(capped[group * 200:(group + 1) * 200])
        others = set(np.delete(capped, np.s_[group * 200:(group + 1) * 200]))
        assert not mine & others


def test_hand_survey_check(raw, warehouse):
    survey = read_seed("hand_survey_2020")
    survey["mean_nsfw_train"] = survey.mean_nsfw_train.astype(float)
    nsfw = ref_class_nsfw(raw)
    train = nsfw[nsfw.split == "train"][["annotator", "dataset", "wnid", "n_images", "mean_nsfw"]]
    rows = []
    for dataset, (wnid, part) in ((d, w) for d in sorted(set(nsfw.dataset)) for w in survey.groupby("wnid")):
        row = train[(train.dataset == dataset) & (train.wnid == wnid)]
        ours = float(row.mean_nsfw.iloc[0]) if len(row) else None
        paper = float(part.mean_nsfw_train.iloc[0])
        rows.append(
            {
                "annotator": NSFW,
                "dataset": dataset,
                "wnid": wnid,
                "label": part.label.iloc[0],
                "n_hand_labelled": len(part),
                "n_beach_voyeur": int((part.category == "beach_voyeur").sum()),
                "n_exposed_private_parts": int((part.category == "exposed_private_parts").sum()),
                "n_upskirt": int((part.category == "upskirt").sum()),
                "n_verifiably_pornographic": int((part.category == "verifiably_pornographic").sum()),
                "paper_mean_nsfw_train": paper,
                "mean_nsfw_train": ours,
                "n_images_train": int(row.n_images.iloc[0]) if len(row) else None,
                "diff_mean_nsfw_train": None if ours is None else ours - paper,
            }
        )
    actual = mart(warehouse, "hand_survey_check")
    compare(actual, pd.DataFrame(rows), ["annotator", "dataset", "wnid"])
    # bikini and maillot are in "imagenet", bikini in the shared copy, never pooled
    assert actual.mean_nsfw_train.notna().sum() == 3
    # the row the text of Table 6 lost: 6 maillot/tank suit images, 1 verifiably pornographic
    tank_suit = actual[actual.wnid == "n03710721"]
    assert set(tank_suit.n_hand_labelled) == {6} and set(tank_suit.n_verifiably_pornographic) == {1}


# ---------------------------------------------------------------- accuracy marts


def ref_class_accuracy(raw) -> pd.DataFrame:
    results = winning(raw, "classify")
    preds = raw["predictions"].merge(results[["run_id", "image_id", "wnid"]], on=["run_id", "image_id"])
    hits = preds[preds.wnid_x == preds.wnid_y].groupby(["run_id", "image_id"])["rank"].min().rename("label_rank")
    results = results.merge(hits.reset_index(), on=["run_id", "image_id"], how="left")
    results["top1"] = (results.label_rank == 1).astype(float)
    results["top5"] = (results.label_rank <= 5).astype(float)
    g = results.groupby(CLASS)
    return pd.DataFrame({"n_images": g.size(), "top1": g.top1.mean(), "top5": g.top5.mean()}).reset_index()


def test_class_accuracy(raw, warehouse):
    actual = mart(warehouse, "class_accuracy")
    compare(actual, ref_class_accuracy(raw), CLASS)
    assert set(actual.annotator) == {CLF_A, CLF_B}


def ref_class_human_delta(raw) -> pd.DataFrame:
    census = ref_class_census(raw)
    train = census[census.split == "train"].set_index(["annotator", "dataset", "wnid"])
    val = census[census.split == "val"].set_index(["annotator", "dataset", "wnid"])
    index = train.index.union(val.index)
    out = pd.DataFrame(index=index).reset_index()
    out["n_images_train"] = train.n_images.reindex(index).to_numpy()
    out["n_images_val"] = val.n_images.reindex(index).to_numpy()
    out["persons_train"] = train.n_faces.reindex(index).to_numpy()
    out["persons_val"] = val.n_faces.reindex(index).to_numpy()
    out["human_delta"] = [
        None if pd.isna(t) or pd.isna(v) or v == 0 else t / v
        for t, v in zip(out.persons_train, out.persons_val, strict=True)
    ]
    out["human_delta"] = out.human_delta.astype(float)
    out["rank_human_delta"] = np.nan
    for _, part in out[out.human_delta.notna()].groupby(["annotator", "dataset"]):
        order = part.sort_values(["human_delta", "wnid"], ascending=[False, True]).index
        out.loc[order, "rank_human_delta"] = np.arange(1, len(order) + 1)
    out["is_top_k"] = out.rank_human_delta <= TOP_K
    return out


def test_class_human_delta(raw, warehouse):
    actual = mart(warehouse, "class_human_delta")
    expected = ref_class_human_delta(raw)
    compare(actual, expected, ["annotator", "dataset", "wnid"])
    with_delta = expected[expected.human_delta.notna()].groupby(["annotator", "dataset"]).size()
    assert actual.human_delta.isna().any() and actual.is_top_k.sum() == with_delta.clip(upper=TOP_K).sum()
    assert (with_delta > TOP_K).sum() >= 2


def ref_welch(top: np.ndarray, rest: np.ndarray) -> tuple:
    """scipy's Welch test; all three NULL with a group below two or a non-finite t."""
    if len(top) < 2 or len(rest) < 2:
        return None, None, None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(top, rest, equal_var=False)
    values = (float(res.statistic), float(res.df), float(res.pvalue))
    return values if all(math.isfinite(v) for v in values) else (None, None, None)


def test_human_delta_ttest(raw, warehouse):
    """The top-k human-delta classes against the GENERAL POPULATION (Appendix B.6): every
    other class of the dataset with a val top-5 accuracy, with or without val persons."""
    deltas = ref_class_human_delta(raw)
    accuracy = ref_class_accuracy(raw)
    accuracy = accuracy[accuracy.split == "val"]
    rows, rest_without_val_persons = [], 0
    for (classifier, dataset), acc in accuracy.groupby(["annotator", "dataset"]):
        population = acc.set_index("wnid").top5
        in_dataset = deltas[(deltas.dataset == dataset) & deltas.human_delta.notna()]
        for face_annotator, part in in_dataset.groupby("annotator"):
            ranked = part.sort_values(["human_delta", "wnid"], ascending=[False, True])
            top_wnids = set(ranked.wnid[:TOP_K])
            top = population[population.index.isin(top_wnids)].sort_index()
            rest = population[~population.index.isin(top_wnids)]
            with_delta = set(part.wnid)
            rest_without_val_persons += sum(w not in with_delta for w in rest.index)
            t_stat, dof, p_value = ref_welch(top.to_numpy(), rest.to_numpy())
            rows.append(
                {
                    "classifier_annotator": classifier,
                    "face_annotator": face_annotator,
                    "dataset": dataset,
                    "top_k": TOP_K,
                    "n_top": len(top),
                    "n_rest": len(rest),
                    "mean_top": top.mean() if len(top) else None,
                    "mean_rest": rest.mean() if len(rest) else None,
                    "t_statistic": t_stat,
                    "dof": dof,
                    "p_value": p_value,
                    "top_wnids": ",".join(top.index),
                }
            )
    actual = mart(warehouse, "human_delta_ttest")
    compare(actual, pd.DataFrame(rows), ["classifier_annotator", "face_annotator", "dataset"])
    imagenet = actual[actual.dataset == "imagenet"]
    assert len(imagenet) == 4 and imagenet.p_value.notna().all()
    # the rest includes classes with no val person (no human delta): the general population
    assert rest_without_val_persons > 0
    # never half a row: the three statistics are NULL together
    assert (actual.t_statistic.isna() == actual.dof.isna()).all()
    assert (actual.t_statistic.isna() == actual.p_value.isna()).all()


def test_welch_by_hand_and_all_or_nothing():
    """Hand-computed Welch test of the model's own function: top .5, .7 (mean .6, var .02),
    rest .6, .8, 1.0 (mean .8, var .04): se^2 = .02/2 + .04/3 = .07/3, t = -.2 / sqrt(.07/3),
    dof = (.07/3)^2 / (.01^2 / 1 + (.04/3)^2 / 2) = 49/17. Two constant groups give an
    infinite t: then t, dof and p are all NULL."""
    welch = load_python_model("accuracy/human_delta_ttest.py").welch
    t_stat, dof, p_value = welch(np.array([0.5, 0.7]), np.array([0.6, 0.8, 1.0]))
    assert math.isclose(t_stat, -0.2 / math.sqrt(0.07 / 3), rel_tol=1e-12)
    assert math.isclose(dof, 49 / 17, rel_tol=1e-12)
    assert 0.2 < p_value < 0.35
    assert welch(np.array([1.0, 1.0]), np.array([0.5, 0.5, 0.5])) == (None, None, None)
    assert welch(np.array([1.0]), np.array([0.5, 0.6])) == (None, None, None)


def load_python_model(relative: str):
    """A dbt Python model's module (models/marts/<relative>), to test its functions."""
    import importlib.util

    path = Path(__file__).resolve().parents[3] / "models" / "marts" / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- co-occurrence marts


def test_dog_group_gender(raw, warehouse):
    census = ref_class_census(raw)
    dogs = read_seed("akc_dog_groups")
    train = census[(census.split == "train") & (census.n_faces > 0)].merge(dogs[["wnid", "akc_group"]], on="wnid")
    rows = []
    for (annotator, dataset, group), part in train.groupby(["annotator", "dataset", "akc_group"]):
        women, men = int(part.n_women.sum()), int(part.n_men.sum())
        rows.append(
            {
                "annotator": annotator,
                "dataset": dataset,
                "grouping": "akc",  # the default var dog_grouping
                "akc_group": group,
                "n_classes": len(part),
                "n_faces": int(part.n_faces.sum()),
                "n_women": women,
                "n_men": men,
                "pct_female": 100 * women / (women + men),
                "mean_class_mean_gender": part.mean_gender.mean(),
                "median_class_mean_gender": part.mean_gender.median(),
                "std_class_mean_gender": part.mean_gender.std(),
                "min_class_mean_gender": part.mean_gender.min(),
                "max_class_mean_gender": part.mean_gender.max(),
            }
        )
    actual = mart(warehouse, "dog_group_gender")
    compare(actual, pd.DataFrame(rows), ["annotator", "dataset", "akc_group"])
    assert len(actual) >= 4 and SHARED in set(actual.dataset)


def test_instrument_gender_skew(raw, warehouse):
    """By default only the paper's 16 instruments (seed in_paper): the shared dataset's
    bassoon class has faces but is not reported."""
    census = ref_class_census(raw)
    instruments = read_seed("instrument_stereotypes")
    instruments["in_paper"] = instruments.in_paper == "true"
    expected = census[census.split == "train"].merge(instruments[instruments.in_paper], on="wnid")[
        [
            "annotator",
            "dataset",
            "wnid",
            "label",
            "stereotype",
            "in_paper",
            "n_images",
            "n_faces",
            "gender_skewness",
            "mean_gender",
            "n_women",
            "n_men",
        ]
    ]
    actual = mart(warehouse, "instrument_gender_skew")
    compare(actual, expected, ["annotator", "dataset", "wnid"])
    assert len(actual) == 10
    assert BASSOON in set(census.wnid) and BASSOON not in set(actual.wnid)


# ---------------------------------------------------------------- coverage, summary and card


def ref_annotator_coverage(raw) -> pd.DataFrame:
    """Per annotator, stage and dataset: images ever ok, images never ok, and the result rows
    of the winning runs."""
    attempts = raw["image_runs"].merge(raw["runs"][["run_id", "annotator", "stage"]], on="run_id")
    attempts = attempts.merge(raw["images"][["image_id", "dataset"]], on="image_id")
    ever_ok = attempts.groupby(["annotator", "stage", "dataset", "image_id"]).status.apply(lambda s: (s == "ok").any())
    ever_ok = ever_ok.rename("ok").reset_index()
    table_of = {"faces": "faces", "nsfw": "nsfw", "classify": "predictions"}
    result_rows = []
    for stage, table in table_of.items():
        win = winning(raw, stage)
        rows = win.merge(raw[table][["run_id", "image_id"]], on=["run_id", "image_id"])
        result_rows.append(rows.groupby(["annotator", "dataset"]).size().rename("n_result_rows").reset_index()
                           .assign(stage=stage))
    result_rows = pd.concat(result_rows)
    g = ever_ok.groupby(["annotator", "stage", "dataset"]).ok
    expected = pd.DataFrame({"n_images_ok": g.sum(), "n_images_error": g.apply(lambda s: int((~s).sum()))})
    expected = expected.reset_index().merge(result_rows, on=["annotator", "stage", "dataset"], how="left")
    expected["n_result_rows"] = expected.n_result_rows.fillna(0).astype(int)
    return expected


def test_annotator_coverage(raw, warehouse):
    actual = mart(warehouse, "annotator_coverage")
    compare(actual, ref_annotator_coverage(raw), ["annotator", "stage", "dataset"])
    # the shared dataset's retried image counts once, as ok; the image that always failed is the one error
    row = actual[(actual.annotator == FACES_A) & (actual.dataset == SHARED)].iloc[0]
    n_shared = int((raw["images"].dataset == SHARED).sum())
    assert (row.n_images_ok, row.n_images_error) == (n_shared - 1, 1)


def test_summary_reads_coverage_from_the_marts(raw, warehouse, tmp_path):
    from rich.console import Console

    from ingest.outputs.summary import BUILD_HINT, print_summary

    console = Console(record=True, width=250)
    print_summary(console, warehouse, dataset=SHARED)  # three datasets: the summary describes one
    text = console.export_text()
    coverage = mart(warehouse, "annotator_coverage")
    row = coverage[(coverage.annotator == FACES_A) & (coverage.dataset == SHARED)].iloc[0]
    line = next(line for line in text.splitlines() if FACES_A in line and SHARED in line and "faces" in line)
    cells = [cell.strip() for cell in line.split("│") if cell.strip()]
    assert cells == ["faces", FACES_A, SHARED, f"{row.n_images_ok:,}", f"{row.n_images_error:,}",
                     f"{row.n_result_rows:,}"]
    assert BUILD_HINT not in text
    # the raw tables alone: the raw row counts, and one line saying how to get the rest
    bare = tmp_path / "bare.duckdb"
    write_raw(bare, raw)
    console = Console(record=True, width=250)
    print_summary(console, bare)
    text = console.export_text()
    assert "raw rows:" in text and f"per annotator: images processed: {BUILD_HINT}." in text
    assert FACES_A not in text


def test_audit_card_is_built_from_the_marts(raw, warehouse):
    from ingest.outputs.card import CAVEAT, build_card

    text = build_card(warehouse, dataset=SHARED)  # three datasets: the card describes one
    assert CAVEAT in text
    overview = mart(warehouse, "census_overview")
    first = overview[overview.dataset == SHARED].sort_values(["annotator", "dataset", "split"]).iloc[0]
    assert f"| {first.annotator} | {first.dataset} | {first.split} | {int(first.n_images):,} |" in text
    assert "## Do two face models agree?" in text and FACES_A in text and FACES_B in text
    assert "Only one face model has been run." not in text
    coverage = mart(warehouse, "annotator_coverage")
    row = coverage[(coverage.annotator == FACES_A) & (coverage.dataset == SHARED)].iloc[0]
    assert f"| {SHARED} | faces | {FACES_A} | {row.n_images_ok:,} | {row.n_images_error:,} |" in text


# ---------------------------------------------------------------- an empty warehouse


def test_build_on_empty_warehouse(tmp_path):
    db = tmp_path / "empty.duckdb"
    write_raw(db, None)
    result = dbt_build(db, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:]
    con = duckdb.connect(str(db), read_only=True)
    try:
        for name in ["class_census", "human_delta_ttest", "nsfw_clusters", "annotator_agreement", "annotator_coverage",
                     "demographics"]:
            assert con.execute(f"select count(*) from main.{name}").fetchone()[0] == 0
    finally:
        con.close()


# ---------------------------------------------------------------- contracts: rules the warehouse enforces


def _build_artifact(warehouse: Path, name: str) -> dict:
    """manifest or run_results of the fixture's dbt build."""
    return json.loads((warehouse.parent / "target" / f"{name}.json").read_text())


def _table_models(warehouse: Path) -> list[dict]:
    manifest = _build_artifact(warehouse, "manifest")
    return [node for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["language"] == "sql"
            and (node["config"]["materialized"] == "table"
                 or node["config"]["materialized"] == "incremental" and node["contract"]["enforced"])]


def test_every_sql_table_carries_its_contract_in_the_warehouse(warehouse):
    """Each SQL table model (and each per-image incremental one) enforces its contract, and
    every not_null / check constraint of it is a constraint of the built table: DuckDB refuses
    such a row when dbt writes it, so no data test re-reads it."""
    models = _table_models(warehouse)
    assert models and all(node["contract"]["enforced"] for node in models), \
        [node["name"] for node in models if not node["contract"]["enforced"]]
    built = query(warehouse, "select schema_name, table_name, constraint_type, constraint_column_names "
                             "from duckdb_constraints() where constraint_type in ('NOT NULL', 'CHECK')")
    for node in models:
        table = built[(built.schema_name == node["schema"]) & (built.table_name == node["alias"])]
        not_null = {tuple(columns)[0] for columns in table[table.constraint_type == "NOT NULL"].constraint_column_names}
        declared = {name for name, column in node["columns"].items()
                    if any(c["type"] == "not_null" for c in column["constraints"])}
        checks = sorted(name for name, column in node["columns"].items()
                        for c in column["constraints"] if c["type"] == "check")
        built_checks = sorted(name for columns in table[table.constraint_type == "CHECK"].constraint_column_names
                              for name in set(columns))  # a column is listed once per mention
        assert declared == not_null, node["name"]
        assert built_checks == checks, node["name"]  # one CHECK per declared check, on its column


def test_a_contracted_mart_refuses_a_null_and_an_out_of_range_value(warehouse, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        row = con.execute("select * from main.class_census limit 1").df()
        con.register("row", row)
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
            con.execute("insert into main.class_census select * replace (cast(null as varchar) as annotator) from row")
        with pytest.raises(duckdb.ConstraintException, match="CHECK"):
            con.execute("insert into main.class_census select * replace (-1 as n_faces) from row")
    finally:
        con.close()


def test_a_plain_build_checks_the_data_not_the_code(warehouse):
    """The default selector (selectors.yml) builds every seed and model and runs every data test
    that reads the warehouse, mixed ones (a mart's column against a seed) included, but neither
    unit tests nor the tests whose every parent is a shipped seed: those check code and CSVs, and
    `make test` runs them."""
    manifest = _build_artifact(warehouse, "manifest")
    ran = {result["unique_id"] for result in _build_artifact(warehouse, "run_results")["results"]}
    seeds = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "seed"}
    tests = {uid: set(node["depends_on"]["nodes"]) for uid, node in manifest["nodes"].items()
             if node["resource_type"] == "test"}
    seed_only = {uid for uid, parents in tests.items() if parents and parents <= seeds}
    assert seeds <= ran and "test.census.assert_seeds_match_the_papers" in seed_only
    assert any(parents & seeds for uid, parents in tests.items() if uid not in seed_only)
    assert not ran & seed_only
    assert set(tests) - seed_only <= ran
    assert not {uid for uid in ran if uid.startswith("unit_test.")}
    assert {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"} <= ran
