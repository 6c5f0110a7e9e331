"""Container files (webdataset shards, Parquet files): finding them under the root, shared by the
layouts whose images are members of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ...images.decode import is_inside
from ...images.decode import name_extension as extension
from .scan import Scan, walk_files

SENTENCES = {
    "not_container": "{n} file(s) that are not shards of this layout were ignored (e.g. {ex}).",
    "bad_container": "{n} file(s) of this layout could not be read at all and were ignored (e.g. {ex}).",
}


def container_files(scan: Scan, suffix: str) -> Iterator[Path]:
    """Every real file under the root with that extension, sorted; anything else is named."""
    for path in walk_files(scan, scan.root):
        if extension(path.name) != suffix:
            scan.skip("not_container", path)
        elif not is_inside(os.path.realpath(path), scan.real_root):
            scan.skip("outside", path)
        elif not path.is_file():
            scan.skip("special", path)
        else:
            yield path
