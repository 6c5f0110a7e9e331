"""The stage registry drives the writer, the schema, merge and the summary: a toy stage added
with its model file and one registry line runs, lands, merges and is summarised."""

from __future__ import annotations

import duckdb
from rich.console import Console

from ingest.core.stages import STAGES, importable, raw_tables, table_keys


def test_the_registry_names_every_raw_table_and_key():
    assert raw_tables() == ("runs", "images", "image_runs", "faces", "face_attributes", "nsfw", "predictions",
                            "image_face_labels")
    assert table_keys()["faces"] == ("run_id", "image_id", "face_idx")
    assert table_keys()["face_attributes"] == ("run_id", "image_id", "face_idx", "attribute")
    assert table_keys()["predictions"] == ("run_id", "image_id", "rank")
    assert sorted(importable()) == ["faces", "image_face_labels", "nsfw", "predictions"]


def test_a_toy_stage_runs_lands_merges_and_is_summarised(toy_stage, small_ilsvrc, tmp_path):
    from ingest.outputs.summary import print_summary
    from ingest.pipeline.runner import RunOptions, run_dataset
    from ingest.warehouse.merge import merge_warehouse

    assert "brightness" in raw_tables()
    shard = tmp_path / "shard.duckdb"
    summary = run_dataset(RunOptions(dataset_root=small_ilsvrc, dataset="ds", device="cpu", db=shard, workers=0,
                                     stages=["brightness", "nsfw"],
                                     overrides={"brightness": toy_stage.MeanBrightness.annotator}))
    assert summary.stats.seen == 8 and summary.stats.errors == 0
    con = duckdb.connect(str(shard), read_only=True)
    values = [r[0] for r in con.execute("select brightness from raw.brightness").fetchall()]
    stages = con.execute("select stage, annotator from raw.runs order by 1").fetchall()
    con.close()
    assert len(values) == 8 and all(0 < v < 1 for v in values)
    assert stages == [("brightness", "toy/mean-brightness"), ("nsfw", "yahoo/open_nsfw")]

    target = tmp_path / "target.duckdb"
    assert merge_warehouse(shard, target)["brightness"] == 8
    assert merge_warehouse(shard, target)["brightness"] == 0  # keys from the registry: nothing twice

    console = Console(record=True, width=200)
    print_summary(console, target)
    raw_line = next(row for row in console.export_text().splitlines() if row.startswith("raw rows:"))
    assert "brightness 8" in raw_line  # the raw counts come from the registry (coverage needs dbt build)


def test_merge_carries_the_side_tables_once(tmp_path):
    """captions, reviews and label_synsets hold no run_id; merge still carries them, keyed."""
    from ingest.warehouse.db import connect, init_schema
    from ingest.warehouse.merge import merge_warehouse

    shard, target = tmp_path / "shard.duckdb", tmp_path / "target.duckdb"
    con = connect(shard)
    init_schema(con)
    con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values ('i1', 'ds', 'all', '', "
                "'s.tar#k1')")
    con.execute("insert into raw.captions (image_id, dataset, caption) values ('i1', 'ds', 'a cat on a mat')")
    con.execute("insert into raw.reviews (review_id, dataset, reviewer, image_id, question, answer) "
                "values ('r1', 'ds', 'ana', 'i1', 'nsfw_category', 'not_nsfw')")
    con.close()
    first = merge_warehouse(shard, target)
    assert (first["captions"], first["reviews"]) == (1, 1)
    again = merge_warehouse(shard, target)
    assert (again["captions"], again["reviews"], again.get("label_synsets", 0)) == (0, 0, 0)
    con = connect(target, read_only=True)
    assert con.execute("select caption from raw.captions").fetchall() == [("a cat on a mat",)]
    con.close()


def test_the_dbt_project_names_the_same_stages():
    """SQL names stages through the macro stage(), which accepts only var stages: the same set."""
    import yaml
    from marts_data import REPO

    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    assert project["vars"]["stages"] == [name for name in STAGES if name != "brightness"]
