"""Parquet files with an image-bytes column (img2dataset's parquet output, Hugging Face image
datasets), streamed by row group.

The image column is the first of ``IMAGE_COLUMNS`` present, else the first binary column or
struct with a binary ``bytes`` field (Hugging Face's ``{"bytes": ..., "path": ...}``). An
image's locator (its rel_path) is ``<file rel_path>#<row>``, the row's index in the file.
A caption is the first of ``CAPTION_COLUMNS`` present; the other scalar columns are kept as
the sample's metadata (JSON). Listing streams the file in batches (a file of no other column
is listed from its row counts alone), so a file of millions of rows never sits in memory.

Decoding reads one row's cell: each process keeps the last row group it read (as Arrow, a
cell becomes Python bytes only when asked for), so a run reads a row group once per worker
rather than once per image. A cell is never decompressed beyond the per-image read limit: the
page headers of the image column are read first (each page's rows and uncompressed size), and
a page over the limit is never handed to pyarrow; its cells, and those after it in the row
group (pyarrow reads a column chunk in order), become error rows with a sentence.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from ..images.decode import MAX_FILE_BYTES, NotRead, contained_file

IMAGE_COLUMNS = ("jpg", "image", "img", "png", "webp", "image_bytes", "bytes")
CAPTION_COLUMNS = ("caption", "txt", "text")
LABEL_COLUMNS = ("wnid", "label")
LIST_BATCH = 10_000  # rows per batch when listing


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


def _leaf(schema: pa.Schema, column: str) -> str:
    """The Parquet column (leaf path) of the image bytes: ``jpg``, or ``image.bytes`` for a struct."""
    return f"{column}.bytes" if pa.types.is_struct(schema.field(column).type) else column


@dataclass(frozen=True, slots=True)
class Row:
    row: int
    label: str
    caption: str | None
    meta: str | None


def iter_rows(path: Path) -> Iterator[Row]:
    """Every row of a file, in batches, without its image bytes. Raises ValueError when the file
    has no image column, pyarrow's errors when it is unreadable."""
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
    if not scalars:  # nothing but the images: the row counts say it all
        total = sum(handle.metadata.row_group(g).num_rows for g in range(handle.num_row_groups))
        yield from (Row(row, "", None, None) for row in range(total))
        return
    row = 0
    for batch in handle.iter_batches(batch_size=LIST_BATCH, columns=scalars, use_threads=False):
        for record in batch.to_pylist():
            meta = {k: v for k, v in record.items() if k not in (caption, label)}
            yield Row(row, (record.get(label) or "") if label else "",
                      record.get(caption) if caption else None,
                      json.dumps(meta, sort_keys=True, default=str) if meta else None)
            row += 1


# -- page headers --------------------------------------------------------------------------------
# pyarrow does not expose a column chunk's page headers, and none of the installed libraries reads
# Thrift, so this is just enough of Thrift's compact protocol to read a PageHeader: integers and
# structs are read, everything else (statistics, lists) is skipped without being held in memory.

_STRUCT, _BINARY, _LIST, _SET, _MAP = 12, 8, 9, 10, 11
_BOOLS = (1, 2)  # true, false: in the field's type, or a byte of their own inside a collection
_FIXED = {3: 1, 7: 8, 13: 16}  # byte, double, uuid: bytes to skip
_VARINT = {4, 5, 6}  # i16, i32, i64
_MAX_DEPTH = 16
_MAX_HEADER_BYTES = 1 << 20  # bytes read (not skipped) per header; real ones hold a few dozen


class _Compact:
    """A reader of Thrift compact-protocol values from a file positioned at one."""

    def __init__(self, handle: BinaryIO, end: int) -> None:
        self.handle, self.end, self.read = handle, end, 0

    def byte(self) -> int:
        data = self.handle.read(1)
        self.read += 1
        if not data or self.handle.tell() > self.end or self.read > _MAX_HEADER_BYTES:
            raise ValueError("a page header runs past its column chunk")
        return data[0]

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 70:
                raise ValueError("a page header holds a malformed number")

    def integer(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def skip(self, size: int) -> None:
        if size < 0 or self.handle.tell() + size > self.end:
            raise ValueError("a page header runs past its column chunk")
        self.handle.seek(size, os.SEEK_CUR)

    def value(self, kind: int, depth: int) -> int | dict | None:
        if kind in _VARINT:
            return self.integer()
        if kind == _STRUCT:
            return self.struct(depth + 1)
        if kind == _BINARY:
            self.skip(self.varint())
        elif kind in (_LIST, _SET):
            header = self.byte()
            size = self.varint() if header >> 4 == 15 else header >> 4
            for _ in range(size):
                self.element(header & 0x0F, depth)
        elif kind == _MAP:
            size = self.varint()
            types = self.byte() if size else 0
            for _ in range(size):
                self.element(types >> 4, depth)
                self.element(types & 0x0F, depth)
        elif kind in _FIXED:
            self.skip(_FIXED[kind])
        else:
            raise ValueError(f"a page header holds an unknown Thrift type {kind}")
        return None

    def element(self, kind: int, depth: int) -> None:
        if kind in _BOOLS:
            self.skip(1)
        else:
            self.value(kind, depth)

    def struct(self, depth: int = 0) -> dict[int, int | dict | None]:
        """A struct's integer and struct fields by field id (other fields are skipped)."""
        if depth > _MAX_DEPTH:
            raise ValueError("a page header nests too deep")
        fields: dict[int, int | dict | None] = {}
        field = 0
        while (header := self.byte()) != 0:
            delta, kind = header >> 4, header & 0x0F
            field = field + delta if delta else self.integer()
            fields[field] = None if kind in _BOOLS else self.value(kind, depth)
        return fields


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a column chunk: the rows it serves (a dictionary page: every row of the
    chunk), the values it holds and its uncompressed size."""

    dictionary: bool
    first_row: int
    rows: int
    values: int
    size: int


_DATA_PAGE, _DICTIONARY_PAGE, _DATA_PAGE_V2 = 0, 2, 3


def _count(body: object, field: int) -> int:
    value = body.get(field) if isinstance(body, dict) else None
    if not isinstance(value, int) or value < 0:
        raise ValueError("a page header lacks its value count")
    return value


def _chunk(meta: pq.RowGroupMetaData, leaf: str) -> pq.ColumnChunkMetaData | None:
    return next((meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == leaf), None)


def page_sizes(path: Path | str, handle: pq.ParquetFile, group: int, column: str) -> list[Page]:
    """The pages of the image column's chunk in a row group, from their headers (no page is
    read or decompressed). Raises ValueError when a header cannot be read."""
    meta = handle.metadata.row_group(group)
    chunk = _chunk(meta, _leaf(handle.schema_arrow, column))
    if chunk is None:
        raise ValueError("the image column has no column chunk in the row group")
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page else chunk.data_page_offset
    end = start + chunk.total_compressed_size
    pages: list[Page] = []
    row = 0
    with open(path, "rb") as file:
        file.seek(start)
        reader = _Compact(file, end)
        while file.tell() < end and row < meta.num_rows:
            reader.read = 0
            header = reader.struct()
            kind, size, stored = header.get(1), header.get(2), header.get(3)
            if not isinstance(size, int) or not isinstance(stored, int) or size < 0:
                raise ValueError("a page header lacks its sizes")
            if kind == _DICTIONARY_PAGE:
                pages.append(Page(True, 0, meta.num_rows, _count(header.get(7), 1), size))
            elif kind in (_DATA_PAGE, _DATA_PAGE_V2):
                # rows: a v1 page counts values (one per row of a column that is not repeated)
                rows = _count(header.get(5), 1) if kind == _DATA_PAGE else _count(header.get(8), 3)
                pages.append(Page(False, row, rows, rows, size))
                row += rows
            reader.skip(stored)
    return pages


# -- decoding ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refused:
    """A cell that is not read, and why."""

    reason: str
    size: int | None = None


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _refusals(big: Page) -> tuple[Refused, Refused]:
    """Why the cells of the first page over the limit, and those after it, are not read."""
    limit = _mib(MAX_FILE_BYTES)
    if big.values == 1:
        inside = Refused(f"the image cell is {_mib(big.size)} uncompressed, larger than the {limit} limit; "
                         "not read", big.size)
    else:
        what = f"dictionary page of {big.values} values" if big.dictionary else f"page of {big.values} cells"
        inside = Refused(f"the image cell is in a Parquet {what} that is {_mib(big.size)} "
                         f"uncompressed, larger than the {limit} limit; not read")
    after = Refused(f"the image cell comes after a Parquet page larger than the {limit} limit in the same row "
                    "group, which cannot be read past; not read (rewrite the file without the oversized cell)")
    return inside, after


_MISSING = Refused("the Parquet file holds fewer image cells than its metadata says; not read")


@dataclass(frozen=True, slots=True)
class _Cells:
    """A row group's image cells: those read, kept as Arrow (a cell becomes Python bytes only
    when asked for), then those refused from the first page over the limit (``big``) on."""

    read: pa.ChunkedArray | pa.Array | None
    big: Page | None = None
    refused: Refused | None = None  # every cell, when the page headers cannot be read

    def __getitem__(self, row: int) -> bytes | dict | None | Refused:
        if self.refused is not None:
            return self.refused
        if self.read is not None and row < len(self.read):
            return self.read[row].as_py()
        if self.big is None or row < self.big.first_row:
            return _MISSING
        inside, after = _refusals(self.big)
        return inside if row < self.big.first_row + self.big.rows else after


def _cells_before(handle: pq.ParquetFile, group: int, leaf: str, rows: int) -> pa.Array | None:
    """The first ``rows`` cells of a row group: pyarrow stops at the end of the page holding the
    last of them and never reads the next."""
    if not rows:
        return None
    batch = next(handle.iter_batches(batch_size=rows, row_groups=[group], columns=[leaf], use_threads=False), None)
    return batch.column(0) if batch is not None else None


def _group_cells(path: str, handle: pq.ParquetFile, group: int, column: str) -> _Cells:
    """The image cells of a row group, never decompressing a page larger than the read limit. The
    page headers decide, not the footer's column chunk sizes, which a crafted file could understate."""
    meta = handle.metadata.row_group(group)
    leaf = _leaf(handle.schema_arrow, column)
    try:
        pages = page_sizes(path, handle, group, column)
    except (ValueError, OSError) as error:
        chunk = _chunk(meta, leaf)
        if chunk is None or chunk.total_uncompressed_size > MAX_FILE_BYTES:
            return _Cells(None, refused=Refused(f"the Parquet page headers of its row group cannot be read "
                                                f"({error}); not read"))
        pages = []  # the footer says the whole column chunk fits in the limit
    big = next((p for p in pages if p.size > MAX_FILE_BYTES), None)
    if big is None:
        return _Cells(handle.read_row_group(group, columns=[leaf]).column(0))
    return _Cells(_cells_before(handle, group, leaf, min(big.first_row, meta.num_rows)), big)


_CACHE: dict[tuple[str, float, int], _Cells] = {}


def _cells(path: str, handle: pq.ParquetFile, group: int, column: str) -> _Cells:
    stamp = os.stat(path).st_mtime
    key = (path, stamp, group)
    if key not in _CACHE:
        _CACHE.clear()  # one row group per process: memory stays one row group's images
        _CACHE[key] = _group_cells(path, handle, group, column)
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
                cell = _cells(real, handle, group, column)[row - start]
                break
            start += rows
        else:
            raise NotRead(f"no row {row} in the Parquet file ({start} rows)")
    except (pa.ArrowException, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise NotRead(f"cannot read the Parquet file: {error}") from None
    if isinstance(cell, Refused):
        raise NotRead(cell.reason, cell.size)
    if isinstance(cell, dict):
        cell = cell.get("bytes")
    if cell is None:
        raise NotRead("the image cell is NULL (no bytes in this row)")
    if len(cell) > MAX_FILE_BYTES:
        raise NotRead(f"the image cell is {_mib(len(cell))}, larger than the {_mib(MAX_FILE_BYTES)} limit; "
                      "not read", len(cell))
    return bytes(cell)
