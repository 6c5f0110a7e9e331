"""Red-team cases of `ingest export blurred`: names stored with escapes, faces inside webdataset
shards and Parquet files, faces that match no file, a full disk, 16-bit PNGs, animated GIFs
and a NaN margin. Each dataset is a few copies of insightface's sample photo; the warehouse
holds the tables the export reads (raw rows and the faces_to_blur mart)."""

from __future__ import annotations

import errno
import io
import json
import os
import tarfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageSequence
from review_world import T1_BOXES
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.config import SCHEMA_SQL
from ingest.core.errors import CensusError
from ingest.outputs.exports.blurred import export_blurred
from ingest.sources.layouts import stored_path

runner = CliRunner()
DATASET = "blurds"
WIDTH = 320
FACES = [0, 1, 4]  # three of t1.jpg's six faces


@pytest.fixture(scope="module")
def photo(t1_path) -> Image.Image:
    image = Image.open(t1_path).convert("RGB")
    return image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.BICUBIC)


def boxes_of(size: tuple[int, int]) -> list[tuple[float, float, float, float]]:
    w, h = size
    return [(T1_BOXES[i][0] * w, T1_BOXES[i][1] * h, T1_BOXES[i][2] * w, T1_BOXES[i][3] * h) for i in FACES]


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}) | options)
    return buffer.getvalue()


def make_marts(db: Path, faces: dict[str, list[tuple]]) -> Path:
    """A warehouse whose marts keep ``faces`` ({stored rel_path: boxes}) of one annotator."""
    con = duckdb.connect(str(db))
    try:
        con.execute(SCHEMA_SQL.read_text())
        con.execute("insert into raw.runs (run_id, stage, annotator, dataset, status) "
                    "values ('r', 'faces', 'test/faces', ?, 'complete')", [DATASET])
        for n, (rel_path, boxes) in enumerate(faces.items()):
            con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values (?, ?, 'all', '', ?)",
                        [f"i{n}", DATASET, rel_path])
            for idx, box in enumerate(boxes):
                con.execute("insert into raw.faces (run_id, image_id, face_idx, det_score, x1, y1, x2, y2) "
                            "values ('r', ?, ?, 0.99, ?, ?, ?, ?)", [f"i{n}", idx, *box])
        con.execute("create table main.faces_to_blur as select i.dataset, r.annotator, f.image_id, i.rel_path, "
                    "f.face_idx, f.x1, f.y1, f.x2, f.y2, 'kept' as source from raw.faces f "
                    "join raw.runs r using (run_id) join raw.images i using (image_id)")
    finally:
        con.close()
    return db


def export(root: Path, out: Path, db: Path, *extra: str):
    return runner.invoke(app, ["export", "blurred", str(root), "--out", str(out), "--dataset", DATASET,
                               "--db", str(db), *extra])


def sharpness(image: Image.Image, box) -> float:
    """Mean horizontal gradient inside a box (shrunk by a pixel): fine detail, gone when blurred."""
    array = np.asarray(image.convert("RGB"), dtype=float).mean(axis=2)
    x1, y1, x2, y2 = (int(v) for v in box)
    return float(np.abs(np.diff(array[y1 + 1:y2 - 1, x1 + 1:x2 - 1], axis=1)).mean())


def assert_blurred(before: Image.Image, after: Image.Image, boxes) -> None:
    assert before.size == after.size
    for box in boxes:
        assert sharpness(after, box) < 0.5 * sharpness(before, box), box


def open_bytes(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# 1: names stored with escapes, containers, faces that match nothing


def test_names_stored_with_escapes_are_blurred(tmp_path, photo):
    root = tmp_path / "ds"
    root.mkdir()
    names = [os.fsdecode(b"caf\xe9.jpg"), "back\\slash.jpg"]
    for name in names:
        (root / name).write_bytes(encode(photo))
    db = make_marts(tmp_path / "w.duckdb", {stored_path(name): boxes_of(photo.size) for name in names})
    assert all("\\" in stored_path(name) for name in names)  # both are stored escaped
    result = export(root, tmp_path / "out", db, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["images_blurred"], report["images_missing"], report["faces_blurred"]) == (2, 0, 6)
    for name in names:
        assert_blurred(photo, Image.open(tmp_path / "out" / name), boxes_of(photo.size))


def write_shard(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))


def shard_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {info.name: archive.extractfile(info).read() for info in archive if info.isfile()}


def test_faces_inside_webdataset_shards_are_blurred_and_the_rest_kept(tmp_path, photo):
    root = tmp_path / "wds"
    (root / "part").mkdir(parents=True)
    small = photo.resize((WIDTH // 2, photo.height // 2))
    members = [("000.jpg", encode(photo)), ("000.txt", b"six people"), ("000.json", b'{"url": "http://x/0"}'),
               ("001.png", encode(small, "PNG")), ("001.txt", b"the same, smaller"),
               ("002.jpg", encode(photo)), ("002.txt", b"no face kept here")]
    write_shard(root / "part" / "00000.tar", members)
    write_shard(root / "untouched.tar", members[:2])
    db = make_marts(tmp_path / "w.duckdb", {"part/00000.tar#000": boxes_of(photo.size),
                                            "part/00000.tar#001": boxes_of(small.size)})
    result = export(root, tmp_path / "out", db, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["images_blurred"], report["faces_blurred"], report["images_missing"]) == (2, 6, 0)
    copied = shard_members(tmp_path / "out" / "part" / "00000.tar")
    assert list(copied) == [name for name, _ in members]  # same members, same order
    source = dict(members)
    for name in ("000.txt", "000.json", "001.txt", "002.jpg", "002.txt"):
        assert copied[name] == source[name]
    assert_blurred(photo, open_bytes(copied["000.jpg"]), boxes_of(photo.size))
    assert_blurred(small, open_bytes(copied["001.png"]), boxes_of(small.size))
    assert open_bytes(copied["001.png"]).format == "PNG"
    assert (tmp_path / "out" / "untouched.tar").read_bytes() == (root / "untouched.tar").read_bytes()


@pytest.mark.parametrize("hf", [False, True])
def test_faces_inside_parquet_files_are_blurred_and_the_rest_kept(tmp_path, photo, hf):
    root = tmp_path / "pq"
    root.mkdir()
    cells = [encode(photo), encode(photo.rotate(180)), encode(photo)]
    column = pa.array([{"bytes": c, "path": f"{i}.jpg"} for i, c in enumerate(cells)]) if hf else pa.array(cells)
    table = pa.table({"image" if hf else "jpg": column, "caption": ["a", "b", "c"], "n": [1, 2, 3]})
    table = table.replace_schema_metadata({"huggingface": '{"info": "kept"}'})
    pq.write_table(table, root / "train.parquet", row_group_size=2, compression="zstd")
    db = make_marts(tmp_path / "w.duckdb", {"train.parquet#0": boxes_of(photo.size),
                                            "train.parquet#2": boxes_of(photo.size)})
    result = export(root, tmp_path / "out", db, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["images_blurred"] == 2
    source, copy = pq.ParquetFile(root / "train.parquet"), pq.ParquetFile(tmp_path / "out" / "train.parquet")
    assert copy.schema_arrow == source.schema_arrow and copy.schema_arrow.metadata == source.schema_arrow.metadata
    assert copy.num_row_groups == 2 and copy.metadata.row_group(0).column(0).compression == "ZSTD"
    written = copy.read()
    assert written.select(["caption", "n"]) == table.select(["caption", "n"])
    images = written.column(0).to_pylist()
    if hf:
        assert [c["path"] for c in images] == ["0.jpg", "1.jpg", "2.jpg"]
        images = [c["bytes"] for c in images]
    assert images[1] == cells[1]  # no face: the same bytes
    for row in (0, 2):
        assert_blurred(photo, open_bytes(images[row]), boxes_of(photo.size))


def test_faces_that_match_no_file_fail_loudly(tmp_path, photo):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "here.jpg").write_bytes(encode(photo))
    (root / "broken.jpg").write_bytes(encode(photo)[:400])
    write_shard(root / "s.tar", [("k.jpg", encode(photo)), ("bad.jpg", b"not an image")])
    boxes = boxes_of(photo.size)
    db = make_marts(tmp_path / "w.duckdb", {"here.jpg": boxes, "gone.jpg": boxes, "s.tar#nokey": boxes,
                                            "broken.jpg": boxes, "s.tar#bad": boxes, "s.tar#k": boxes})
    result = export(root, tmp_path / "out", db)
    assert result.exit_code == 1, result.output
    for name in ("gone.jpg", "s.tar#nokey", "broken.jpg", "s.tar#bad"):
        assert name in result.output
    assert not (tmp_path / "out" / "broken.jpg").exists()  # never copied sharp
    copied = shard_members(tmp_path / "out" / "s.tar")
    assert list(copied) == ["k.jpg"]  # the member that cannot be blurred is left out
    assert_blurred(photo, open_bytes(copied["k.jpg"]), boxes)
    assert_blurred(photo, Image.open(tmp_path / "out" / "here.jpg"), boxes)


def test_containers_that_end_early_or_hold_a_bad_image_are_named(tmp_path, photo):
    root = tmp_path / "ds"
    root.mkdir()
    write_shard(root / "whole.tar", [("a.jpg", encode(photo)), ("a.txt", b"first"), ("b.jpg", encode(photo))])
    with tarfile.open(root / "whole.tar") as archive:
        last = archive.getmember("b.jpg")
    data = (root / "whole.tar").read_bytes()
    (root / "whole.tar").unlink()
    (root / "cut.tar").write_bytes(data[:last.offset_data + last.size // 2])  # b.jpg's bytes cut short
    pq.write_table(pa.table({"jpg": [encode(photo), b"corrupt", encode(photo)], "n": [0, 1, 2]}),
                   root / "rows.parquet", row_group_size=2)
    boxes = boxes_of(photo.size)
    db = make_marts(tmp_path / "w.duckdb", {"cut.tar#a": boxes, "cut.tar#b": boxes, "rows.parquet#0": boxes,
                                            "rows.parquet#1": boxes, "rows.parquet#2": boxes})
    result = export(root, tmp_path / "out", db)
    assert result.exit_code == 1, result.output
    assert "cut.tar could not be copied: the shard ends early" in result.output
    assert "cut.tar#b has faces" in result.output and "rows.parquet#1 was left out" in result.output
    copied = shard_members(tmp_path / "out" / "cut.tar")
    assert list(copied) == ["a.jpg", "a.txt"] and copied["a.txt"] == b"first"
    assert_blurred(photo, open_bytes(copied["a.jpg"]), boxes)
    rows = pq.read_table(tmp_path / "out" / "rows.parquet")
    assert rows.column("n").to_pylist() == [0, 1, 2]  # every row kept, in place
    assert rows.column("jpg")[1].as_py() == b""  # the image that cannot be blurred: written empty
    for row in (0, 2):
        assert_blurred(photo, open_bytes(rows.column("jpg")[row].as_py()), boxes)


# 2: writing, formats, arguments


@pytest.mark.parametrize("failing_call", [1, 2])
def test_a_full_disk_is_one_sentence_and_leaves_no_partial_file(tmp_path, photo, monkeypatch, failing_call):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "README.txt").write_text("copied first (upper case sorts first)\n" * 200)
    (root / "face.jpg").write_bytes(encode(photo))
    db = make_marts(tmp_path / "w.duckdb", {"face.jpg": boxes_of(photo.size)})
    calls = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # a disk that accepts the bytes and refuses them on flush
        calls.append(fd)
        if len(calls) >= failing_call:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "out"
    result = export(root, out, db)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "full" in result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == ([] if failing_call == 1 else ["README.txt"])  # no temporary file, nothing partial
    if written:
        assert (out / "README.txt").read_bytes() == (root / "README.txt").read_bytes()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names the failing file through /proc")
def test_a_file_that_cannot_be_copied_is_named_and_the_exit_is_not_zero(tmp_path, photo, monkeypatch):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "notes.txt").write_text("x" * 10_000)
    (root / "face.jpg").write_bytes(encode(photo))
    db = make_marts(tmp_path / "w.duckdb", {"face.jpg": boxes_of(photo.size)})
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(".notes.txt"):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "out"
    result = export(root, out, db)
    assert result.exit_code == 1, result.output
    assert "notes.txt" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["face.jpg"]


def test_16_bit_grayscale_png_keeps_its_tones(tmp_path, photo):
    root = tmp_path / "ds"
    root.mkdir()
    deep = np.asarray(photo.convert("L"), dtype=np.uint16) * 257
    Image.fromarray(deep).save(root / "deep.png")
    with Image.open(root / "deep.png") as check:
        assert check.mode.startswith("I")
    boxes = boxes_of(photo.size)
    db = make_marts(tmp_path / "w.duckdb", {"deep.png": boxes})
    result = export(root, tmp_path / "out", db)
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "deep.png") as image:
        after = np.asarray(image, dtype=np.int64)
    assert after.shape == deep.shape
    outside = np.ones(deep.shape, dtype=bool)
    for x1, y1, x2, y2 in boxes:
        outside[max(0, int(y1) - 20):int(y2) + 20, max(0, int(x1) - 20):int(x2) + 20] = False
    assert np.array_equal(after[outside], deep[outside])  # lossless outside the faces, still 16 bits
    eight = Image.fromarray((after // 257).astype(np.uint8))
    assert_blurred(photo.convert("L"), eight, boxes)
    assert abs(after.mean() - deep.mean()) < 0.02 * deep.mean()  # not white


def test_animated_gif_keeps_every_frame_with_the_faces_blurred(tmp_path, photo):
    root = tmp_path / "ds"
    root.mkdir()
    frames = [photo, photo.point(lambda v: min(255, v + 40)), photo.point(lambda v: v // 2)]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:], duration=[100, 150, 200], loop=0)
    boxes = boxes_of(photo.size)
    db = make_marts(tmp_path / "w.duckdb", {"anim.gif": boxes})
    result = export(root, tmp_path / "out", db)
    assert result.exit_code == 0, result.output
    with Image.open(root / "anim.gif") as source, Image.open(tmp_path / "out" / "anim.gif") as copy:
        assert copy.n_frames == 3 and copy.info.get("loop") == 0
        before = [(f.convert("RGB"), f.info["duration"]) for f in ImageSequence.Iterator(source)]
        after = [(f.convert("RGB"), f.info["duration"]) for f in ImageSequence.Iterator(copy)]
    assert [d for _, d in after] == [100, 150, 200]
    for (frame_before, _), (frame_after, _) in zip(before, after, strict=True):
        assert_blurred(frame_before, frame_after, boxes)
        bottom = (0, photo.height - 60, WIDTH, photo.height)  # no face there: this frame's own content
        difference = np.abs(np.asarray(frame_before.crop(bottom), float) - np.asarray(frame_after.crop(bottom), float))
        assert difference.mean() < 3


@pytest.mark.parametrize("fmt", ["TIFF", "MPO"])
def test_every_page_of_a_multi_frame_file_is_blurred_in_the_same_regions(tmp_path, photo, fmt):
    """A multi-page TIFF, an MPO (a camera JPEG with its preview): a smaller frame is blurred
    in the same regions, scaled."""
    root = tmp_path / "ds"
    root.mkdir()
    small = photo.resize((WIDTH // 2, photo.height // 2))
    photo.save(root / f"pages.{fmt.lower()}", format=fmt, save_all=True, append_images=[small])
    db = make_marts(tmp_path / "w.duckdb", {f"pages.{fmt.lower()}": boxes_of(photo.size)})
    result = export(root, tmp_path / "out", db)
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / f"pages.{fmt.lower()}") as copy:
        assert copy.format == fmt and copy.n_frames == 2
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(copy)]
    assert_blurred(photo, frames[0], boxes_of(photo.size))
    assert_blurred(small, frames[1], boxes_of(small.size))


@pytest.mark.parametrize("margin", ["nan", "inf", "-0.5", "6"])
def test_margin_must_be_a_finite_share(tmp_path, photo, margin):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "face.jpg").write_bytes(encode(photo))
    db = make_marts(tmp_path / "w.duckdb", {"face.jpg": boxes_of(photo.size)})
    result = export(root, tmp_path / "out", db, "--margin", margin)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "--margin" in result.output
    assert not (tmp_path / "out").exists()


def test_margin_is_checked_by_the_function_too(tmp_path):
    with pytest.raises(CensusError, match="--margin"):
        export_blurred(tmp_path, tmp_path / "out", dataset=DATASET, margin=float("nan"), db=tmp_path / "none")
