"""Blurring faces inside container files: webdataset tar shards and Parquet files of image bytes.

A container that holds an image with kept faces is rewritten, never copied as it is: every
member (every column and row) is written unchanged except the image bytes of the members the
faces belong to, which are replaced by their blurred encoding. The members are matched as the
layouts name them (``ingest/sources/webdataset.py``: the first image member of a key;
``ingest/sources/parquet_images.py``: the row's index in the file, in the image column).

A member whose image cannot be blurred is never written sharp: a tar member is left out, a
Parquet cell is written empty (zero bytes, so later rows keep their index). Both are named.
"""

from __future__ import annotations

import copy
import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from ...sources.layouts import is_image, stored_path
from ...sources.parquet_images import image_column
from ...sources.webdataset import split_key

#: (image bytes, oriented-frame boxes) -> (blurred bytes, boxes blurred)
Blur = Callable[[bytes, list], tuple[bytes, int]]

COMPRESSION_MAGIC = ((b"\x1f\x8b", "gz"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))
PARQUET_CODECS = {"none", "snappy", "gzip", "brotli", "lz4", "zstd"}


@dataclass
class Outcome:
    """What a rewrite did: boxes blurred per member, members left out (why), and a problem of
    the container itself (a shard that ends early), if any."""

    blurred: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


def _blur_member(data: bytes, boxes: list, blur: Blur, key: str, outcome: Outcome) -> bytes | None:
    try:
        blurred, n = blur(data, boxes)
    except Exception as error:  # noqa: BLE001 - one bad image never stops the container
        outcome.failed[key] = str(error) or type(error).__name__
        return None
    outcome.blurred[key] = n
    return blurred


def _tar_compression(path: str) -> str:
    with open(path, "rb") as handle:
        head = handle.read(6)
    return next((f":{kind}" for magic, kind in COMPRESSION_MAGIC if head.startswith(magic)), "")


def rewrite_shard(path: str, target: BinaryIO, members: dict[str, list], blur: Blur) -> Outcome:
    """Write the shard at ``path`` to ``target`` with the images of ``members`` ({stored key:
    boxes}) blurred; the same compression, member order, names and metadata."""
    outcome = Outcome()
    seen: set[str] = set()
    with tarfile.open(path, "r:*") as archive, \
            tarfile.open(fileobj=target, mode=f"w{_tar_compression(path)}", format=tarfile.PAX_FORMAT) as out:
        try:
            for info in archive:
                if not info.isfile():
                    out.addfile(info)
                    continue
                key = split_key(info.name)[0]
                boxes = None
                if is_image(info.name) and key not in seen:  # the member the layout reads as the sample's image
                    seen.add(key)
                    boxes = members.get(stored_path(key))
                data = archive.extractfile(info).read()  # whole first: a short member never half-written
                if boxes is None:
                    out.addfile(info, io.BytesIO(data))
                    continue
                data = _blur_member(data, boxes, blur, stored_path(key), outcome)
                if data is not None:
                    blurred = copy.copy(info)
                    blurred.size = len(data)
                    blurred.pax_headers = {k: v for k, v in info.pax_headers.items() if k != "size"}
                    out.addfile(blurred, io.BytesIO(data))
        except (tarfile.TarError, EOFError) as error:
            outcome.problem = f"the shard ends early or is corrupt ({error}); the members before the break were written"
    return outcome


def _codec(source: pq.ParquetFile) -> str:
    meta = source.metadata
    if not meta.num_row_groups or not meta.num_columns:
        return "snappy"
    codec = meta.row_group(0).column(0).compression.lower()
    codec = {"uncompressed": "none", "lz4_raw": "lz4"}.get(codec, codec)
    return codec if codec in PARQUET_CODECS else "snappy"


def _blur_cell(cell, boxes: list, blur: Blur, key: str, outcome: Outcome):
    """The cell with its image blurred; with zero bytes when it cannot be blurred."""
    data = cell.get("bytes") if isinstance(cell, dict) else cell
    if data is None:
        outcome.failed[key] = "the image cell is NULL (no bytes in this row)"
        return cell
    blurred = _blur_member(bytes(data), boxes, blur, key, outcome)
    blurred = b"" if blurred is None else blurred
    return {**cell, "bytes": blurred} if isinstance(cell, dict) else blurred


def rewrite_parquet(path: str, target: BinaryIO, members: dict[str, list], blur: Blur) -> Outcome:
    """Write the Parquet file at ``path`` to ``target`` with the images of ``members`` ({row
    number as text: boxes}) blurred; the same schema (and its metadata), row groups, codec."""
    outcome = Outcome()
    source = pq.ParquetFile(path)
    schema = source.schema_arrow
    column = image_column(schema)
    if column is None:
        raise ValueError("the Parquet file has no image-bytes column")
    index = schema.get_field_index(column)
    rows = {int(m): boxes for m, boxes in members.items() if m.isdigit()}
    start = 0
    with pq.ParquetWriter(target, schema, compression=_codec(source)) as writer:
        for group in range(source.num_row_groups):
            table = source.read_row_group(group)
            wanted = [r for r in rows if start <= r < start + table.num_rows]
            if wanted:
                cells = table.column(index).to_pylist()
                for row in wanted:
                    cells[row - start] = _blur_cell(cells[row - start], rows[row], blur, str(row), outcome)
                table = table.set_column(index, schema.field(index), pa.array(cells, type=schema.field(index).type))
            writer.write_table(table, row_group_size=max(1, table.num_rows))
            start += table.num_rows
    return outcome
