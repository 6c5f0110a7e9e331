"""Readers for datasets as users hold them: unlabelled folders, webdataset tar shards and
Parquet files of image bytes, listed, decoded from their containers and run end to end."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from photos import noise_jpeg
from PIL import Image
from runs import count, ingest

from ingest.core.ids import image_id
from ingest.sources.layouts import Ignored, detect_layout, list_images
from ingest.sources.locators import decode_ref, split_locator


def jpeg_bytes(seed: int, size=(40, 30)) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def write_shard(path: Path, keys: list[str], corrupt: str | None = None) -> None:
    with tarfile.open(path, "w") as archive:
        for i, key in enumerate(keys):
            add_member(archive, f"{key}.jpg", b"not a jpeg at all" if key == corrupt else jpeg_bytes(i))
            add_member(archive, f"{key}.txt", f"a photo number {i}".encode())
            add_member(archive, f"{key}.json", json.dumps({"key": key, "url": f"http://x/{i}"}).encode())


def test_unlabelled_flat_and_nested_folder(tmp_path: Path):
    for i in range(3):
        noise_jpeg(tmp_path / f"{i}.jpg", size=(32, 24), seed=i)
    (tmp_path / "sub").mkdir()
    noise_jpeg(tmp_path / "sub" / "x.jpg", size=(32, 24))
    (tmp_path / "notes.txt").write_text("hello")
    ignored = Ignored()
    refs = list_images(tmp_path, layout="images", ignored=ignored)
    assert [(r.rel_path, r.split, r.wnid) for r in refs] == [
        ("0.jpg", "all", ""), ("1.jpg", "all", ""), ("2.jpg", "all", ""), ("sub/x.jpg", "all", "")]
    assert ignored.counts == {"not_image": 1}


def test_plain_folder_of_jpegs_is_detected(tmp_path: Path):
    for i in range(2):
        noise_jpeg(tmp_path / f"{i}.jpg", size=(32, 24), seed=i)
    assert detect_layout(tmp_path) == "images"
    assert len(list_images(tmp_path)) == 2


def test_folders_never_drop_top_level_images_silently(tmp_path: Path):
    for i in range(13):
        noise_jpeg(tmp_path / f"top{i:02d}.jpg", size=(16, 16), seed=i)
    (tmp_path / "cats").mkdir()
    for i in range(7):
        noise_jpeg(tmp_path / "cats" / f"{i}.jpg", size=(16, 16), seed=i)
    ignored = Ignored()
    refs = list_images(tmp_path, layout="folders", ignored=ignored)
    assert len(refs) == 7 and ignored.counts == {"loose": 13}
    (message,) = ignored.messages()
    assert message.startswith("13 image file(s)") and "--layout images" in message
    assert len(list_images(tmp_path)) == 20  # auto reads every one of them, unlabelled


def test_webdataset_lists_streams_and_decodes_members(tmp_path: Path):
    write_shard(tmp_path / "00000.tar", ["a0", "a1"])
    write_shard(tmp_path / "00001.tar", ["b0"])
    assert detect_layout(tmp_path) == "webdataset"
    texts: list = []
    from ingest.sources.layouts import iter_images

    refs = list(iter_images(tmp_path, "webdataset", on_text=lambda *t: texts.append(t)))
    assert [r.rel_path for r in refs] == ["00000.tar#a0", "00000.tar#a1", "00001.tar#b0"]
    assert texts[0][0] == "00000.tar#a0" and texts[0][1] == "a photo number 0"
    assert json.loads(texts[0][2]) == {"key": "a0", "url": "http://x/0"}
    decoded = decode_ref(tmp_path, "00000.tar#a1", None)
    assert decoded.error is None and decoded.rgb.shape == (30, 40, 3)
    assert decoded.file_bytes == len(jpeg_bytes(1))
    assert "no image member" in decode_ref(tmp_path, "00000.tar#zz", None).error
    assert split_locator("x/00000.tar#a0") == ("x/00000.tar", ".tar", "a0")


def test_truncated_shard_lists_what_it_holds(tmp_path: Path):
    write_shard(tmp_path / "full.tar", ["k0", "k1", "k2"])
    data = (tmp_path / "full.tar").read_bytes()
    (tmp_path / "full.tar").unlink()
    # cut inside the last image's data: its header was read, its bytes are short
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        last = archive.getmember("k2.jpg")
    (tmp_path / "cut.tar").write_bytes(data[: last.offset_data + 100])
    ignored = Ignored()
    refs = list_images(tmp_path, layout="webdataset", ignored=ignored)
    assert [r.rel_path for r in refs] == ["cut.tar#k0", "cut.tar#k1", "cut.tar#k2"]
    assert ignored.counts.get("truncated") == 1
    assert decode_ref(tmp_path, "cut.tar#k0", None).error is None
    assert "truncated" in decode_ref(tmp_path, "cut.tar#k2", None).error


def test_locator_does_not_leave_the_root(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    write_shard(outside / "s.tar", ["k"])
    root = tmp_path / "root"
    root.mkdir()
    (root / "s.tar").symlink_to(outside / "s.tar")
    assert "outside the dataset root" in decode_ref(root, "s.tar#k", None).error


def write_parquet(path: Path, cells: list, hf: bool = False, row_group_size: int = 2) -> None:
    column = pa.array([{"bytes": c, "path": None} for c in cells]) if hf else pa.array(cells, pa.binary())
    table = pa.table({"image" if hf else "jpg": column,
                      "caption": [f"caption {i}" for i in range(len(cells))],
                      "url": [f"http://x/{i}" for i in range(len(cells))]})
    pq.write_table(table, path, row_group_size=row_group_size)


@pytest.mark.parametrize("hf", [False, True])
def test_parquet_rows_by_row_group(tmp_path: Path, hf: bool):
    write_parquet(tmp_path / "part.parquet", [jpeg_bytes(0), None, b"corrupt", jpeg_bytes(3), jpeg_bytes(4)], hf=hf)
    assert detect_layout(tmp_path) == "parquet"
    texts: list = []
    from ingest.sources.layouts import iter_images

    refs = list(iter_images(tmp_path, "parquet", on_text=lambda *t: texts.append(t)))
    assert [r.rel_path for r in refs] == [f"part.parquet#{i}" for i in range(5)]
    assert texts[3][1] == "caption 3" and json.loads(texts[3][2]) == {"url": "http://x/3"}
    assert decode_ref(tmp_path, "part.parquet#0", None).error is None
    assert "NULL" in decode_ref(tmp_path, "part.parquet#1", None).error
    assert "Pillow" in decode_ref(tmp_path, "part.parquet#2", None).error
    assert decode_ref(tmp_path, "part.parquet#4", None).rgb.shape == (30, 40, 3)
    assert "no row 9" in decode_ref(tmp_path, "part.parquet#9", None).error


def test_parquet_without_image_column_is_named(tmp_path: Path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "x.parquet")
    write_parquet(tmp_path / "y.parquet", [jpeg_bytes(0)])
    ignored = Ignored()
    assert [r.rel_path for r in list_images(tmp_path, layout="parquet", ignored=ignored)] == ["y.parquet#0"]
    assert ignored.counts == {"bad_container": 1}


@pytest.mark.parametrize("layout", ["images", "webdataset", "parquet"])
def test_end_to_end_resumable_with_errors(tmp_path: Path, layout: str):
    root = tmp_path / layout
    root.mkdir()
    if layout == "images":
        for i in range(3):
            noise_jpeg(root / f"{i}.jpg", size=(64, 48), seed=i)
        (root / "bad.jpg").write_bytes(b"corrupt")
        expected = {"0.jpg", "1.jpg", "2.jpg", "bad.jpg"}
    elif layout == "webdataset":
        write_shard(root / "s0.tar", ["k0", "k1", "bad"], corrupt="bad")
        write_shard(root / "s1.tar", ["k2"])
        expected = {"s0.tar#k0", "s0.tar#k1", "s0.tar#bad", "s1.tar#k2"}
    else:
        write_parquet(root / "p.parquet", [jpeg_bytes(0), None, b"corrupt", jpeg_bytes(3)])
        expected = {f"p.parquet#{i}" for i in range(4)}
    db = tmp_path / "census.duckdb"
    first = ingest(root, db, stages=["nsfw"], limit=2)
    assert first.stats.seen == 2
    second = ingest(root, db, stages=["nsfw"])  # resumes: only the rest
    assert second.stats.seen == len(expected) - 2
    rows = count(db, "select rel_path, image_id, split, wnid from raw.images")
    assert {r[0] for r in rows} == expected
    assert all(r[1] == image_id("ds", r[0]) and r[2] == "all" and r[3] == "" for r in rows)
    statuses = dict(count(db, "select i.rel_path, ir.status from raw.image_runs ir join raw.images i using (image_id)"))
    assert sum(s == "error" for s in statuses.values()) == (1 if layout != "parquet" else 2)
    assert sum(s == "ok" for s in statuses.values()) == len(expected) - (1 if layout != "parquet" else 2)
    captions = count(db, "select i.rel_path, c.caption, c.meta->>'url' from raw.captions c join raw.images i "
                         "using (image_id) order by 1")
    if layout == "images":
        assert captions == []
    else:
        assert len(captions) == len(expected) and all(c[1].startswith(("a photo", "caption")) for c in captions)
        assert all(c[2].startswith("http://x/") for c in captions)


def test_demo_formats_hold_every_image(tmp_path: Path):
    from ingest.devtools.demo_formats import build_formats

    source = tmp_path / "src"
    for wnid in ("n01440764", "n01443537"):
        (source / "train" / wnid).mkdir(parents=True)
        for i in range(2):
            noise_jpeg(source / "train" / wnid / f"{i}.JPEG", size=(24, 16), seed=i)
    wds, par = build_formats(source, tmp_path)
    assert [r.rel_path for r in list_images(wds)] == [f"demo-000000.tar#{i:06d}" for i in range(4)]
    refs = list_images(par)
    assert [r.wnid for r in refs] == ["n01440764"] * 2 + ["n01443537"] * 2
    assert all(decode_ref(par, r.rel_path, None).error is None for r in refs)
    build_formats(source, tmp_path)  # a rebuild rewrites in place
    (wds / "stray.txt").write_text("x")
    with pytest.raises(Exception, match="did not write"):
        build_formats(source, tmp_path)


def test_shards_of_a_webdataset_cover_it_once(tmp_path: Path):
    root = tmp_path / "wds"
    root.mkdir()
    write_shard(root / "s0.tar", [f"k{i}" for i in range(6)])
    db = tmp_path / "census.duckdb"
    seen = sum(ingest(root, db, stages=["nsfw"], shard=(k, 2)).stats.seen for k in range(2))
    assert seen == 6
    assert count(db, "select count(*), count(distinct image_id) from raw.image_runs where status = 'ok'") == [(6, 6)]
    assert count(db, "select count(*) from raw.captions") == [(6,)]


def test_parts_runs_say_captions_stay_behind_and_a_plain_rerun_copies_them(tmp_path: Path):
    from ingest.pipeline.runner import RunOptions, run_dataset
    from ingest.warehouse.land import land_parts

    root = tmp_path / "wds"
    root.mkdir()
    write_shard(root / "s0.tar", [f"k{i}" for i in range(3)])
    db, parts = tmp_path / "census.duckdb", tmp_path / "parts"
    notes: list[str] = []
    options = RunOptions(dataset_root=root, dataset="ds", device="cpu", db=db, workers=0, stages=["nsfw"])
    run_dataset(RunOptions(**{**vars(options), "parts": parts}), on_notice=notes.append)
    assert any("3 sample captions" in note and "without --parts" in note for note in notes)
    land_parts([parts], db)
    assert count(db, "select count(*) from raw.captions") == [(0,)]
    again = run_dataset(options)
    assert again.stats.seen == 0
    assert count(db, "select count(*) from raw.captions") == [(3,)]


def test_ray_engine_reads_containers_too(tmp_path: Path, monkeypatch):
    ray = pytest.importorskip("ray")
    from ingest.pipeline.engines.ray_data import init_ray

    root = tmp_path / "wds"
    root.mkdir()
    write_shard(root / "s0.tar", ["k0", "k1", "bad"], corrupt="bad")
    write_parquet(root / "p.parquet", [jpeg_bytes(0), None])  # not read: the layout is webdataset
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    started = init_ray(num_cpus=2)
    try:
        summary = ingest(root, tmp_path / "ray.duckdb", stages=["nsfw"], engine="ray", workers=1, batch_size=2,
                         parts=tmp_path / "parts", layout="webdataset")
    finally:
        if started:
            ray.shutdown()
    assert summary.stats.seen == 3 and summary.stats.errors == 1 and summary.landed
    assert count(tmp_path / "ray.duckdb", "select count(*) from raw.captions") == [(3,)]
