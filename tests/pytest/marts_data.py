"""Raw rows with a known structure for the mart tests, and a dbt runner.

The rows exercise what the marts must get right: two face annotators (one resumed in a
second run that overlaps and partly fails, one sharded with two runs started at the same
instant so that run_id breaks the tie), one NSFW model, two classifiers, `error` rows,
faces below and exactly at the detector threshold, classes with zero faces, one face and
a constant gender, train and val splits, a second, non-ImageNet dataset, and a third dataset
(SHARED) whose wnids and splits are also ImageNet's: class-level marts must keep it apart.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from ingest.core.config import FACE_MIN_SCORE, SCHEMA_SQL, dbt_env  # noqa: F401 (FACE_MIN_SCORE: for test_marts)
from ingest.outputs.marts import dbt_executable

REPO = Path(__file__).resolve().parents[2]
# dbt's seed folders (dbt_project.yml seed-paths): seeds/ and the package's data folder
SEED_PATHS = [REPO / folder for folder in yaml.safe_load((REPO / "dbt_project.yml").read_text())["seed-paths"]]

FACES_A = "test/faces-a"
FACES_B = "test/faces-b"
NSFW = "test/nsfw"
CLF_A = "test/classifier-a"
CLF_B = "test/classifier-b"
#: a second ImageNet-like dataset sharing wnids and splits with "imagenet"
SHARED = "imagenet-copy"
BASSOON = "n02804610"  # an instrument class outside the paper's 16 (seed in_paper false)

# dbt vars for the test build: small thresholds so the small data set exercises the filters.
TEST_VARS = {"human_delta_top_k": 3, "synset_min_images": 8}
SYNSET_MIN_FACE_SHARE = 0.15
MINOR_AGE = 18
INFANT_AGE = 5
NSFW_DAMPING = 0.9
NSFW_SEED = 0
NSFW_MIN_FACES = 1


def read_seed(name: str) -> pd.DataFrame:
    path = next(p for folder in SEED_PATHS if (p := folder / f"{name}.csv").is_file())
    with path.open(newline="") as handle:
        return pd.DataFrame(list(csv.DictReader(handle)))


def image_id(dataset: str, rel_path: str) -> str:
    import hashlib

    return hashlib.sha256(f"{dataset}/{rel_path}".encode()).hexdigest()[:16]


def pick_classes() -> dict[str, list[str]]:
    dogs = read_seed("akc_dog_groups")
    instruments = read_seed("instrument_stereotypes")
    imagenet = read_seed("imagenet_classes")
    dog_wnids = []
    for group in ["Toy", "Hound", "Working"]:
        dog_wnids += list(dogs.loc[dogs.akc_group == group, "wnid"].iloc[:2])
    instrument_wnids = list(instruments.loc[instruments.stereotype == "feminine", "wnid"].iloc[:2]) + list(
        instruments.loc[instruments.stereotype == "masculine", "wnid"].iloc[:2]
    )
    special = ["n02837789", "n03710637", "n02804414"]  # bikini, maillot (hand survey), bassinet (child)
    taken = set(dog_wnids + instrument_wnids + special)
    others = [w for w in imagenet.wnid if w not in taken][:9]
    return {"dogs": dog_wnids, "instruments": instrument_wnids, "special": special, "others": others}


def build_raw(seed: int = 7) -> dict[str, pd.DataFrame]:
    """Raw rows as DataFrames, one per raw table."""
    rng = np.random.default_rng(seed)
    groups = pick_classes()
    wnids = groups["dogs"] + groups["instruments"] + groups["special"] + groups["others"]
    zero_face_class = groups["others"][0]
    one_face_class = groups["others"][1]
    constant_gender_class = groups["others"][2]

    images = []
    for _ci, wnid in enumerate(wnids):
        n_train = int(rng.integers(6, 22))
        n_val = int(rng.integers(2, 7))
        for split, n in (("train", n_train), ("val", n_val)):
            for i in range(n):
                rel = f"{split}/{wnid}/{wnid}_{i}.JPEG"
                images.append(("imagenet", split, wnid, rel))
    for i in range(12):  # a non-ImageNet dataset with its own labels
        label = ["cat", "dog"][i % 2]
        images.append(("pets", "train" if i < 8 else "val", label, f"{label}/{i}.jpg"))
    images = pd.DataFrame(images, columns=["dataset", "split", "wnid", "rel_path"])
    images["image_id"] = [image_id(d, r) for d, r in zip(images.dataset, images.rel_path, strict=True)]
    images["file_bytes"] = rng.integers(1000, 100000, len(images))

    runs = pd.DataFrame(
        [
            ("run-fa-1", "faces", FACES_A, "imagenet", "2024-01-01 10:00:00", "complete"),
            ("run-fa-2", "faces", FACES_A, "imagenet", "2024-02-01 10:00:00", "running"),  # resumed, interrupted
            ("run-fa-pets", "faces", FACES_A, "pets", "2024-01-05 10:00:00", "complete"),
            ("run-fb-1", "faces", FACES_B, "imagenet", "2024-01-03 10:00:00", "complete"),
            ("run-fb-2", "faces", FACES_B, "imagenet", "2024-01-03 10:00:00", "complete"),  # same start: run_id wins
            ("run-nsfw", "nsfw", NSFW, "imagenet", "2024-01-02 10:00:00", "complete"),
            ("run-clf-a", "classify", CLF_A, "imagenet", "2024-01-02 11:00:00", "complete"),
            ("run-clf-b", "classify", CLF_B, "imagenet", "2024-01-02 12:00:00", "failed"),
        ],
        columns=["run_id", "stage", "annotator", "dataset", "started_at", "status"],
    )
    runs["started_at"] = pd.to_datetime(runs["started_at"])

    imagenet = images[images.dataset == "imagenet"].reset_index(drop=True)
    pets = images[images.dataset == "pets"].reset_index(drop=True)
    n = len(imagenet)
    image_runs = []

    def add_runs(run_id: str, ids, error_share: float) -> None:
        for iid in ids:
            status = "error" if rng.random() < error_share else "ok"
            image_runs.append((run_id, iid, status, "boom" if status == "error" else None))

    add_runs("run-fa-1", imagenet.image_id, 0.05)
    overlap = imagenet.image_id[rng.random(n) < 0.35]
    add_runs("run-fa-2", overlap, 0.2)
    add_runs("run-fa-pets", pets.image_id, 0.0)
    shard = rng.random(n) < 0.5
    add_runs("run-fb-1", imagenet.image_id[shard | (rng.random(n) < 0.1)], 0.05)
    add_runs("run-fb-2", imagenet.image_id[~shard], 0.05)
    add_runs("run-nsfw", imagenet.image_id, 0.05)
    add_runs("run-clf-a", imagenet.image_id, 0.05)
    add_runs("run-clf-b", imagenet.image_id[rng.random(n) < 0.9], 0.05)
    image_runs = pd.DataFrame(image_runs, columns=["run_id", "image_id", "status", "error"])
    # An image that errors in every face run is not processed by the face annotators.
    lost = imagenet.image_id.iloc[3]
    image_runs.loc[(image_runs.image_id == lost) & image_runs.run_id.str.startswith("run-f"), "status"] = "error"

    wnid_of = dict(zip(images.image_id, images.wnid, strict=True))
    class_gender = {w: rng.uniform(0.15, 0.85) for w in wnids + ["cat", "dog"]}
    class_face_p = {w: rng.uniform(0.2, 0.9) for w in wnids + ["cat", "dog"]}
    faces = []
    for run_id, iid, status in image_runs[["run_id", "image_id", "status"]].itertuples(index=False):
        if status != "ok" or not run_id.startswith("run-f"):
            continue
        wnid = wnid_of[iid]
        if wnid == zero_face_class:
            n_faces = int(rng.integers(0, 2))  # faces below the threshold only
            scores = rng.uniform(0.3, 0.89, n_faces)
        else:
            n_faces = int(rng.integers(1, 4)) if rng.random() < class_face_p[wnid] else 0
            scores = rng.choice([0.9, 0.95, 0.99, 0.5, 0.8, 1.0], n_faces)
        for idx in range(n_faces):
            gender = float(np.clip(class_gender[wnid] + rng.normal(0, 0.25), 0, 1))
            if wnid == constant_gender_class:
                gender = 0.3
            faces.append((run_id, iid, idx, float(scores[idx]), float(rng.uniform(0.5, 85)), gender))
    faces = pd.DataFrame(faces, columns=["run_id", "image_id", "face_idx", "det_score", "age", "gender_score"])
    # The one-face class: exactly one kept face per (annotator, split) run result.
    one = faces.image_id.map(wnid_of) == one_face_class
    faces = faces[~one | (faces.face_idx == 0)].copy()
    one_ids = faces.loc[faces.image_id.map(wnid_of) == one_face_class].groupby("run_id").head(1).index
    faces.loc[(faces.image_id.map(wnid_of) == one_face_class) & ~faces.index.isin(one_ids), "det_score"] = 0.5
    faces.loc[one_ids, "det_score"] = 0.97
    faces = faces.reset_index(drop=True)

    nsfw = image_runs[(image_runs.run_id == "run-nsfw") & (image_runs.status == "ok")][["run_id", "image_id"]].copy()
    nsfw_level = {w: rng.uniform(0.01, 0.9) for w in wnids}
    nsfw["nsfw_score"] = [float(rng.random() ** (1 / nsfw_level[wnid_of[i]] - 1)) for i in nsfw.image_id]
    nsfw.loc[nsfw.index[::17], "nsfw_score"] = np.nan  # a few unscored images
    nsfw = nsfw.reset_index(drop=True)

    predictions = []
    for run_id in ("run-clf-a", "run-clf-b"):
        ok = image_runs[(image_runs.run_id == run_id) & (image_runs.status == "ok")].image_id
        for iid in ok:
            if rng.random() < 0.05:
                continue  # ok without predictions: a miss
            label = wnid_of[iid]
            others = [w for w in wnids if w != label]
            picks = list(rng.choice(others, 5, replace=False))
            u = rng.random()
            if u < 0.5:
                picks[0] = label
            elif u < 0.8:
                picks[int(rng.integers(1, 5))] = label
            for rank, wnid in enumerate(picks, start=1):
                predictions.append((run_id, iid, rank, wnid, 0.5 / rank))
    predictions = pd.DataFrame(predictions, columns=["run_id", "image_id", "rank", "wnid", "prob"])
    raw = {
        "runs": runs,
        "images": images,
        "image_runs": image_runs,
        "faces": faces,
        "nsfw": nsfw,
        "predictions": predictions,
    }
    return add_shared_dataset(raw, groups, seed)


def add_shared_dataset(raw: dict[str, pd.DataFrame], groups: dict[str, list[str]], seed: int) -> dict:
    """Rows of SHARED, a dataset with ImageNet's wnid and split names (its own random stream,
    so the rows above stay as they are): faces with a strongly male apparent gender (pooling
    with "imagenet" would move every class mean), an instrument outside the paper's 16, an
    image that fails in one face run and succeeds in a retry, and one that always fails."""
    rng = np.random.default_rng(seed + 1000)
    wnids = [groups["dogs"][0], groups["instruments"][0], groups["special"][0], groups["others"][3], BASSOON]
    images = []
    for wnid in wnids:
        for split, n in (("train", 9), ("val", 4)):
            images += [(SHARED, split, wnid, f"{split}/{wnid}/{wnid}_{i}.JPEG") for i in range(n)]
    images = pd.DataFrame(images, columns=["dataset", "split", "wnid", "rel_path"])
    images["image_id"] = [image_id(d, r) for d, r in zip(images.dataset, images.rel_path, strict=True)]
    images["file_bytes"] = rng.integers(1000, 100000, len(images))
    runs = pd.DataFrame(
        [
            ("run-fa-copy", "faces", FACES_A, SHARED, "2024-03-01 10:00:00", "complete"),
            ("run-fa-copy-retry", "faces", FACES_A, SHARED, "2024-03-02 10:00:00", "complete"),
            ("run-fb-copy", "faces", FACES_B, SHARED, "2024-03-01 11:00:00", "complete"),
            ("run-nsfw-copy", "nsfw", NSFW, SHARED, "2024-03-01 12:00:00", "complete"),
            ("run-clf-a-copy", "classify", CLF_A, SHARED, "2024-03-01 13:00:00", "complete"),
        ],
        columns=["run_id", "stage", "annotator", "dataset", "started_at", "status"],
    )
    runs["started_at"] = pd.to_datetime(runs["started_at"])
    ids = list(images.image_id)
    retried, failed = ids[0], ids[1]
    image_runs = [(run_id, iid, "ok", None) for run_id in ("run-fa-copy", "run-fb-copy", "run-nsfw-copy",
                                                            "run-clf-a-copy") for iid in ids]
    image_runs = [(r, i, "error" if r == "run-fa-copy" and i in (retried, failed) else s, e)
                  for r, i, s, e in image_runs]
    image_runs = [(r, i, s, "boom" if s == "error" else e) for r, i, s, e in image_runs]
    image_runs += [("run-fa-copy-retry", retried, "ok", None), ("run-fa-copy-retry", failed, "error", "boom")]
    image_runs = pd.DataFrame(image_runs, columns=["run_id", "image_id", "status", "error"])
    wnid_of = dict(zip(images.image_id, images.wnid, strict=True))
    faces = []
    for run_id, iid, status in image_runs[["run_id", "image_id", "status"]].itertuples(index=False):
        if status != "ok" or not run_id.startswith("run-f"):
            continue
        for idx in range(int(rng.integers(0, 3))):
            faces.append((run_id, iid, idx, float(rng.choice([0.5, 0.95, 0.99])), float(rng.uniform(1, 80)),
                          float(np.clip(0.85 + rng.normal(0, 0.1), 0, 1))))
    faces = pd.DataFrame(faces, columns=["run_id", "image_id", "face_idx", "det_score", "age", "gender_score"])
    nsfw = image_runs[image_runs.run_id == "run-nsfw-copy"][["run_id", "image_id"]].copy()
    nsfw["nsfw_score"] = rng.uniform(0.6, 1.0, len(nsfw))
    predictions = []
    for iid in image_runs[image_runs.run_id == "run-clf-a-copy"].image_id:
        label = wnid_of[iid]
        picks = list(rng.choice([w for w in wnids if w != label], 4, replace=False))
        picks.insert(0 if rng.random() < 0.7 else 4, label)
        predictions += [("run-clf-a-copy", iid, rank, w, 0.5 / rank) for rank, w in enumerate(picks, start=1)]
    predictions = pd.DataFrame(predictions, columns=["run_id", "image_id", "rank", "wnid", "prob"])
    extra = {"runs": runs, "images": images, "image_runs": image_runs, "faces": faces, "nsfw": nsfw,
             "predictions": predictions}
    return {name: pd.concat([frame, extra[name]], ignore_index=True) for name, frame in raw.items()}


def write_raw(db_path: Path, raw: dict[str, pd.DataFrame] | None) -> None:
    con = duckdb.connect(str(db_path))
    try:
        con.execute(SCHEMA_SQL.read_text())
        for table, frame in (raw or {}).items():
            con.register("frame", frame)
            columns = ", ".join(frame.columns)
            con.execute(f"insert into raw.{table} ({columns}) select {columns} from frame")
            con.unregister("frame")
    finally:
        con.close()


def dbt_command(verb: str, work: Path, *args: str, dbt_vars: dict | None = None) -> list[str]:
    """``dbt <verb>`` on this project with its target and log folders under ``work``, then ``args``."""
    command = [*dbt_executable(f"dbt {verb}"), verb, "--profiles-dir", str(REPO), "--project-dir", str(REPO),
               "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *args]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    return command


def run_dbt(db_path: Path, work: Path, verb: str, *args: str, dbt_vars: dict | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
    """One dbt command on that warehouse, its output captured (the caller checks returncode)."""
    return subprocess.run(dbt_command(verb, work, *args, dbt_vars=dbt_vars), cwd=REPO, env=dbt_env(db_path),
                          capture_output=True, text=True, timeout=timeout)


def dbt_build(db_path: Path, work: Path, dbt_vars: dict | None = None) -> subprocess.CompletedProcess:
    """``dbt build`` of the whole project (models, seeds, tests) on that warehouse."""
    return run_dbt(db_path, work, "build", dbt_vars=dbt_vars)


def query(db_path: Path, sql: str) -> pd.DataFrame:
    """A query's rows, on a read-only connection."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def read_mart(db_path: Path, name: str) -> pd.DataFrame:
    """Every row of a mart."""
    return query(db_path, f"select * from main.{name}")
