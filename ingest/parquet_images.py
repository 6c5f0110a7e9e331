"""Parquet files with an image-bytes column (img2dataset's parquet output, Hugging Face image
datasets), streamed by row group.

The image column is the first of ``IMAGE_COLUMNS`` present, else the first binary column or
struct with a binary ``bytes`` field (Hugging Face's ``{"bytes": ..., "path": ...}``). An
image's locator (its rel_path) is ``<file rel_path>#<row>``, the row's index in the file.
A caption is the first of ``CAPTION_COLUMNS`` present; the other scalar columns are kept as
the sample's metadata (JSON).

Decoding reads one row's cell: each process keeps the last row group it read, so a run
reads a row group once per worker rather than once per image.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .decode import MAX_FILE_BYTES, NotRead, contained_file

IMAGE_COLUMNS = ("jpg", "image", "img", "png", "webp", "image_bytes", "bytes")
CAPTION_COLUMNS = ("caption", "txt", "text")
LABEL_COLUMNS = ("wnid", "label")


def _is_bytes(kind: pa.DataType) -> bool:
    return pa.types.is_binary(kind) or pa.types.is_large_binary(kind)


def _is_image_type(kind: pa.DataType) -> bool:
    if _is_bytes(kind):
        return True
    return pa.types.is_struct(kind) and any(
        kind.field(i).name == "bytes" and _is_bytes(kind.field(i).type) for i in range(kind.num_fields))


def image_column(schema: pa.Schema) -> str | None:
    """The column holding the image bytes, or None."""
    for name in IMAGE_COLUMNS:
        if name in schema.names and _is_image_type(schema.field(name).type):
            return name
    return next((f.name for f in schema if _is_image_type(f.type)), None)


@dataclass(frozen=True, slots=True)
class Row:
    row: int
    label: str
    caption: str | None
    meta: str | None


def iter_rows(path: Path) -> Iterator[Row]:
    """Every row of a file, row group by row group, without its image bytes. Raises
    ValueError when the file has no image column, pyarrow's errors when it is unreadable."""
    handle = pq.ParquetFile(path)
    schema = handle.schema_arrow
    column = image_column(schema)
    if column is None:
        raise ValueError("no image-bytes column (binary, or a struct with a binary 'bytes' field)")
    caption = next((c for c in CAPTION_COLUMNS if c in schema.names and pa.types.is_string(schema.field(c).type)),
                   None)
    label = next((c for c in LABEL_COLUMNS if c in schema.names and pa.types.is_string(schema.field(c).type)), None)
    scalars = [f.name for f in schema if f.name != column and not pa.types.is_nested(f.type)
               and not _is_bytes(f.type)]
    row = 0
    for group in range(handle.num_row_groups):
        table = handle.read_row_group(group, columns=scalars)
        for record in table.to_pylist():
            meta = {k: v for k, v in record.items() if k not in (caption, label)}
            yield Row(row, (record.get(label) or "") if label else "",
                      record.get(caption) if caption else None,
                      json.dumps(meta, sort_keys=True, default=str) if meta else None)
            row += 1


_CACHE: dict[tuple[str, float, int], list] = {}


def _cells(path: str, group: int, column: str) -> list:
    stamp = os.stat(path).st_mtime
    key = (path, stamp, group)
    if key not in _CACHE:
        _CACHE.clear()  # one row group per process: memory stays one row group's images
        _CACHE[key] = pq.ParquetFile(path).read_row_group(group, columns=[column]).column(0).to_pylist()
    return _CACHE[key]


def read_row(path: Path, row: int, root: Path) -> bytes:
    """The image bytes of one row of a Parquet file inside ``root``; NotRead otherwise."""
    real = contained_file(path, root, "Parquet file")
    try:
        handle = pq.ParquetFile(real)
        column = image_column(handle.schema_arrow)
        if column is None:
            raise NotRead("the Parquet file has no image-bytes column")
        start = 0
        for group in range(handle.num_row_groups):
            rows = handle.metadata.row_group(group).num_rows
            if row < start + rows:
                cell = _cells(real, group, column)[row - start]
                break
            start += rows
        else:
            raise NotRead(f"no row {row} in the Parquet file ({start} rows)")
    except (pa.ArrowException, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise NotRead(f"cannot read the Parquet file: {error}") from None
    if isinstance(cell, dict):
        cell = cell.get("bytes")
    if cell is None:
        raise NotRead("the image cell is NULL (no bytes in this row)")
    if len(cell) > MAX_FILE_BYTES:
        raise NotRead(f"the cell holds more than the {MAX_FILE_BYTES // 2**20} MiB read limit; not read", len(cell))
    return bytes(cell)
