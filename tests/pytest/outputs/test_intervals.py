"""Intervals (DESIGN.md, "Uncertainty"): the Wilson interval of class_census.eta and the
image bootstrap of demographics' shares, on a tiny warehouse built here.

Face annotators of the warehouse:
- WILSON: one class per (k, n) case, k images with a face out of n processed ok;
- ONE_PER_IMAGE: 400 images with exactly one face each (the bootstrap against Wilson);
- TWO_PER_IMAGE: 400 images with two faces of the same apparent gender and age bucket each
  (resampling images, the interval is Wilson's over IMAGES, not over faces);
- MIXED: 60 images with 1-4 faces of mixed genders and ages;
- SINGLE: one image with two faces (no interval from one image);
- EMPTY: images, no kept face.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from marts_data import REPO, query, run_dbt, write_raw

Z = 1.959964
B = 1000
WILSON = "test/wilson"
ONE_PER_IMAGE = "test/one-per-image"
TWO_PER_IMAGE = "test/two-per-image"
MIXED = "test/mixed"
SINGLE = "test/single"
EMPTY = "test/empty"
# (images with a face, images) per class of WILSON: none, all, one of one, none of one, ...
WILSON_CASES = [(0, 5), (5, 5), (1, 1), (0, 1), (3, 7), (17, 400), (399, 400), (1, 2), (0, 1000), (1000, 1000)]
SELECT = ["+class_census", "+demographics"]


def wilson(k: int, n: int) -> tuple[float, float]:
    """The score interval as written in textbooks (no clamping, no special cases)."""
    p = k / n
    center = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return center - half, center + half


def build_raw(seed: int = 3) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    images, image_runs, faces, runs = [], [], [], []

    def add_image(annotator: str, wnid: str, i: int, face_rows: list[tuple[float, float]]):
        run_id = f"run-{annotator}"
        image_id = hashlib.sha256(f"{annotator}/{wnid}/{i}".encode()).hexdigest()[:16]
        images.append((image_id, annotator, "train", wnid, f"{wnid}/{i}.jpg"))
        image_runs.append((run_id, image_id, "ok"))
        for idx, (age, gender_score) in enumerate(face_rows):
            faces.append((run_id, image_id, idx, 0.99, age, gender_score))

    for annotator in (WILSON, ONE_PER_IMAGE, TWO_PER_IMAGE, MIXED, SINGLE, EMPTY):
        runs.append((f"run-{annotator}", "faces", annotator, annotator, "2024-01-01 10:00:00", "complete"))
    for c, (k, n) in enumerate(WILSON_CASES):
        for i in range(n):
            add_image(WILSON, f"c{c}", i, [(30.0, 0.9)] if i < k else [])
    for i in range(400):
        add_image(ONE_PER_IMAGE, "c", i, [(70.0 if i % 5 == 0 else 30.0, 0.2 if i % 10 < 3 else 0.8)])
    for i in range(400):
        age, gender = (65.0 if i % 4 == 0 else 25.0), (0.1 if i % 10 < 4 else 0.7)
        add_image(TWO_PER_IMAGE, "c", i, [(age, gender), (age, gender)])
    for i in range(60):
        add_image(
            MIXED,
            "c",
            i,
            [(float(rng.uniform(1, 90)), float(rng.uniform(0, 1))) for _ in range(int(rng.integers(1, 5)))],
        )
    add_image(SINGLE, "c", 0, [(70.0, 0.2), (20.0, 0.8)])
    for i in range(3):
        add_image(EMPTY, "c", i, [])

    return {
        "runs": pd.DataFrame(runs, columns=["run_id", "stage", "annotator", "dataset", "started_at", "status"]).assign(
            started_at=lambda f: pd.to_datetime(f.started_at)
        ),
        "images": pd.DataFrame(images, columns=["image_id", "dataset", "split", "wnid", "rel_path"]),
        "image_runs": pd.DataFrame(image_runs, columns=["run_id", "image_id", "status"]),
        "faces": pd.DataFrame(faces, columns=["run_id", "image_id", "face_idx", "det_score", "age", "gender_score"]),
    }


def dbt(db: Path, work: Path, verb: str, select: list[str], dbt_vars: dict | None = None):
    # singular tests join marts outside the selection (test_marts builds them all); a seed's
    # relationship test to a selected seed needs its own seed built too (cautious)
    result = run_dbt(db, work, verb, "--select", *select, "--exclude", "test_type:singular",
                     "--indirect-selection", "cautious", dbt_vars=dbt_vars)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def demographics(db: Path) -> pd.DataFrame:
    return query(db, "select * from main.demographics order by annotator").set_index("annotator")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """The warehouse built with seed 0, then the bootstrap rebuilt with seed 1 and seed 0:
    (db, demographics at seed 0, at seed 1, at seed 0 again)."""
    work = tmp_path_factory.mktemp("intervals")
    db = work / "census.duckdb"
    write_raw(db, build_raw())
    dbt(db, work, "build", SELECT, {"bootstrap_samples": B, "bootstrap_seed": 0})
    first = demographics(db)
    dbt(db, work, "run", ["int_demographics_bootstrap", "demographics"], {"bootstrap_samples": B, "bootstrap_seed": 1})
    other = demographics(db)
    dbt(db, work, "run", ["int_demographics_bootstrap", "demographics"], {"bootstrap_samples": B, "bootstrap_seed": 0})
    again = demographics(db)
    return db, first, other, again


# ---------------------------------------------------------------- Wilson


def test_wilson_bounds_equal_the_formula(warehouse):
    db = warehouse[0]
    census = query(db, f"select * from main.class_census where annotator = '{WILSON}' order by wnid")
    assert len(census) == len(WILSON_CASES)
    for row in census.itertuples(index=False):
        k, n = WILSON_CASES[int(row.wnid[1:])]
        assert (row.n_images_with_faces, row.n_images) == (k, n)
        lo, hi = wilson(k, n)
        assert abs(row.eta_lo - lo) <= 1e-12 and abs(row.eta_hi - hi) <= 1e-12, (k, n, row.eta_lo, row.eta_hi, lo, hi)
        assert 0 <= row.eta_lo <= row.eta <= row.eta_hi <= 1
        if k == 0:
            assert row.eta_lo == 0.0  # exactly, not a rounding error below 0
        if k == n:
            assert row.eta_hi == 1.0
    one_of_one = census[census.wnid == f"c{WILSON_CASES.index((1, 1))}"].iloc[0]
    assert math.isclose(one_of_one.eta_lo, 1 / (1 + Z**2), abs_tol=1e-12)


def test_every_class_has_its_interval(warehouse):
    census = query(warehouse[0], "select * from main.class_census")
    assert census.eta_lo.notna().all() and census.eta_hi.notna().all()
    assert ((census.eta_lo <= census.eta) & (census.eta <= census.eta_hi)).all()


def test_corrected_face_share_uses_the_same_macro():
    sql = (REPO / "models/marts/evaluation/corrected_face_share.sql").read_text()
    assert "wilson_interval(" in sql and "sqrt(" not in sql


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_intervals_contain_their_estimate(warehouse):
    first = warehouse[1]
    for annotator in (ONE_PER_IMAGE, TWO_PER_IMAGE, MIXED):
        row = first.loc[annotator]
        for share in ("pct_female", "pct_over_60"):
            lo, est, hi = row[f"{share}_lo"], row[share], row[f"{share}_hi"]
            assert 0 <= lo < est < hi <= 100, (annotator, share, lo, est, hi)


def test_bootstrap_is_reproducible_and_moves_with_the_seed(warehouse):
    _, first, other, again = warehouse
    columns = ["pct_female_lo", "pct_female_hi", "pct_over_60_lo", "pct_over_60_hi"]
    pd.testing.assert_frame_equal(first[columns], again[columns], check_exact=True)
    for annotator in (ONE_PER_IMAGE, TWO_PER_IMAGE, MIXED):
        assert (first.loc[annotator, columns] != other.loc[annotator, columns]).any(), annotator
    # the estimates themselves do not move
    pd.testing.assert_frame_equal(first[["pct_female", "pct_over_60"]], other[["pct_female", "pct_over_60"]])


def test_bootstrap_width_is_wilsons_over_images(warehouse):
    """One face per image: the width is within 15 % of Wilson's. Two identical faces per
    image: still Wilson's over the 400 images, not over the 800 faces (sqrt(2) narrower)."""
    first = warehouse[1]
    for annotator, faces_per_image in ((ONE_PER_IMAGE, 1), (TWO_PER_IMAGE, 2)):
        row = first.loc[annotator]
        for share in ("pct_female", "pct_over_60"):
            k_images = round(row[share] / 100 * 400)
            lo, hi = wilson(k_images, 400)
            width = row[f"{share}_hi"] - row[f"{share}_lo"]
            assert abs(width / (100 * (hi - lo)) - 1) <= 0.15, (annotator, share, width, 100 * (hi - lo))
            if faces_per_image == 2:
                lo_faces, hi_faces = wilson(2 * k_images, 800)
                assert width > 1.25 * 100 * (hi_faces - lo_faces)


def test_no_interval_from_one_image_or_no_face(warehouse):
    first = warehouse[1]
    columns = ["pct_female_lo", "pct_female_hi", "pct_over_60_lo", "pct_over_60_hi"]
    assert first.loc[SINGLE, "pct_female"] == 50.0
    assert first.loc[SINGLE, columns].isna().all()
    assert first.loc[EMPTY, "n_faces"] == 0 and first.loc[EMPTY, columns].isna().all()


def load_model():
    path = REPO / "models/intermediate/int_demographics_bootstrap.py"
    spec = importlib.util.spec_from_file_location("int_demographics_bootstrap", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_multinomial_over_kinds_is_the_image_bootstrap():
    """Resampling kinds of images with multinomial counts gives the distribution of drawing
    the images themselves: same percentiles as a naive image-by-image bootstrap, to Monte
    Carlo error, with an independent generator."""
    module = load_model()
    rng = np.random.default_rng(11)
    n_faces = rng.integers(1, 4, 300)
    n_female = rng.binomial(n_faces, 0.35)
    per_image = pd.DataFrame({"n_gender": n_faces, "n_female": n_female, "n_images": 1})
    pairs = per_image.groupby(["n_gender", "n_female"], as_index=False)["n_images"].sum()
    m, lo, hi = module.percentile_interval(pairs, "n_gender", "n_female", 20000, np.random.default_rng(0))
    assert m == 300
    draws = np.random.default_rng(1).integers(0, 300, (20000, 300))
    naive = 100 * n_female[draws].sum(axis=1) / n_faces[draws].sum(axis=1)
    naive_lo, naive_hi = np.percentile(naive, [2.5, 97.5])
    assert abs(lo - naive_lo) < 0.4 and abs(hi - naive_hi) < 0.4, (lo, naive_lo, hi, naive_hi)


# ---------------------------------------------------------------- no spread: Wilson over images


def wilson_pct(share_pct: float, n: int) -> tuple[float, float]:
    """Wilson's interval of a share given in percent, with the images as trials, in percent."""
    lo, hi = wilson(share_pct / 100 * n, n)
    return 100 * max(0.0, lo), 100 * min(1.0, hi)


def test_a_bootstrap_without_spread_falls_back_to_wilson_over_images():
    """A share every image agrees on (0 of 46 faces, all of them, or every image half) has a
    bootstrap of zero width; the interval is then Wilson's with the images as trials, and the
    method says so. A share that moves keeps its bootstrap interval."""
    module = load_model()
    cases = {  # (faces with a gender, apparent women) per image kind -> images of that kind
        "none": [(1, 0, 20), (2, 0, 10), (6, 0, 1)],  # 46 faces in 31 images, no woman
        "all": [(1, 1, 12), (3, 3, 2)],
        "half": [(2, 1, 9)],
    }
    for name, kinds in cases.items():
        pairs = pd.DataFrame(kinds, columns=["n_gender", "n_female", "n_images"])
        m, lo, hi, method = module.share_interval(pairs, "n_gender", "n_female", B, np.random.default_rng(0))
        share = 100 * (pairs.n_female * pairs.n_images).sum() / (pairs.n_gender * pairs.n_images).sum()
        expected = wilson_pct(share, m)
        assert method == "wilson", name
        assert m == pairs.n_images.sum()
        assert math.isclose(lo, expected[0], abs_tol=1e-9) and math.isclose(hi, expected[1], abs_tol=1e-9), name
        assert lo <= share <= hi and hi - lo > 1, (name, lo, share, hi)
    assert module.share_interval(pd.DataFrame([(1, 0, 30)], columns=["n_gender", "n_female", "n_images"]),
                                 "n_gender", "n_female", B, np.random.default_rng(0))[1:3] == (0.0, pytest.approx(
                                     100 * Z**2 / (30 + Z**2)))
    moving = pd.DataFrame([(1, 0, 20), (1, 1, 10)], columns=["n_gender", "n_female", "n_images"])
    m, lo, hi, method = module.share_interval(moving, "n_gender", "n_female", B, np.random.default_rng(0))
    assert method == "bootstrap" and 0 < lo < 100 / 3 < hi < 100
    single = pd.DataFrame([(2, 1, 1)], columns=["n_gender", "n_female", "n_images"])
    assert module.share_interval(single, "n_gender", "n_female", B, np.random.default_rng(0)) == (1, None, None, None)


def test_demographics_names_the_interval_it_gives(warehouse):
    """The mart: WILSON's faces are all apparent men under 60 in 1,426 images: 0 % with
    Wilson's interval over those images, not [0, 0]; the others keep their bootstrap."""
    first = warehouse[1]
    row = first.loc[WILSON]
    n_images = sum(k for k, _ in WILSON_CASES)
    for share in ("pct_female", "pct_over_60"):
        assert row[share] == 0.0 and row[f"{share}_interval"] == "wilson"
        assert row[f"{share}_lo"] == 0.0
        assert math.isclose(row[f"{share}_hi"], 100 * Z**2 / (n_images + Z**2), rel_tol=1e-9)
    for annotator in (ONE_PER_IMAGE, TWO_PER_IMAGE, MIXED):
        assert (first.loc[annotator, ["pct_female_interval", "pct_over_60_interval"]] == "bootstrap").all()
    for annotator in (SINGLE, EMPTY):
        assert first.loc[annotator, ["pct_female_interval", "pct_over_60_interval"]].isna().all()
