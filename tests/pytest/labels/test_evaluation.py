"""annotator_evaluation and corrected_face_share against hand-worked cases and an independent
implementation (brute-force matching over every one-to-one assignment) on random cases.

One dbt build of the two marts and their parents on a small warehouse: a hand-worked dataset
(two faces crossing, a box at IoU exactly 0.5, an image with no reference face, a predicted
face under the score threshold, a reference resumed in a later run, an image the detector
failed) and a random dataset with two detectors and a second reference with attributes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from marts_data import read_mart, run_dbt, write_raw

from ingest.core.config import FACE_MIN_SCORE

REPO = Path(__file__).resolve().parents[3]
TOL = 1e-9
Z = 1.959964
DET_A, DET_R1, DET_R2 = "test/det-a", "test/det-r1", "test/det-r2"
REF_HAND, REF_RAND = "reference/hand", "reference/rand"
AGE_EDGES = (15, 30, 45, 60)


def image_id(dataset: str, rel: str) -> str:
    return hashlib.sha256(f"{dataset}/{rel}".encode()).hexdigest()[:16]


# ---------------------------------------------------------------- the raw rows


def hand_rows() -> dict[str, list]:
    """The hand-worked dataset `hand` (expected values in test_hand_worked_cases)."""
    runs = [
        ("run-a", "faces", DET_A, "hand", "2024-01-01 10:00:00"),
        ("run-ref-old", "faces", REF_HAND, "hand", "2024-01-01 09:00:00"),
        ("run-ref", "faces", REF_HAND, "hand", "2024-01-02 09:00:00"),  # later: wins where ok
        ("run-r1-hand", "faces", DET_R1, "hand", "2024-01-01 10:00:00"),
    ]
    rels = ["cross.jpg", "half.jpg", "noref.jpg", "low.jpg", "unlabelled.jpg", "deterr.jpg"]
    images = [("hand", "val", "x", rel) for rel in rels]
    ok = {"run-a": ["cross.jpg", "half.jpg", "noref.jpg", "low.jpg", "unlabelled.jpg"],
          "run-ref-old": ["cross.jpg"],
          "run-ref": ["cross.jpg", "half.jpg", "noref.jpg", "low.jpg", "deterr.jpg"],
          "run-r1-hand": ["cross.jpg"]}
    image_runs = [(run, rel, "ok") for run, rel_list in ok.items() for rel in rel_list]
    image_runs.append(("run-a", "deterr.jpg", "error"))
    # (run, rel, face_idx, det_score, x1, y1, x2, y2, age, gender_score)
    faces = [
        # two faces crossing: greedy takes P0-R0 (0.905) and stops; the best total is R0-P1 + R1-P0
        ("run-ref", "cross.jpg", 0, 1.0, 5, 0, 15, 10, 20, 0.0),  # R0
        ("run-ref", "cross.jpg", 1, 1.0, 7, 0, 17, 10, 50, 1.0),  # R1
        ("run-a", "cross.jpg", 0, 0.95, 5.5, 0, 15.5, 10, 45, 0.7),  # P0
        ("run-a", "cross.jpg", 1, 0.99, 3, 0, 13, 10, 30, 0.2),  # P1
        ("run-ref-old", "cross.jpg", 0, 1.0, 100, 100, 110, 110, 40, 1.0),  # an older run's label: not used
        # IoU exactly 0.5 matches; det_score exactly at the threshold counts
        ("run-ref", "half.jpg", 0, 1.0, 10, 10, 30, 20, 65, 0.0),  # R2
        ("run-a", "half.jpg", 0, FACE_MIN_SCORE, 10, 10, 20, 20, 60, 0.6),  # P2
        # no reference face: the predicted one is a false positive
        ("run-a", "noref.jpg", 0, 0.99, 0, 0, 10, 10, 33, 0.4),  # P3
        # the only predicted face is under the threshold: ignored, the reference face is missed
        ("run-ref", "low.jpg", 0, 1.0, 0, 0, 10, 10, None, 1.0),  # R3
        ("run-a", "low.jpg", 0, 0.89, 0, 0, 10, 10, 35, 0.9),  # P4
        # images outside the comparison
        ("run-a", "unlabelled.jpg", 0, 0.99, 0, 0, 10, 10, 20, 0.1),
        ("run-ref", "deterr.jpg", 0, 1.0, 0, 0, 10, 10, 20, 0.0),
        # det-r1 on one hand image: one face, matching R0 only
        ("run-r1-hand", "cross.jpg", 0, 0.97, 5, 0, 15, 10, 25, 0.3),
    ]
    attributes = [("run-ref", "cross.jpg", 0, "skin", "I"), ("run-ref", "cross.jpg", 1, "skin", "VI"),
                  ("run-ref", "half.jpg", 0, "skin", "VI"), ("run-ref-old", "cross.jpg", 0, "skin", "III")]
    return {"runs": runs, "images": images, "image_runs": image_runs, "faces": faces, "attributes": attributes,
            "dataset": "hand"}


def random_box(rng) -> tuple[float, float, float, float]:
    x1, y1 = rng.uniform(0, 80, 2)
    w, h = rng.uniform(5, 30, 2)
    return (float(x1), float(y1), float(x1 + w), float(y1 + h))


def jitter(rng, box) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    dx, dy = rng.normal(0, 0.15 * w), rng.normal(0, 0.15 * h)
    s = rng.uniform(0.8, 1.25)
    return (float(x1 + dx), float(y1 + dy), float(x1 + dx + w * s), float(y1 + dy + h * s))


def random_rows(seed: int = 11, n_images: int = 60) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    runs = [("run-rand-ref", "faces", REF_RAND, "rand", "2024-01-01 09:00:00"),
            ("run-r1", "faces", DET_R1, "rand", "2024-01-01 10:00:00"),
            ("run-r2", "faces", DET_R2, "rand", "2024-01-01 11:00:00")]
    rels = [f"img{i}.jpg" for i in range(n_images)]
    images = [("rand", "train", "x", rel) for rel in rels]
    image_runs, faces, attributes = [], [], []
    for rel in rels:
        processed = {run: rng.random() > 0.08 for run in ("run-rand-ref", "run-r1", "run-r2")}
        for run, ok in processed.items():
            image_runs.append((run, rel, "ok" if ok else "error"))
        refs = [random_box(rng) for _ in range(int(rng.integers(0, 5)))]
        for idx, box in enumerate(refs):
            gender = None if rng.random() < 0.1 else float(rng.integers(0, 2))
            age = None if rng.random() < 0.15 else float(rng.integers(1, 90))
            faces.append(("run-rand-ref", rel, idx, 1.0, *box, age, gender))
            if rng.random() < 0.8:
                attributes.append(("run-rand-ref", rel, idx, "skin", str(rng.choice(["I", "III", "V"]))))
            if rng.random() < 0.5:
                attributes.append(("run-rand-ref", rel, idx, "occluded", str(rng.choice(["yes", "no"]))))
        for run in ("run-r1", "run-r2"):
            boxes = [jitter(rng, box) for box in refs if rng.random() < 0.75]
            boxes += [random_box(rng) for _ in range(int(rng.integers(0, 3)))]
            boxes = boxes[:5]
            for idx, box in enumerate(boxes):
                score = float(rng.choice([rng.uniform(0.5, 0.9), rng.uniform(0.9, 1.0), 0.9]))
                gender = None if rng.random() < 0.1 else float(rng.random())
                age = None if rng.random() < 0.1 else float(rng.uniform(0, 90))
                faces.append((run, rel, idx, score, *box, age, gender))
    return {"runs": runs, "images": images, "image_runs": image_runs, "faces": faces, "attributes": attributes,
            "dataset": "rand"}


def as_frames(*parts: dict) -> dict[str, pd.DataFrame]:
    runs, images, image_runs, faces, attributes = [], [], [], [], []
    for part in parts:
        dataset = part["dataset"]
        runs += part["runs"]
        images += [(image_id(d, rel), d, split, wnid, rel) for d, split, wnid, rel in part["images"]]
        image_runs += [(run, image_id(dataset, rel), status) for run, rel, status in part["image_runs"]]
        faces += [(run, image_id(dataset, rel), *rest) for run, rel, *rest in part["faces"]]
        attributes += [(run, image_id(dataset, rel), *rest) for run, rel, *rest in part["attributes"]]
    frames = {
        "runs": pd.DataFrame(runs, columns=["run_id", "stage", "annotator", "dataset", "started_at"]),
        "images": pd.DataFrame(images, columns=["image_id", "dataset", "split", "wnid", "rel_path"]),
        "image_runs": pd.DataFrame(image_runs, columns=["run_id", "image_id", "status"]),
        "faces": pd.DataFrame(faces, columns=["run_id", "image_id", "face_idx", "det_score", "x1", "y1", "x2", "y2",
                                              "age", "gender_score"]),
        "face_attributes": pd.DataFrame(attributes, columns=["run_id", "image_id", "face_idx", "attribute",
                                                             "value"]),
    }
    frames["runs"]["started_at"] = pd.to_datetime(frames["runs"]["started_at"])
    frames["runs"]["status"] = "complete"
    for column in ("age", "gender_score"):
        frames["faces"][column] = frames["faces"][column].astype(float)
    return frames


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    return as_frames(hand_rows(), random_rows())


@pytest.fixture(scope="module")
def warehouse(raw, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("evaluation")
    db = work / "census.duckdb"
    write_raw(db, raw)
    result = run_dbt(db, work, "build", "--select", "+annotator_evaluation+", "+corrected_face_share",
                     "--indirect-selection", "cautious")  # not the tests of other marts on these parents
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return db


mart = read_mart


# ---------------------------------------------------------------- the independent implementation


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def brute_force_match(refs: list, preds: list) -> dict[int, tuple[int, float]]:
    """Every one-to-one assignment of predicted faces (or none) to reference faces over the
    pairs with IoU >= 0.5; the one with the largest total IoU. {ref index: (pred index, IoU)}."""
    best, best_total = {}, -1.0
    slots = list(range(len(preds))) + [None] * len(refs)
    for choice in set(itertools.permutations(slots, len(refs))):
        pairs, total = {}, 0.0
        for r, p in enumerate(choice):
            if p is None:
                continue
            value = iou(refs[r], preds[p])
            if value < 0.5:
                break
            pairs[r] = (p, value)
            total += value
        else:
            if total > best_total + 1e-12:
                best, best_total = pairs, total
    return best


def bucket(age) -> str | None:
    if age is None or math.isnan(age):
        return None
    labels = ["0-14", "15-29", "30-44", "45-59", "60+"]
    return labels[sum(math.floor(age) >= edge for edge in AGE_EDGES)]


def latest_ok(raw) -> pd.DataFrame:
    """annotator, image_id, run_id of the latest run (started_at, then run_id) with the image ok."""
    ir = raw["image_runs"].merge(raw["runs"][["run_id", "annotator", "started_at"]], on="run_id")
    ir = ir[ir["status"] == "ok"].sort_values(["annotator", "image_id", "started_at", "run_id"])
    return ir.groupby(["annotator", "image_id"], as_index=False).tail(1)[["annotator", "image_id", "run_id"]]


def expected_evaluation(raw) -> pd.DataFrame:
    win = latest_ok(raw)
    faces = raw["faces"]
    attrs = raw["face_attributes"]
    refs = sorted(a for a in win["annotator"].unique() if a.startswith("reference/"))
    dets = sorted(a for a in win["annotator"].unique() if not a.startswith("reference/"))
    rows = []
    for det in dets:
        for ref in refs:
            d_runs = dict(win.loc[win.annotator == det, ["image_id", "run_id"]].itertuples(index=False))
            r_runs = dict(win.loc[win.annotator == ref, ["image_id", "run_id"]].itertuples(index=False))
            common = sorted(set(d_runs) & set(r_runs))
            if not common:
                continue
            records, n_pred = [], 0
            img_ref = img_pred = img_both = 0
            for image in common:
                rf = faces[(faces.run_id == r_runs[image]) & (faces.image_id == image)].sort_values("face_idx")
                pf = faces[(faces.run_id == d_runs[image]) & (faces.image_id == image)
                           & (faces.det_score >= FACE_MIN_SCORE)].sort_values("face_idx")
                n_pred += len(pf)
                img_ref += len(rf) > 0
                img_pred += len(pf) > 0
                img_both += len(rf) > 0 and len(pf) > 0
                rboxes = [tuple(b) for b in rf[["x1", "y1", "x2", "y2"]].itertuples(index=False)]
                pboxes = [tuple(b) for b in pf[["x1", "y1", "x2", "y2"]].itertuples(index=False)]
                pairs = brute_force_match(rboxes, pboxes)
                for r, face in enumerate(rf.itertuples(index=False)):
                    groups = [("all", "all")]
                    gender = None if pd.isna(face.gender_score) else ("female" if face.gender_score < 0.5 else "male")
                    age_group = bucket(face.age)
                    if gender:
                        groups.append(("gender", gender))
                    if age_group:
                        groups.append(("age_bucket", age_group))
                    if gender and age_group:
                        groups.append(("gender_age", f"{gender}|{age_group}"))
                    mine = attrs[(attrs.run_id == face.run_id) & (attrs.image_id == image)
                                 & (attrs.face_idx == face.face_idx)]
                    groups += [(f"attr:{a}", v) for a, v in mine[["attribute", "value"]].itertuples(index=False)]
                    match = pairs.get(r)
                    other = pf.iloc[match[0]] if match else None
                    records.append({"groups": groups, "matched": match is not None,
                                    "iou": match[1] if match else None,
                                    "ref_gender": face.gender_score, "ref_age": face.age,
                                    "pred_gender": None if other is None else other.gender_score,
                                    "pred_age": None if other is None else other.age})
            keys = sorted({g for rec in records for g in rec["groups"]} | {("all", "all")})
            for kind, value in keys:
                members = [rec for rec in records if (kind, value) in rec["groups"]]
                matched = [rec for rec in members if rec["matched"]]
                gp = [rec for rec in matched if not pd.isna(rec["ref_gender"]) and not pd.isna(rec["pred_gender"])]
                ap = [rec for rec in matched if not pd.isna(rec["ref_age"]) and not pd.isna(rec["pred_age"])]
                is_all = kind == "all"
                rows.append({
                    "annotator": det, "reference": ref, "group_kind": kind, "group_value": value,
                    "n_reference": len(members), "n_predicted": n_pred if is_all else None,
                    "n_matched": len(matched),
                    "precision": (len(matched) / n_pred if n_pred else None) if is_all else None,
                    "recall": len(matched) / len(members) if members else None,
                    "gender_accuracy": (sum((r["ref_gender"] < 0.5) == (r["pred_gender"] < 0.5) for r in gp) / len(gp)
                                        if gp else None),
                    "age_mae": sum(abs(r["ref_age"] - r["pred_age"]) for r in ap) / len(ap) if ap else None,
                    "n_gender_pairs": len(gp), "n_age_pairs": len(ap),
                    "mean_iou": sum(r["iou"] for r in matched) / len(matched) if matched else None,
                    "n_images": len(common) if is_all else None,
                    "n_reference_images_with_faces": img_ref if is_all else None,
                    "n_predicted_images_with_faces": img_pred if is_all else None,
                    "n_images_with_faces_both": img_both if is_all else None,
                    "image_precision": (img_both / img_pred if img_pred else None) if is_all else None,
                    "image_recall": (img_both / img_ref if img_ref else None) if is_all else None,
                })
    return pd.DataFrame(rows)


def same(actual, expected) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return actual is None or pd.isna(actual)
    if actual is None or pd.isna(actual):
        return False
    return abs(float(actual) - float(expected)) <= TOL


def assert_frames_match(actual: pd.DataFrame, expected: pd.DataFrame, key: list[str]) -> None:
    actual = actual.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    assert actual[key].values.tolist() == expected[key].values.tolist()
    for column in expected.columns:
        if column in key:
            continue
        bad = [(tuple(actual.loc[i, key]), actual.loc[i, column], expected.loc[i, column])
               for i in range(len(expected)) if not same(actual.loc[i, column], expected.loc[i, column])]
        assert not bad, (column, bad[:5])


# ---------------------------------------------------------------- tests

KEY = ["annotator", "reference", "group_kind", "group_value"]


def test_random_cases_match_brute_force(warehouse, raw):
    actual = mart(warehouse, "annotator_evaluation")
    expected = expected_evaluation(raw)
    assert len(expected) > 40 and expected["n_matched"].sum() > 50  # the random part is not trivial
    assert {"attr:skin", "attr:occluded", "gender_age"} <= set(expected["group_kind"])
    assert_frames_match(actual, expected, KEY)


def test_hand_worked_cases(warehouse):
    frame = mart(warehouse, "annotator_evaluation")
    got = frame[(frame.annotator == DET_A) & (frame.reference == REF_HAND)].set_index(["group_kind", "group_value"])
    iou_r0_p1, iou_r1_p0 = 80 / 120, 85 / 115  # the crossing pairs; R0-P0 alone would be 95 / 105
    everything = got.loc[("all", "all")]
    # images compared: cross, half, noref, low (not unlabelled: no reference; not deterr: detector error)
    assert everything["n_images"] == 4
    assert (everything["n_reference"], everything["n_predicted"], everything["n_matched"]) == (4, 4, 3)
    assert everything["precision"] == 3 / 4 and everything["recall"] == 3 / 4
    assert everything["n_gender_pairs"] == 3 and abs(everything["gender_accuracy"] - 2 / 3) < 1e-15
    assert abs(everything["age_mae"] - (10 + 5 + 5) / 3) < 1e-12
    assert abs(everything["mean_iou"] - (iou_r0_p1 + iou_r1_p0 + 0.5) / 3) < 1e-12
    assert (everything["n_reference_images_with_faces"], everything["n_predicted_images_with_faces"],
            everything["n_images_with_faces_both"]) == (3, 3, 2)
    assert everything["image_precision"] == 2 / 3 and everything["image_recall"] == 2 / 3
    expected = {  # group: (n_reference, n_matched, recall, gender_accuracy, age_mae)
        ("gender", "female"): (2, 2, 1.0, 0.5, 7.5),
        ("gender", "male"): (2, 1, 0.5, 1.0, 5.0),
        ("age_bucket", "15-29"): (1, 1, 1.0, 1.0, 10.0),
        ("age_bucket", "45-59"): (1, 1, 1.0, 1.0, 5.0),
        ("age_bucket", "60+"): (1, 1, 1.0, 0.0, 5.0),
        ("gender_age", "female|15-29"): (1, 1, 1.0, 1.0, 10.0),
        ("gender_age", "male|45-59"): (1, 1, 1.0, 1.0, 5.0),
        ("gender_age", "female|60+"): (1, 1, 1.0, 0.0, 5.0),
        ("attr:skin", "I"): (1, 1, 1.0, 1.0, 10.0),
        ("attr:skin", "VI"): (2, 2, 1.0, 0.5, 5.0),
    }
    assert set(got.index) == {("all", "all"), *expected}
    for group, (n_ref, n_matched, recall, accuracy, mae) in expected.items():
        row = got.loc[group]
        assert (row["n_reference"], row["n_matched"]) == (n_ref, n_matched), group
        assert row["recall"] == recall and row["gender_accuracy"] == accuracy and row["age_mae"] == mae, group
        assert pd.isna(row["precision"]) and pd.isna(row["n_predicted"]) and pd.isna(row["n_images"]), group
    # det-r1 saw one hand image: its face matches R0, R1 is missed
    r1 = frame[(frame.annotator == DET_R1) & (frame.reference == REF_HAND) & (frame.group_kind == "all")].iloc[0]
    assert (r1["n_images"], r1["n_reference"], r1["n_predicted"], r1["n_matched"]) == (1, 2, 1, 1)
    # det-a never saw the random dataset: no row against its reference
    assert frame[(frame.annotator == DET_A) & (frame.reference == REF_RAND)].empty
    assert not frame["annotator"].str.startswith("reference/").any()


def test_corrected_face_share(warehouse, raw):
    actual = mart(warehouse, "corrected_face_share")
    evaluation = expected_evaluation(raw)
    evaluation = evaluation[evaluation.group_kind == "all"]
    win = latest_ok(raw).merge(raw["images"][["image_id", "dataset"]], on="image_id")
    kept = raw["faces"][raw["faces"].det_score >= FACE_MIN_SCORE]
    rows = []
    for (annotator, dataset), part in win[~win.annotator.str.startswith("reference/")].groupby(
            ["annotator", "dataset"]):
        faces = kept.merge(part, on=["run_id", "image_id"])
        n, k = len(part), faces["image_id"].nunique()
        p = k / n
        center = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
        half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
        for ev in evaluation[evaluation.annotator == annotator].itertuples(index=False):
            factor = (ev.image_precision / ev.image_recall
                      if ev.image_precision is not None and ev.image_recall else None)

            def fix(value, factor=factor):
                return None if factor is None else min(max(value * factor, 0.0), 1.0)

            rows.append({"annotator": annotator, "reference": ev.reference, "dataset": dataset, "n_images": n,
                         "n_images_with_faces": k, "n_faces": len(faces), "eta_observed": p,
                         "eta_observed_lo": max(center - half, 0.0), "eta_observed_hi": min(center + half, 1.0),
                         "precision": ev.precision, "recall": ev.recall, "share_correction": factor,
                         "eta_corrected": fix(p), "eta_corrected_lo": fix(max(center - half, 0.0)),
                         "eta_corrected_hi": fix(min(center + half, 1.0)),
                         "n_faces_corrected": len(faces) * ev.precision / ev.recall
                         if ev.precision is not None and ev.recall else None})
    expected = pd.DataFrame(rows)
    # det-r1 ran on both datasets and is evaluated against both references: four rows
    assert len(expected[expected.annotator == DET_R1]) == 4
    assert_frames_match(actual, expected, ["annotator", "reference", "dataset"])
    assert ((actual.eta_corrected >= 0) & (actual.eta_corrected <= 1)).all()


def test_matching_function_against_brute_force():
    """The model's matcher alone, on many small random images (boxes on a coarse grid too, so
    that IoU values of exactly 0.5 and touching boxes occur)."""
    spec = importlib.util.spec_from_file_location(
        "annotator_evaluation", REPO / "models" / "marts" / "evaluation" / "annotator_evaluation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(3)
    for trial in range(400):
        coarse = trial % 2 == 0
        refs = [random_box(rng) for _ in range(int(rng.integers(0, 5)))]
        preds = [jitter(rng, b) for b in refs if rng.random() < 0.8] + [random_box(rng)
                                                                      for _ in range(int(rng.integers(0, 2)))]
        if coarse:
            refs = [tuple(float(round(v / 5) * 5) for v in b) for b in refs]
            preds = [tuple(float(round(v / 5) * 5) for v in b) for b in preds]
            refs = [b for b in refs if b[2] > b[0] and b[3] > b[1]]
            preds = [b for b in preds if b[2] > b[0] and b[3] > b[1]]
        got = module.match(np.array(refs, dtype=float).reshape(-1, 4), np.array(preds, dtype=float).reshape(-1, 4))
        want = brute_force_match(refs, preds)
        assert abs(sum(v for _, _, v in got) - sum(v for _, v in want.values())) < 1e-12, (refs, preds)
        assert all(iou(refs[r], preds[p]) >= 0.5 for r, p, _ in got)
        assert len({p for _, p, _ in got}) == len(got) == len({r for r, _, _ in got})
        if not coarse:  # continuous boxes: the optimum is unique
            assert {r: p for r, p, _ in got} == {r: p for r, (p, _) in want.items()}


def test_card_and_summary_show_the_measured_error(warehouse):
    """The card's section and the summary's lines read corrected_face_share: precision and
    recall beside the face counts, the corrected share and its formula."""
    from rich.console import Console

    from ingest.outputs import card, summary
    from ingest.outputs.reader import MartReader

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        marts = MartReader(con)
        lines = card._measured_error(marts)
        console = Console(record=True, width=400)
        summary._measured_error(console, marts)
    finally:
        con.close()
    text = "\n".join(lines)
    assert "## Measured error against reference labels" in text
    assert "clamp(eta_observed x image_precision / image_recall, 0, 1)" in text
    row = next(line for line in lines if line.startswith(f"| {DET_A} | {REF_HAND} | hand |"))
    # on the whole dataset: 5 kept faces (P0-P3 and the unlabelled image's) in 4 of the 5 images
    # det-a has ok (80 %); precision and recall 0.75 on the reference's images; corrected by
    # image_precision / image_recall = (2/3) / (2/3) = 1
    assert row.split(" | ")[3:6] == ["5", "0.75", "0.75"] and "| 80.0 (" in row
    printed = " ".join(console.export_text().split())
    assert f"{DET_A} on hand: 5 kept faces; against {REF_HAND}: precision 0.750, recall 0.750" in printed
    assert "face share 0.800" in printed and "corrected 0.800" in printed
