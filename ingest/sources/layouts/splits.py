"""Split folders (``train/``, ``val/``, ``test/``), shared by the layouts of labelled folders."""

from __future__ import annotations

from pathlib import Path

from .scan import Scan, loose_images, subfolders

SPLITS = ("train", "val", "test")

SENTENCES = {
    "loose": "{n} image file(s) outside any class folder were ignored (e.g. {ex}); "
             "move them into a <class> folder, or run with --layout images to census every image unlabelled.",
    "other_folder": "{n} folder(s) beside the split folders were ignored (e.g. {ex}); "
                    "only train/, val/ and test/ are read when one of them exists.",
}


def split_folders(scan: Scan) -> list[Path]:
    """root/<split> for each split that is a real folder (links are named by beside_splits)."""
    return [scan.root / s for s in SPLITS if (scan.root / s).is_dir() and not (scan.root / s).is_symlink()]


def beside_splits(scan: Scan, allowed: tuple[str, ...]) -> None:
    """Name what lies beside the split folders and is not read: other folders, linked
    folders and image files."""
    for path in subfolders(scan, scan.root):
        if path.name not in allowed:
            scan.skip("other_folder", path)
    for path in loose_images(scan.root):
        scan.skip("loose", path)
