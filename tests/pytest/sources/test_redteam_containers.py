"""Red-team cases for datasets held in containers and for layout detection: a webdataset shard
that repeats a key, a Parquet cell that decompresses far beyond the per-image read limit, a
Parquet file claiming millions of rows, and an unlabelled folder with one sub-folder. The
files are built small in tmp_path (a highly compressible cell is a few KB on disk)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from photos import noise_jpeg
from PIL import Image
from runs import count

import ingest.sources.parquet_images as parquet_images
from ingest.pipeline.runner import RunOptions, run_dataset
from ingest.sources.layouts import Ignored, detect_layout, iter_images, list_images
from ingest.sources.locators import decode_ref


def jpeg_bytes(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def write_members(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def run(root: Path, db: Path, notes: list[str] | None = None, **kwargs):
    options = RunOptions(dataset_root=root, dataset="ds", device="cpu", db=db, workers=0, stages=["nsfw"], **kwargs)
    return run_dataset(options, on_notice=(notes.append if notes is not None else None))


# -- a webdataset shard that repeats a key -----------------------------------------------------


def repeated_key_dataset(tmp_path: Path) -> Path:
    """s0.tar holds samples a, b, a (again, not adjacent), c; s1.tar holds x, y."""
    root = tmp_path / "wds"
    root.mkdir()
    members = []
    for seed, key in enumerate(["a", "b", "a", "c"]):
        members += [(f"{key}.jpg", jpeg_bytes(seed)), (f"{key}.txt", f"caption {seed}".encode())]
    write_members(root / "s0.tar", members)
    write_members(root / "s1.tar", [("x.jpg", jpeg_bytes(10)), ("y.jpg", jpeg_bytes(11))])
    return root


def test_a_repeated_key_is_listed_once_and_named(tmp_path: Path):
    root = repeated_key_dataset(tmp_path)
    ignored = Ignored()
    texts: list = []
    refs = list(iter_images(root, "webdataset", ignored=ignored, on_text=lambda *t: texts.append(t)))
    assert [r.rel_path for r in refs] == ["s0.tar#a", "s0.tar#b", "s0.tar#c", "s1.tar#x", "s1.tar#y"]
    assert ignored.counts == {"duplicate_key": 1}
    (message,) = ignored.messages()
    assert "s0.tar#a" in message and "key" in message
    assert [t[1] for t in texts if t[0] == "s0.tar#a"] == ["caption 0"]  # the first sample's caption
    decoded = decode_ref(root, "s0.tar#a", None)  # the listed sample is the one read: the first
    assert decoded.error is None and decoded.sha256 == hashlib.sha256(jpeg_bytes(0)).hexdigest()


def test_a_repeated_key_lands_every_other_sample_once(tmp_path: Path):
    root = repeated_key_dataset(tmp_path)
    db = tmp_path / "census.duckdb"
    notes: list[str] = []
    summary = run(root, db, notes)
    assert summary.stats.seen == 5 and summary.stats.errors == 0
    assert any("s0.tar#a" in note for note in notes)
    rows = count(db, "select rel_path, decode_error from raw.images order by rel_path")
    assert rows == [(f"{shard}#{key}", None) for shard, key in
                    [("s0.tar", "a"), ("s0.tar", "b"), ("s0.tar", "c"), ("s1.tar", "x"), ("s1.tar", "y")]]
    assert count(db, "select count(*), count(distinct image_id) from raw.image_runs") == [(5, 5)]
    assert count(db, "select c.caption from raw.captions c join raw.images i using (image_id) "
                     "where i.rel_path = 's0.tar#a'") == [("caption 0",)]
    assert run(root, db).stats.seen == 0  # nothing counted twice on a rerun


def test_a_repeated_key_via_the_cli(tmp_path: Path):
    from typer.testing import CliRunner

    from ingest.cli import app

    root = repeated_key_dataset(tmp_path)
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["run", str(root), "--stages", "nsfw", "--workers", "0", "--device", "cpu",
                                      "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "s0.tar#a" in result.output
    assert count(db, "select count(*) from raw.images") == [(5,)]


# -- a Parquet cell far beyond the read limit ----------------------------------------------------


def zeros_cell_file(path: Path, cell_bytes: int, before: int = 0, after: int = 0, hf: bool = False,
                    **options) -> None:
    """A Parquet file (zstd) whose image column holds `before` JPEGs, one cell of zeros, then
    `after` JPEGs, all in one row group; a 300 MiB cell of zeros is a few KB on disk. With
    ``hf`` the column is Hugging Face's struct ``image: {bytes, path}``."""
    cells = [jpeg_bytes(i) for i in range(before)] + [bytes(cell_bytes)] + [jpeg_bytes(100 + i) for i in range(after)]
    column = pa.array(cells, pa.binary())
    del cells
    if hf:
        column = pa.StructArray.from_arrays([column, pa.array(["p"] * len(column))], ["bytes", "path"])
    pq.write_table(pa.table({"image" if hf else "jpg": column, "caption": [f"c{i}" for i in range(len(column))]}),
                   path, compression="zstd", row_group_size=len(column), **options)


PEAK_SCRIPT = """
import json, resource, sys
from pathlib import Path
import pyarrow.parquet as pq
from ingest.sources.locators import decode_ref
root = Path(sys.argv[1])
pq.ParquetFile(root / "bomb.parquet").metadata
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
errors = [decode_ref(root, f"bomb.parquet#{row}", None).error for row in range(int(sys.argv[2]))]
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
print(json.dumps({"errors": errors, "grown_mib": grown}))
"""


def read_in_a_fresh_process(root: Path, rows: int) -> dict:
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(root), str(rows)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_cell_over_the_limit_is_an_error_row_and_never_decompressed(tmp_path: Path):
    root = tmp_path / "pq"
    root.mkdir()
    zeros_cell_file(root / "bomb.parquet", 300 * 2**20)  # as the red team wrote it: one cell, dictionary on
    assert (root / "bomb.parquet").stat().st_size < 1_000_000
    report = read_in_a_fresh_process(root, 1)
    (error,) = report["errors"]
    assert error is not None and "larger than the 256 MiB limit" in error and "300 MiB" in error
    assert report["grown_mib"] < 100, report  # the 300 MiB cell was never materialised


@pytest.mark.parametrize(("hf", "version"), [(False, "1.0"), (False, "2.0"), (True, "1.0")])
def test_cells_beside_an_oversized_one_are_read_or_named(tmp_path: Path, monkeypatch, hf: bool, version: str):
    monkeypatch.setattr(parquet_images, "MAX_FILE_BYTES", 4 * 2**20)
    root = tmp_path / "pq"
    root.mkdir()
    # one cell per page: the cells before the big one are read, the big one and those after it
    # in its row group are error rows with a sentence
    zeros_cell_file(root / "p.parquet", 40 * 2**20, before=2, after=2, hf=hf, use_dictionary=False,
                    data_page_size=1, write_batch_size=1, data_page_version=version)
    errors = [decode_ref(root, f"p.parquet#{row}", None).error for row in range(5)]
    assert errors[:2] == [None, None]
    assert "40 MiB" in errors[2] and "larger than the 4 MiB limit" in errors[2]
    assert all("after a Parquet page larger than the 4 MiB limit" in e for e in errors[3:])


def test_a_page_of_many_cells_over_the_limit_names_the_page(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(parquet_images, "MAX_FILE_BYTES", 4 * 2**20)
    root = tmp_path / "pq"
    root.mkdir()
    zeros_cell_file(root / "p.parquet", 40 * 2**20, before=1, after=1, use_dictionary=False)  # one page
    errors = [decode_ref(root, f"p.parquet#{row}", None).error for row in range(3)]
    assert all("page of 3 cells" in e and "larger than the 4 MiB limit" in e for e in errors), errors


def test_the_guard_reads_page_sizes_before_any_cell(tmp_path: Path, monkeypatch):
    """The page headers give each page's rows and uncompressed size; a row group whose pages all
    fit is read at once, otherwise only the rows before the first page over the limit are read."""
    root = tmp_path / "pq"
    root.mkdir()
    zeros_cell_file(root / "p.parquet", 40 * 2**20, before=1, use_dictionary=False, data_page_size=1,
                    write_batch_size=1)
    path = root / "p.parquet"
    pages = parquet_images.page_sizes(path, pq.ParquetFile(path), 0, "jpg")
    assert [(p.first_row, p.rows) for p in pages] == [(0, 1), (1, 1)]
    assert pages[1].size >= 40 * 2**20 > pages[0].size
    monkeypatch.setattr(parquet_images, "MAX_FILE_BYTES", 4 * 2**20)
    read: list = []
    real = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        read.append(kwargs.get("batch_size"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", lambda *a, **k: pytest.fail("read the whole row group"))
    assert decode_ref(root, "p.parquet#0", None).error is None
    assert "larger than the 4 MiB limit" in decode_ref(root, "p.parquet#1", None).error
    assert read == [1]  # the one cell before the big page, nothing more


@pytest.mark.parametrize(("compression", "dictionary", "version", "hf"),
                         [("snappy", True, "1.0", False), ("gzip", False, "2.0", True), ("none", True, "2.0", False),
                          ("zstd", False, "1.0", True)])
def test_page_headers_account_for_every_row(tmp_path: Path, compression: str, dictionary: bool, version: str,
                                            hf: bool):
    rng = np.random.default_rng(0)
    cells = [rng.bytes(int(n)) for n in rng.integers(0, 3000, 300)] + [None] * 5
    column = pa.array(cells, pa.binary())
    if hf:
        column = pa.StructArray.from_arrays([column, pa.array(["p"] * len(cells))], ["bytes", "path"])
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"image": column}), path, compression=compression, use_dictionary=dictionary,
                   data_page_version=version, row_group_size=120, data_page_size=4096, write_batch_size=16)
    handle = pq.ParquetFile(path)
    for group in range(handle.num_row_groups):
        pages = parquet_images.page_sizes(path, handle, group, "image")
        assert len(pages) > 1 and any(p.dictionary for p in pages) == dictionary
        rows = sum(p.rows for p in pages if not p.dictionary)
        assert rows == handle.metadata.row_group(group).num_rows
    sizes = [decode_ref(tmp_path, f"f.parquet#{row}", None).file_bytes for row in (0, 299)]
    assert sizes == [len(cells[0]), len(cells[299])]


def test_a_run_over_a_parquet_bomb_lands_every_row(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(parquet_images, "MAX_FILE_BYTES", 4 * 2**20)
    root = tmp_path / "pq"
    root.mkdir()
    zeros_cell_file(root / "p.parquet", 40 * 2**20, before=2, use_dictionary=False, data_page_size=1,
                    write_batch_size=1)
    pq.write_table(pa.table({"jpg": [jpeg_bytes(7)]}), root / "q.parquet")
    db = tmp_path / "census.duckdb"
    summary = run(root, db)
    assert (summary.stats.seen, summary.stats.ok, summary.stats.errors) == (4, 3, 1)
    (error,) = [e for (e,) in count(db, "select decode_error from raw.images where rel_path = 'p.parquet#2'")]
    assert "larger than the 4 MiB limit" in error


# -- a Parquet file claiming millions of rows --------------------------------------------------


def test_twenty_million_rows_list_lazily_and_limit_5_finishes(tmp_path: Path):
    root = tmp_path / "pq"
    root.mkdir()
    rows = 20_000_000
    pq.write_table(pa.table({"jpg": pa.nulls(rows, pa.binary())}), root / "big.parquet", row_group_size=rows)
    assert (root / "big.parquet").stat().st_size < 1_000_000
    refs = iter_images(root, "parquet")
    assert [next(refs).rel_path for _ in range(3)] == ["big.parquet#0", "big.parquet#1", "big.parquet#2"]
    db = tmp_path / "w.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "run", str(root), "--stages", "nsfw", "--workers", "0",
         "--device", "cpu", "--limit", "5", "--db", str(db), "--json"],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["images"] == 5 and summary["errors"] == 5 and summary["listed"] < rows
    assert "listing stopped after the first" in " ".join(result.stderr.split())
    assert count(db, "select rel_path, decode_error like '%NULL%' from raw.images order by rel_path") == [
        (f"big.parquet#{i}", True) for i in range(5)]


def test_a_paused_listing_goes_on_as_far_as_each_run_needs(tmp_path: Path, monkeypatch):
    import ingest.pipeline.worklist

    monkeypatch.setattr(ingest.pipeline.worklist, "CHUNK", 4)
    root = tmp_path / "pq"
    root.mkdir()
    pq.write_table(pa.table({"jpg": pa.nulls(10, pa.binary())}), root / "p.parquet")
    db = tmp_path / "census.duckdb"
    notes: list[str] = []
    first = run(root, db, notes, limit=3)
    assert (first.stats.seen, first.listed, first.left_for_later) == (3, 4, 1)
    assert any("listing stopped after the first 4 images" in note for note in notes)
    second = run(root, db, limit=3)  # the first chunk is done: the listing goes on past it
    assert (second.stats.seen, second.skipped, second.listed) == (3, 3, 8)
    rest = run(root, db)
    assert (rest.stats.seen, rest.skipped, rest.listed) == (4, 6, 10)
    assert count(db, "select count(*), count(distinct rel_path) from raw.images") == [(10, 10)]


def test_a_limited_run_still_checks_every_imagenet_label(small_ilsvrc: Path, tmp_path: Path, monkeypatch):
    import ingest.pipeline.worklist

    monkeypatch.setattr(ingest.pipeline.worklist, "CHUNK", 2)
    summary = run(small_ilsvrc, tmp_path / "census.duckdb", limit=1)
    assert (summary.stats.seen, summary.listed) == (1, 8)  # listed whole: every wnid was checked


# -- an unlabelled folder with a sub-folder ------------------------------------------------------


def test_an_unlabelled_folder_with_a_subfolder_is_read_whole(tmp_path: Path):
    for i in range(13):
        noise_jpeg(tmp_path / f"top{i:02d}.jpg", size=(16, 16), seed=i)
    (tmp_path / "more").mkdir()
    for i in range(7):
        noise_jpeg(tmp_path / "more" / f"{i}.jpg", size=(16, 16), seed=i)
    assert detect_layout(tmp_path) == "images"
    ignored = Ignored()
    refs = list_images(tmp_path, ignored=ignored)
    assert len(refs) == 20 and ignored.counts == {}
    assert {(r.split, r.wnid) for r in refs} == {("all", "")}


def test_an_unlabelled_folder_with_a_subfolder_lands_every_image(tmp_path: Path):
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(13):
        noise_jpeg(root / f"top{i:02d}.jpg", size=(32, 24), seed=i)
    (root / "more").mkdir()
    for i in range(7):
        noise_jpeg(root / "more" / f"{i}.jpg", size=(32, 24), seed=20 + i)
    db = tmp_path / "census.duckdb"
    assert run(root, db).stats.seen == 20
    assert count(db, "select count(*) from raw.images") == [(20,)]


@pytest.mark.parametrize(("loose", "below", "layout"),
                         [(13, 7, "images"), (3, 3, "images"), (3, 4, "folders"), (1, 6, "folders")])
def test_auto_reads_class_folders_only_when_they_hold_most_images(tmp_path: Path, loose: int, below: int,
                                                                   layout: str):
    for i in range(loose):
        (tmp_path / f"top{i}.jpg").touch()
    (tmp_path / "a" / "deeper").mkdir(parents=True)
    for i in range(below):
        (tmp_path / "a" / "deeper" / f"{i}.jpg").touch()
    assert detect_layout(tmp_path) == layout


def test_class_folders_with_a_stray_top_level_image_stay_class_folders(tmp_path: Path):
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        for i in range(3):
            noise_jpeg(tmp_path / name / f"{i}.jpg", size=(16, 16), seed=i)
    noise_jpeg(tmp_path / "cover.jpg", size=(16, 16))
    assert detect_layout(tmp_path) == "folders"
    ignored = Ignored()
    refs = list_images(tmp_path, ignored=ignored)
    assert sorted({r.wnid for r in refs}) == ["cats", "dogs"] and len(refs) == 6
    assert ignored.counts == {"loose": 1}  # named in a note, which suggests --layout images
