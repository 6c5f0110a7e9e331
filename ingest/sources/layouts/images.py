"""``images``: a flat or nested folder of unlabelled images, read in one split ``all`` with the label
``''`` (raw.images.wnid stays NOT NULL for external writers; the empty string means "no label")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ...images.decode import is_image
from .base import ALL_SPLIT, UNLABELLED, ImageRef
from .protocol import Layout, Peek, Source
from .scan import walk_images


class Images(Layout):
    def detect(self, peek: Peek) -> bool:
        """Images at the top level beside sub-folders are not class folders' images: when they
        are at least as many as the images in the sub-folders, class folders would leave most of
        the dataset out; fewer of them are strays beside class folders, named in a note."""
        return bool(peek.loose) and _images_below(peek.folders, peek.loose + 1) <= peek.loose

    def images(self, source: Source) -> Iterator[ImageRef]:
        scan = source.scan
        yield from (ImageRef(scan.rel(p), ALL_SPLIT, UNLABELLED) for p in walk_images(scan, source.root))


def _images_below(folders: list[Path], enough: int) -> int:
    """How many files named as images the folders hold at any depth, counting no further than
    ``enough`` (so a large class-folder dataset is not walked just to detect its layout)."""
    found = 0
    for folder in folders:
        for _, _, names in os.walk(folder, followlinks=False):
            found += sum(1 for name in names if is_image(name))
            if found >= enough:
                return found
    return found


LAYOUT = Images()
