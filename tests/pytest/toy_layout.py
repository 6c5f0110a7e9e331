"""A toy layout, as a newcomer would add one: its module (this one; in the package it would be
``ingest/sources/layouts/zips.py``) and its line in ``ingest/sources/layouts/registry.py``
(``ENTRY`` below). Zip archives of images, read in place: a member's rel_path is the locator
``archive.zip#cats/0.jpg``, labelled by its folder. test_toy_layout.py proves nothing else changes."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ingest.images.decode import is_image
from ingest.sources.layouts.base import ALL_SPLIT, ImageRef
from ingest.sources.layouts.containers import SENTENCES, container_files
from ingest.sources.layouts.protocol import Layout, Peek, Source
from ingest.sources.layouts.registry import Entry

ENTRY = Entry("zip", "toy_layout", "zip archives of images, labelled by their folder inside the archive")


class ZipImages(Layout):
    container = ".zip"
    ignored = {**SENTENCES, "zip_not_image": "{n} zip member(s) that are not images were ignored (e.g. {ex})."}

    def detect(self, peek: Peek) -> bool:
        return peek.kinds == {".zip"}

    def images(self, source: Source) -> Iterator[ImageRef]:
        scan = source.scan
        for path in container_files(scan, ".zip"):
            rel = scan.rel(path)
            with zipfile.ZipFile(path) as archive:
                for name in sorted(n for n in archive.namelist() if not n.endswith("/")):
                    if is_image(name):
                        yield ImageRef(f"{rel}#{name}", ALL_SPLIT, PurePosixPath(name).parent.name)
                    else:
                        scan.ignored.add("zip_not_image", f"{rel}#{name}")

    def read(self, container: Path, member: str, root: Path) -> bytes:
        with zipfile.ZipFile(container) as archive:
            return archive.read(member)


LAYOUT = ZipImages()
