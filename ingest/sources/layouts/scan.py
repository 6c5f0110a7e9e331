"""Walking a dataset folder: files in a deterministic order, never outside the root, and every
file left out named with its reason."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ...images.decode import IMAGE_EXTENSIONS, is_image, is_inside
from ...images.decode import name_extension as extension
from .base import Ignored

# sidecar files datasets ship beside their images: never images, so not sniffed (but named)
SIDECAR_EXTENSIONS = {
    ".txt", ".csv", ".tsv", ".xml", ".json", ".jsonl", ".md", ".html", ".htm", ".mat", ".py", ".sh",
    ".log", ".yaml", ".yml", ".parquet", ".npy", ".npz", ".pkl", ".tar", ".gz", ".zip", ".db",
}

#: the reasons any walk records, whatever the layout
SENTENCES = {
    "not_image": "{n} file(s) that are not images by name or content were ignored (e.g. {ex}).",
    "unreadable": "{n} file(s) without an image extension could not be read to tell whether they are "
                  "images and were ignored (e.g. {ex}).",
    "special": "{n} special file(s) (FIFO, device or socket) were ignored (e.g. {ex}).",
    "outside": "{n} link(s) leading outside the dataset root were ignored (e.g. {ex}); "
               "only files inside the root are read.",
    "linked_folder": "{n} linked folder(s) were not followed, so that no image is listed twice or read "
                     "from outside the root (e.g. {ex}); put the real folders in the dataset instead.",
    "unlistable": "{n} folder(s) could not be listed and were ignored (e.g. {ex}); check their permissions.",
}


@dataclass(frozen=True, slots=True)
class Scan:
    """One listing of a dataset folder: its root, real root and the record of what it left out."""

    root: Path
    real_root: str
    ignored: Ignored

    @classmethod
    def of(cls, root: Path, ignored: Ignored | None = None) -> Scan:
        return cls(root, os.path.realpath(root), ignored if ignored is not None else Ignored())

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def skip(self, reason: str, path: Path) -> None:
        self.ignored.add(reason, self.rel(path))


_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
               b"\x00\x00\x00\x0cjP  \r\n", b"\xff\x4f\xff\x51")


def looks_like_image(head: bytes) -> bool:
    """Whether a file's first 16 bytes are those of an image format Pillow reads."""
    return (
        head.startswith(_SIGNATURES)
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or (head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"))
        or re.match(rb"P[1-6]\s", head) is not None
    )


def _sniff(path: Path, real_root: str) -> str | None:
    """None when a file without an image name holds an image; else why it is ignored.

    Never reads outside the root, and never opens a FIFO or a device (it could block forever).
    """
    if not is_inside(os.path.realpath(path), real_root):
        return "outside"
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return "special"
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            head = os.read(descriptor, 16) if stat.S_ISREG(os.fstat(descriptor).st_mode) else b""
        finally:
            os.close(descriptor)
    except OSError:
        return "unreadable"
    return None if looks_like_image(head) else "not_image"


def _file_reason(path: Path, real_root: str) -> str | None:
    """None when a file in a class folder is listed (by name or by content); else why not."""
    kind = extension(path.name)
    if kind in IMAGE_EXTENSIONS:
        return None  # read, or refused with an error row, when it is decoded
    if kind in SIDECAR_EXTENSIONS:
        return "not_image"
    return _sniff(path, real_root)


def walk_files(scan: Scan, folder: Path) -> Iterator[Path]:
    """Every file name under a real folder, sorted by folder then name. Links to folders are
    not followed (named instead): a folder is walked once, and never outside the root."""

    def unlistable(error: OSError) -> None:
        scan.skip("unlistable", Path(error.filename))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unlistable, followlinks=False):
        base = Path(dirpath)
        for name in [d for d in dirnames if os.path.islink(base / d)]:
            dirnames.remove(name)
            scan.skip("linked_folder", base / name)
        dirnames.sort()
        for name in sorted(filenames):
            yield base / name


def walk_images(scan: Scan, folder: Path) -> Iterator[Path]:
    """Every image file under a real folder, sorted, including dangling links (they become
    errors)."""
    for path in walk_files(scan, folder):
        reason = _file_reason(path, scan.real_root)
        if reason is None:
            yield path
        else:
            scan.skip(reason, path)


def subfolders(scan: Scan, folder: Path) -> list[Path]:
    """The real sub-folders of a folder, sorted; links to folders are named, not followed."""
    folders = []
    for path in sorted(folder.iterdir()):
        if not path.is_dir():
            continue
        if path.is_symlink():
            scan.skip("linked_folder", path)
        else:
            folders.append(path)
    return folders


def loose_images(folder: Path) -> list[Path]:
    """Files directly in a folder whose name says image, sorted."""
    return sorted(p for p in folder.iterdir() if not p.is_dir() and is_image(p.name))
