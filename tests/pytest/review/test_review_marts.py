"""The review marts (review_queue, review_consensus, review_agreement, confirmed_flags and
hand_survey_check's review columns) on the review world, and review_agreement's alpha
against the `krippendorff` package on random answer sets, to 1e-9."""

from __future__ import annotations

import math

import duckdb
import krippendorff
import numpy as np
import pandas as pd
from marts_data import query
from review_world import (
    ASTRONAUT,
    FACES_A,
    FACES_B,
    FLAGGED,
    NSFW_SCORES,
    PNG,
    ROTATED,
    SURVEYED,
    T1_IMAGES,
    dbt_build,
)

from ingest.review.questions import NSFW_CATEGORIES, QUESTIONS

TOL = 1e-9


mart = query  # a query's rows


def test_review_queue_asks_what_the_models_flag(review_world):
    queue = mart(review_world.db, "select * from review_queue order by question, priority")
    nsfw = queue[queue.question == "nsfw_category"]
    flagged = sorted((r for r in NSFW_SCORES if r.split("/")[1] == FLAGGED), key=lambda r: -NSFW_SCORES[r])
    assert list(nsfw.rel_path) == flagged  # the shortlisted class, highest NSFW score first
    assert nsfw.annotator.isna().all() and nsfw.face_idx.isna().all()
    faces = queue[queue.question == "is_face"]
    expected = {(rel, FACES_A, idx) for rel in T1_IMAGES for idx in (3, 4)}  # det_score 0.92 and 0.88
    expected |= {(rel, FACES_B, 4) for rel in T1_IMAGES}  # the box only B finds
    assert set(zip(faces.rel_path, faces.annotator, faces.face_idx, strict=True)) == expected
    assert faces[faces.annotator == FACES_B].reason.str.contains(f"no matching box from {FACES_A}").all()
    assert list(faces.priority) == list(range(1, len(faces) + 1))
    closeness = (faces.det_score - 0.9).abs().round(9)
    assert closeness.is_monotonic_increasing
    minors = queue[queue.question == "apparent_minor"]
    assert set(zip(minors.rel_path, minors.face_idx, strict=True)) == {
        (rel, idx) for rel in (SURVEYED, PNG, ROTATED) for idx in (1, 3)}  # not SUIT: its class is not flagged
    assert minors.age.is_monotonic_increasing and (minors.age < 18).all()
    assert queue[["x1", "y1", "x2", "y2"]][queue.question != "nsfw_category"].notna().all().all()


def test_consensus_is_the_majority_of_the_latest_label_per_reviewer(review_world):
    raw = review_world.rows["reviews"]
    latest = (raw.sort_values("reviewed_at").groupby(["reviewer", "image_id", "question", "annotator", "face_idx"],
                                                       dropna=False).tail(1))
    assert len(latest) == len(raw) - 1  # bob's earlier ASTRONAUT answer gives way to his later one
    consensus = mart(review_world.db, "select * from review_consensus")
    assert len(consensus) == latest.groupby(["image_id", "question", "annotator", "face_idx"], dropna=False).ngroups
    for row in consensus.itertuples():
        labels = latest[(latest.image_id == row.image_id) & (latest.question == row.question)
                        & (latest.face_idx.fillna(-1) == (-1 if pd.isna(row.face_idx) else row.face_idx))]
        counts = labels.answer.value_counts()
        top = counts[counts == counts.max()].sort_index()
        assert row.answer == "|".join(top.index)  # a tie lists every tied answer
        assert row.is_tie == (len(top) > 1)
        assert row.n_labels == len(labels)
        assert abs(row.share - counts.max() / len(labels)) < TOL
        assert row.reviewers == ", ".join(sorted(labels[labels.answer.isin(top.index)].reviewer))


def test_confirmed_flags_and_the_hand_survey_learn_from_review(review_world):
    flags = mart(review_world.db, "select * from confirmed_flags order by question")
    assert list(zip(flags.question, flags.flag, flags.rel_path, strict=True)) == [
        ("apparent_minor", "yes", SURVEYED), ("is_face", "yes", SURVEYED), ("nsfw_category", "beach_voyeur", SURVEYED)]
    assert list(flags.reviewers) == ["alice, bob", "alice", "alice, bob"]
    minor = flags.iloc[0]
    assert (minor.annotator, minor.face_idx, minor.age, minor.det_score) == (FACES_A, 1, 12.0, 0.97)
    assert flags.nsfw_score.tolist() == [NSFW_SCORES[SURVEYED]] * 3
    # ASTRONAUT: upskirt vs not_nsfw is a tie, so it confirms nothing
    survey = mart(review_world.db, f"select * from hand_survey_check where wnid = '{FLAGGED}'").iloc[0]
    assert (survey.n_reviewed, survey.n_confirmed_nsfw, survey.n_confirmed_beach_voyeur) == (2, 1, 1)
    assert survey.share_confirmed_nsfw == 0.5
    # SURVEYED is named as one of the paper's hand-labelled files (beach_voyeur): the reviewers agree
    assert (survey.n_survey_images_reviewed, survey.n_survey_category_agrees) == (1, 1)
    other = mart(review_world.db, "select * from hand_survey_check where wnid <> ?".replace("?", f"'{FLAGGED}'"))
    assert (other.n_reviewed == 0).all() and other.share_confirmed_nsfw.isna().all()


def test_nsfw_categories_are_the_hand_surveys(review_world):
    from marts_data import read_seed

    assert set(read_seed("hand_survey_2020").category) == set(NSFW_CATEGORIES)
    assert QUESTIONS["nsfw_category"].answers == (*NSFW_CATEGORIES, "not_nsfw")


def _package_alpha(labels: pd.DataFrame) -> float:
    """krippendorff.alpha on the reviewers x items matrix (NaN where a reviewer gave no label)."""
    codes = {answer: i for i, answer in enumerate(sorted(labels.answer.unique()))}
    items = labels[["image_id", "annotator", "face_idx"]].apply(lambda r: "|".join(map(str, r)), axis=1)
    matrix = (labels.assign(item=items, code=labels.answer.map(codes))
              .pivot(index="reviewer", columns="item", values="code").to_numpy(dtype=float))
    return krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")


def _random_labels(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for question, spec in QUESTIONS.items():
        n_items = int(rng.integers(2, 30))
        reviewers = [f"r{i}" for i in range(int(rng.integers(2, 7)))]
        missing = rng.uniform(0, 0.6)
        weights = rng.dirichlet(np.ones(len(spec.answers)) * rng.uniform(0.3, 3))
        for item in range(n_items):
            image, face = (f"img{item // 3}", item % 3) if spec.about_face else (f"img{item}", None)
            favourite = rng.choice(spec.answers, p=weights)
            for reviewer in reviewers:
                if rng.random() < missing:
                    continue
                answer = favourite if rng.random() < rng.uniform(0.2, 0.9) else rng.choice(spec.answers, p=weights)
                rows.append({"dataset": "d", "question": question, "image_id": image,
                             "annotator": "f" if spec.about_face else None, "face_idx": face, "reviewer": reviewer,
                             "answer": answer})
    return pd.DataFrame(rows).astype({"face_idx": "Int64"})


def test_alpha_equals_the_krippendorff_package_on_random_answer_sets(review_world, tmp_path):
    """Re-run the compiled review_agreement SQL over random labels in place of int_review_labels."""
    sql = next(review_world.target.glob("compiled/**/review_agreement.sql")).read_text()
    db = review_world.writable(tmp_path)
    con = duckdb.connect(str(db))
    rng = np.random.default_rng(18)
    compared = 0
    try:
        for _ in range(12):
            labels = _random_labels(rng)
            con.register("labels", labels)
            con.execute("create or replace table intermediate.int_review_labels as select * from labels")
            con.unregister("labels")
            result = con.execute(sql).df().set_index("question")
            for question, part in labels.groupby("question"):
                pairable = part.groupby(["image_id", "face_idx"], dropna=False).reviewer.transform("size") >= 2
                row = result.loc[question]
                assert row.n_items == part[pairable].groupby(["image_id", "face_idx"], dropna=False).ngroups
                assert row.n_labels == pairable.sum()
                if part[pairable].answer.nunique() < 2:
                    assert pd.isna(row.krippendorff_alpha)
                    continue
                expected = _package_alpha(part[pairable])
                assert math.isclose(row.krippendorff_alpha, expected, rel_tol=0, abs_tol=TOL), (question, expected)
                compared += 1
    finally:
        con.close()
    assert compared >= 30


def test_faces_the_verifier_overruled_are_asked(review_world, tmp_path):
    """A verifying annotator's face kept below the threshold, or dropped above it, is an is_face
    item with the verifier's verdict as its reason; the census keeps the verified one only."""
    db = review_world.writable(tmp_path)
    con = duckdb.connect(str(db))
    astronaut = con.execute("select image_id from raw.images where rel_path = ?", [ASTRONAUT]).fetchone()[0]
    con.execute("update raw.faces set verified = false, verdict = 'animal' "
                "where run_id = 'run-a' and image_id = ? and face_idx = 0", [astronaut])  # det_score 0.99
    con.execute("insert into raw.faces (run_id, image_id, face_idx, det_score, x1, y1, x2, y2, age, gender_score, "
                "verified, verdict) values ('run-a', ?, 1, 0.75, 10, 10, 30, 30, 40, 0.5, true, 'human')",
                [astronaut])
    con.close()
    # the new face row changes run-a's result-row count: the layer recomputes its group, and
    # int_kept_faces (incremental per image after it) every image
    result = dbt_build(db, tmp_path, select=["int_image_outcomes", "int_kept_faces", "review_queue"])
    assert result.returncode == 0, result.stdout[-4000:]
    items = mart(db, f"select face_idx, reason from review_queue where question = 'is_face' "
                     f"and annotator = '{FACES_A}' and rel_path = '{ASTRONAUT}' order by face_idx")
    assert list(items.face_idx) == [0, 1]
    assert items.reason[0].startswith("the verifier says animal at det_score 0.990")
    assert "the verifier says human at det_score 0.750" in items.reason[1]
    kept = mart(db, f"select face_idx from intermediate.int_kept_faces "
                    f"where annotator = '{FACES_A}' and image_id = '{astronaut}'")
    assert list(kept.face_idx) == [1]
