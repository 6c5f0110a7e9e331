"""``parquet``: every ``.parquet`` file under the root with an image-bytes column (read by
``ingest/sources/parquet_images.py``), rel_path ``file.parquet#row``, split ``all``, label from a
``wnid``/``label`` column when there is one, else ``''``; captions and other columns kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...images.decode import NotRead
from .base import ALL_SPLIT, ImageRef, stored_path
from .containers import SENTENCES, container_files
from .protocol import Layout, Peek, Source

BATCH = 10_000  # refs held before they are yielded (a bad file is named, its rows so far kept)


class Parquet(Layout):
    container = ".parquet"
    ignored = SENTENCES

    def detect(self, peek: Peek) -> bool:
        """Parquet files and no shard or image at the top level."""
        kinds = peek.kinds
        return not peek.has_folders and ".parquet" in kinds and not peek.loose and ".tar" not in kinds

    def images(self, source: Source) -> Iterator[ImageRef]:
        """One image per row of every .parquet file under the root, files sorted by path."""
        from ..parquet_images import iter_rows

        scan = source.scan
        for path in container_files(scan, ".parquet"):
            file_rel = scan.rel(path)
            refs: list[ImageRef] = []
            try:
                for row in iter_rows(path):
                    rel = f"{file_rel}#{row.row}"
                    if source.on_text is not None and (row.caption is not None or row.meta is not None):
                        source.on_text(stored_path(rel), row.caption, row.meta)
                    refs.append(ImageRef(rel, ALL_SPLIT, row.label))
                    if len(refs) >= BATCH:
                        yield from refs
                        refs = []
            except Exception as error:  # noqa: BLE001 - any unreadable file is named, never a traceback
                scan.ignored.add("bad_container", f"{file_rel} ({str(error)[:120]})")
            yield from refs

    def read(self, container: Path, member: str, root: Path) -> bytes:
        from ..parquet_images import read_row

        if not member.isdigit():
            raise NotRead(f"row {member!r} of a Parquet file is not a row number")
        return read_row(container, int(member), root)


LAYOUT = Parquet()
