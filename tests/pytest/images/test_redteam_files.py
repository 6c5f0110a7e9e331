"""Issue 11, files a hostile or careless user puts in a dataset: links out of the root, special
files, colliding names, mistyped manifest roots, odd manifests, files a layout would skip.
The dangerous cases are built in tmp_path."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from faults import bomb
from photos import noise_jpeg
from runs import count, ingest

from ingest.core.config import SCHEMA_SQL
from ingest.core.errors import CensusError
from ingest.images.decode import MAX_FILE_BYTES, MAX_PIXELS, decode_path
from ingest.sources.layouts import Ignored, ImageRef, list_images, stored_path
from ingest.warehouse.db import Batch, write_batch


def _within(seconds: float, action):
    """Run action in a thread; a call that blocks (a FIFO read) fails the test instead of hanging it."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", action()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return result["value"]


def _image_rows(db: Path) -> dict[str, tuple]:
    rows = count(db, "select rel_path, file_bytes, sha256, width, decode_error from raw.images")
    return {row[0]: row[1:] for row in rows}


def _dataset(tmp_path: Path) -> Path:
    """A folders dataset with one good image in class cat."""
    root = tmp_path / "ds"
    (root / "cat").mkdir(parents=True)
    noise_jpeg(root / "cat" / "good.jpg", size=(64, 48))
    return root


# -- item 5: symbolic links leaving the dataset root ------------------------------------------------
def test_file_link_out_of_the_root_is_an_error_row_and_never_read(tmp_path, db):
    root = _dataset(tmp_path)
    secret = tmp_path / "secret.jpg"
    noise_jpeg(secret, size=(32, 32))
    (root / "cat" / "passwd.jpg").symlink_to(secret)
    (root / "cat" / "inside.jpg").symlink_to(root / "cat" / "good.jpg")  # inside the root: read
    ingest(root, db, stages=["nsfw"])
    rows = _image_rows(db)
    file_bytes, sha256, width, error = rows["cat/passwd.jpg"]
    assert (file_bytes, sha256, width) == (None, None, None)
    assert "outside the dataset root" in error
    assert rows["cat/inside.jpg"][3] is None and rows["cat/inside.jpg"][1] == rows["cat/good.jpg"][1]


def test_decode_refuses_a_path_out_of_the_root(tmp_path):
    """Manifests name files directly, so the real-path check holds when the file is read too."""
    root = _dataset(tmp_path)
    (root / "cat" / "passwd.jpg").symlink_to("/etc/passwd")
    decoded = decode_path(root / "cat" / "passwd.jpg", None, root)
    assert decoded.error and "outside the dataset root" in decoded.error
    assert (decoded.file_bytes, decoded.sha256) == (None, None)
    assert decode_path(root / "cat" / "good.jpg", None, root).error is None


def test_linked_folders_are_never_walked(tmp_path):
    root = _dataset(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    noise_jpeg(outside / "private.jpg")
    (root / "dog").symlink_to(outside)  # a class folder outside the root
    (root / "again").symlink_to(root)  # the whole dataset once more, as a class
    (root / "cat" / "loop").symlink_to(root / "cat")  # a folder inside a class folder
    ignored = Ignored()
    refs = list_images(root, ignored=ignored)
    assert [r.rel_path for r in refs] == ["cat/good.jpg"]
    assert ignored.counts == {"linked_folder": 3}
    (message,) = ignored.messages()
    assert message.startswith("3 linked folder(s) were not followed") and "again" in message


# -- item 6: special files named like images -------------------------------------------------------
def test_fifo_and_device_are_error_rows(tmp_path, db):
    root = _dataset(tmp_path)
    os.mkfifo(root / "cat" / "fifo.jpg")
    (root / "cat" / "zero.jpg").symlink_to("/dev/zero")
    _within(60, lambda: ingest(root, db, stages=["nsfw"]))
    rows = _image_rows(db)
    assert "FIFO" in rows["cat/fifo.jpg"][3] and rows["cat/fifo.jpg"][:2] == (None, None)
    assert "outside the dataset root" in rows["cat/zero.jpg"][3]
    assert rows["cat/good.jpg"][3] is None


def test_device_is_never_read(tmp_path):
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    decoded = _within(10, lambda: decode_path(tmp_path / "zero.jpg", None))  # no root: the type check alone
    assert decoded.error == "not a regular file but a character device; only regular files are read"


def test_fifo_never_blocks_the_reader(tmp_path):
    os.mkfifo(tmp_path / "fifo.jpg")
    decoded = _within(10, lambda: decode_path(tmp_path / "fifo.jpg", None, tmp_path))
    assert decoded.error == "not a regular file but a FIFO (named pipe); only regular files are read"


def test_file_over_the_size_cap_is_not_read(tmp_path):
    big = tmp_path / "big.jpg"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    decoded = decode_path(big, None, tmp_path)
    assert "MiB read limit" in decoded.error
    assert (decoded.file_bytes, decoded.sha256) == (MAX_FILE_BYTES + 1, None)


# -- item 7: file names whose escaped forms used to collide ----------------------------------------
def test_raw_byte_and_escaped_text_names_stay_distinct(tmp_path, db):
    root = _dataset(tmp_path)
    folder = os.fsencode(root / "cat")
    for name in (b"caf\xe9.jpg", b"caf\\xe9.jpg"):  # the byte 0xE9; the four characters \xe9
        noise_jpeg(Path(os.fsdecode(folder + b"/" + name)), size=(40, 30))
    ingest(root, db, stages=["nsfw"])
    rows = count(db, "select rel_path, decode_error from raw.images where rel_path like 'cat/caf%' order by 1")
    assert [error for _, error in rows] == [None, None]
    assert len({path for path, _ in rows}) == 2
    assert count(db, "select count(distinct image_id) from raw.images") == [(3,)]


def test_stored_paths_are_lossless_and_keep_plain_names():
    assert stored_path("train/n01/caf\u00e9 1.JPEG") == "train/n01/caf\u00e9 1.JPEG"  # valid UTF-8: as is
    names = ["caf\udce9.jpg", "caf\\xe9.jpg", "caf\\\\xe9.jpg", "a\\b\udcff.jpg", "a\\\\b\udcff.jpg"]
    stored = [stored_path(n) for n in names]
    assert len(set(stored)) == len(names)
    assert stored[0] == "caf\\xe9.jpg" and stored[1] == "caf\\\\xe9.jpg"
    assert all(s.encode("utf-8") for s in stored)
    assert ImageRef("caf\udce9.jpg", "train", "x").stored_path == "caf\\xe9.jpg"


# -- item 12: a mistyped manifest root, retried images ---------------------------------------------
def _manifest(tmp_path: Path, rel_paths: list[str]) -> Path:
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"rel_path": rel_paths, "split": "train", "label": "cat"}).to_csv(manifest, index=False)
    return manifest


def test_manifest_root_where_no_listed_file_exists_is_a_usage_error(tmp_path, db):
    root = _dataset(tmp_path)
    manifest = _manifest(tmp_path, ["cat/good.jpg"])
    with pytest.raises(CensusError, match="does not exist or is not a folder"):
        ingest(tmp_path / "typo", db, stages=["nsfw"], manifest=manifest)
    with pytest.raises(CensusError, match="None of the 1 file"):
        ingest(root / "cat", db, stages=["nsfw"], manifest=manifest)
    assert not db.exists()


def test_manifest_root_mistake_exits_2(tmp_path):
    from typer.testing import CliRunner

    from ingest.cli import app

    _dataset(tmp_path)
    manifest = _manifest(tmp_path, ["cat/good.jpg"])
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--manifest", str(manifest), "--stages", "nsfw",
                                      "--workers", "0", "--device", "cpu", "--db", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2, result.output
    assert "None of the 1 file" in result.output


def test_retried_image_updates_its_facts(tmp_path, db):
    root = _dataset(tmp_path)
    manifest = _manifest(tmp_path, ["cat/good.jpg", "cat/late.jpg"])
    ingest(root, db, stages=["nsfw"], manifest=manifest)
    assert "file not found" in _image_rows(db)["cat/late.jpg"][3]
    first_seen = count(db, "select first_seen_at from raw.images where rel_path = 'cat/late.jpg'")
    noise_jpeg(root / "cat" / "late.jpg", size=(64, 48))
    ingest(root, db, stages=["nsfw"], manifest=manifest, retry_errors=True)
    file_bytes, sha256, width, error = _image_rows(db)["cat/late.jpg"]
    assert (error, width) == (None, 64) and sha256 and file_bytes == (root / "cat" / "late.jpg").stat().st_size
    assert count(db, "select first_seen_at from raw.images where rel_path = 'cat/late.jpg'") == first_seen


def test_failed_read_never_erases_facts_read_fine(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(SCHEMA_SQL.read_text())
    row = {"image_id": "i1", "dataset": "ds", "split": "train", "wnid": "cat", "rel_path": "cat/a.jpg"}
    write_batch(con, Batch.of(images=[{**row, "file_bytes": 10, "sha256": "abc", "width": 4, "height": 3,
                                       "decode_error": None}]))
    write_batch(con, Batch.of(images=[{**row, "file_bytes": None, "sha256": None, "width": None, "height": None,
                                       "decode_error": "file not found: gone"}]))
    assert con.execute("select sha256, width, decode_error from raw.images").fetchall() == [("abc", 4, None)]


# -- item 13: Parquet manifests with columns that are not text -------------------------------------
@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"rel_path": ["cat/good.jpg"], "split": pa.array([None], pa.string()), "label": ["cat"]},
         "row 1: split is empty"),
        ({"rel_path": [1], "split": ["train"], "label": ["cat"]}, "row 1: rel_path is a int"),
        ({"rel_path": ["cat/good.jpg"], "split": [b"train"], "label": ["cat"]}, "row 1: split is a bytes"),
        ({"rel_path": ["cat/good.jpg"], "split": ["train"], "label": [float("nan")]}, "row 1: label is empty"),
    ],
)
def test_parquet_manifest_columns_must_be_text(tmp_path, columns, message):
    root = _dataset(tmp_path)
    manifest = tmp_path / "m.parquet"
    pq.write_table(pa.table(columns), manifest)
    with pytest.raises(CensusError, match=message):
        list_images(root, manifest=manifest)


# -- item 14: files the folder layouts used to skip without a word ---------------------------------
def test_odd_image_names_are_read_and_the_rest_is_named(tmp_path):
    root = _dataset(tmp_path)
    jpeg = (root / "cat" / "good.jpg").read_bytes()
    for name in ("a.jfif", "no_extension", "trailing.jpg ", "dup.JPEG.1"):
        (root / "cat" / name).write_bytes(jpeg)
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / "README").write_text("not an image either")
    os.mkfifo(root / "cat" / "pipe")  # sniffed without blocking
    ignored = Ignored()
    refs = _within(10, lambda: list_images(root, ignored=ignored))
    assert sorted(r.rel_path for r in refs) == sorted(
        f"cat/{n}" for n in ("good.jpg", "a.jfif", "no_extension", "trailing.jpg ", "dup.JPEG.1"))
    assert ignored.counts == {"not_image": 2, "special": 1}
    assert any(m.startswith("2 file(s) that are not images") and "notes.txt" in m for m in ignored.messages())


def test_folders_and_images_beside_the_splits_are_named(tmp_path):
    for folder in ("train/cat", "val/cat", "extra/cat"):
        (tmp_path / folder).mkdir(parents=True)
        noise_jpeg(tmp_path / folder / "a.jpg")
    noise_jpeg(tmp_path / "loose.jpg")
    noise_jpeg(tmp_path / "train" / "loose.jpg")
    ignored = Ignored()
    refs = list_images(tmp_path, ignored=ignored)
    assert sorted(r.rel_path for r in refs) == ["train/cat/a.jpg", "val/cat/a.jpg"]
    assert ignored.counts == {"other_folder": 1, "loose": 2}
    messages = " ".join(ignored.messages())
    assert "extra" in messages and "loose.jpg" in messages and "train/loose.jpg" in messages


# -- item 17: header-only manifest, the decompression-bomb limit -----------------------------------
def test_header_only_manifest_is_a_usage_error(tmp_path):
    root = _dataset(tmp_path)
    manifest = tmp_path / "m.csv"
    manifest.write_text("rel_path,split,label\n")
    with pytest.raises(CensusError, match="lists no images"):
        list_images(root, manifest=manifest)


def _png_header(path: Path, width: int, height: int) -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


@pytest.mark.parametrize("size", [(40000, 40000), (12000, 10000)], ids=["over 2x", "between 1x and 2x"])
def test_bomb_message_states_the_real_limit(tmp_path, size):
    path = tmp_path / "bomb.png"
    bomb(path) if size == (40000, 40000) else _png_header(path, *size)
    error = decode_path(path, None, tmp_path).error
    pixels = size[0] * size[1]
    assert error == f"decompression bomb refused: {pixels:,} pixels exceed the {MAX_PIXELS:,}-pixel limit"
