"""``folders``: ``<split>/<class>/*`` or ``<class>/*`` (split ``train``); what ``auto`` falls back to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .base import ImageRef
from .protocol import Layout, Source
from .scan import Scan, loose_images, subfolders, walk_images
from .splits import SENTENCES, SPLITS, beside_splits, split_folders


class Folders(Layout):
    ignored = SENTENCES

    def images(self, source: Source) -> Iterator[ImageRef]:
        scan, root = source.scan, source.root
        if any((root / s).is_dir() for s in SPLITS):
            beside_splits(scan, SPLITS)
            for folder in split_folders(scan):
                yield from _class_folders(scan, folder, folder.name)
        else:
            yield from _class_folders(scan, root, "train")


def _class_folders(scan: Scan, folder: Path, split: str) -> Iterator[ImageRef]:
    for path in loose_images(folder):
        scan.skip("loose", path)
    for class_dir in subfolders(scan, folder):
        yield from (ImageRef(scan.rel(p), split, class_dir.name) for p in walk_images(scan, class_dir))


LAYOUT = Folders()
