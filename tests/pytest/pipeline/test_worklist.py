"""The on-disk work list: order, skipping what is done, shards that partition, limits."""

from __future__ import annotations

import duckdb
import pytest

from ingest.core.config import SCHEMA_SQL
from ingest.core.errors import CensusError
from ingest.core.ids import image_id
from ingest.pipeline.worklist import WorkList
from ingest.sources.layouts import ImageRef


def refs(n: int):
    return (ImageRef(f"train/n01440764/img_{i:05d}.JPEG", "train", "n01440764") for i in range(n))


def warehouse_with_done(tmp_path, done_faces: list[str], done_nsfw: list[str]):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(SCHEMA_SQL.read_text())
    con.execute("insert into raw.runs (run_id, stage, annotator, dataset, status) values "
                "('r1', 'faces', 'f', 'ds', 'complete'), ('r2', 'nsfw', 'n', 'ds', 'complete')")
    for run_id, paths in (("r1", done_faces), ("r2", done_nsfw)):
        for path in paths:
            con.execute("insert into raw.image_runs (run_id, image_id, status) values (?, ?, 'ok')",
                        [run_id, image_id("ds", path)])
    return con


def test_order_done_and_stages(tmp_path):
    con = warehouse_with_done(tmp_path, ["train/n01440764/img_00000.JPEG", "train/n01440764/img_00001.JPEG"],
                              ["train/n01440764/img_00000.JPEG"])
    with WorkList() as worklist:
        worklist.add_images(refs(5), "ds")
        assert worklist.validate("auto", "ilsvrc", tmp_path) == 5
        worklist.add_done(0, con, "f", "ds", retry_errors=False)
        worklist.add_done(1, con, "n", "ds", retry_errors=False)
        items = list(worklist.todo(None, None))
        assert [i.ref.rel_path[-9:-5] for i in items] == ["0001", "0002", "0003", "0004"]
        assert [i.stages for i in items] == [(1,), (0, 1), (0, 1), (0, 1)]
        assert worklist.count_todo(None, None) == 4 and worklist.count_todo(None, 2) == 2
        assert len(list(worklist.todo(None, 2))) == 2


def test_shards_partition_the_work(tmp_path):
    con = warehouse_with_done(tmp_path, [], [])
    with WorkList() as worklist:
        worklist.add_images(refs(300), "ds")
        worklist.add_done(0, con, "f", "ds", retry_errors=False)
        everything = [i.image_id for i in worklist.todo(None, None)]
        parts = [[i.image_id for i in worklist.todo((k, 4), None)] for k in range(4)]
    assert sorted(sum(parts, [])) == sorted(everything) and len(everything) == 300
    assert all(parts)  # every shard gets some


def test_unknown_labels_and_empty_listing(tmp_path):
    with WorkList() as worklist:
        with pytest.raises(CensusError, match="No images found"):
            worklist.validate("auto", "folders", tmp_path)
        worklist.add_images(iter([ImageRef("a/x.jpg", "train", "n99999999")]), "ds")
        with pytest.raises(CensusError, match="not ILSVRC-2012 classes"):
            worklist.validate("imagenet", "folders", tmp_path)
        assert worklist.validate("any", "folders", tmp_path) == 1


def test_non_utf8_paths_survive_the_round_trip(tmp_path):
    name = "train/n01440764/caf\udce9.JPEG"
    con = warehouse_with_done(tmp_path, [], [])
    with WorkList() as worklist:
        worklist.add_images(iter([ImageRef(name, "train", "n01440764")]), "ds")
        worklist.add_done(0, con, "f", "ds", retry_errors=False)
        (item,) = worklist.todo(None, None)
    assert item.ref.rel_path == name and item.ref.stored_path.endswith("caf\\xe9.JPEG")
