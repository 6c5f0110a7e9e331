"""Decoding: bytes on disk -> one oriented RGB array, once per image, shared by every stage."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# names that say image: a layout lists them, a webdataset shard's image member is one
IMAGE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".jfi", ".pjpeg", ".pjp", ".mpo", ".png", ".apng",
    ".gif", ".bmp", ".dib", ".webp", ".avif", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm",
    ".jp2", ".j2k", ".jpx",
}


def name_extension(name: str) -> str:
    """The lower-case extension, ignoring trailing spaces and dots (``x.jpg `` is a .jpg)."""
    return os.path.splitext(name.rstrip(" .\t\r\n"))[1].lower()


def is_image(name: str) -> bool:
    """Whether a name says image (the content of other names may still be sniffed)."""
    return name_extension(name) in IMAGE_EXTENSIONS


# A scraped file claiming more pixels than this is treated as a decompression bomb.
MAX_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# A file larger than this is not read (the largest ILSVRC-2012 image is about 16 MB).
MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(slots=True)
class Decoded:
    """An image as every stage sees it.

    ``rgb`` may be smaller than the file (JPEG draft decoding); ``scale`` maps its pixels
    back to the oriented original: original = decoded * scale.
    """

    file_bytes: int | None
    sha256: str | None
    width: int | None
    height: int | None
    rgb: np.ndarray | None = None
    scale: float = 1.0
    error: str | None = None


class NotRead(Exception):
    """A file refused before its bytes are read; the message is the recorded error."""

    def __init__(self, message: str, file_bytes: int | None = None) -> None:
        super().__init__(message)
        self.file_bytes = file_bytes


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def is_inside(real_path: str, real_root: str) -> bool:
    """Whether a resolved path lies in (or is) a resolved root."""
    return real_path == real_root or real_path.startswith(real_root.rstrip(os.sep) + os.sep)


def _check_regular(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise NotRead("a folder, not a file")
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise NotRead(f"not a regular file but {kind}; only regular files are read")


def _check_inside(path: Path, root: Path) -> None:
    if not is_inside(os.path.realpath(path), os.path.realpath(root)):
        raise NotRead("a symbolic link leading outside the dataset root; only files inside the root are read")


def contained_file(path: Path, root: Path, noun: str) -> str:
    """The real path of a container file (a shard, a Parquet file) when it lies inside ``root``
    and is a file; NotRead or FileNotFoundError naming it as ``noun`` otherwise."""
    real = os.path.realpath(path)
    if not is_inside(real, os.path.realpath(root)):
        raise NotRead(f"a {noun} outside the dataset root; only files inside the root are read")
    if not os.path.isfile(real):
        raise FileNotFoundError(f"no {noun} {path.name}")
    return real


def _too_large(size: int) -> NotRead:
    return NotRead(f"the file holds more than the {MAX_FILE_BYTES // 2**20} MiB read limit; not read", size)


def read_bytes(path: Path, root: Path | None = None) -> bytes:
    """The bytes of a regular file, at most MAX_FILE_BYTES of them, and only when its real
    path lies inside ``root`` (when given): FIFOs, devices and links out of the dataset are
    refused with NotRead before anything is read."""
    if root is not None:
        _check_inside(path, root)
    if path.is_symlink() and not path.exists():
        raise FileNotFoundError(f"dangling symbolic link to {path.readlink()}")
    info = os.stat(path)
    _check_regular(info.st_mode)
    if info.st_size > MAX_FILE_BYTES:
        raise _too_large(info.st_size)
    # O_NONBLOCK: a file swapped for a FIFO since the stat cannot block the open
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, "rb") as handle:
        _check_regular(os.fstat(handle.fileno()).st_mode)
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data))
    return data


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.uint32)
        peak = 65535 if image.mode.startswith("I;16") or array.max() > 255 else 255
        array = (array * 255 // max(peak, 1)).astype(np.uint8)
        return Image.fromarray(array, mode="L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def decode_bytes(data: bytes, max_side: int | None) -> Decoded:
    """Decode with JPEG draft downscaling to at least ``max_side`` on the longest side."""
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        return Decoded(0, digest, None, None, error="empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            if width * height > MAX_PIXELS:
                return Decoded(len(data), digest, width, height, error=bomb_message(width * height))
            if max_side and image.format == "JPEG" and max(width, height) > max_side:
                image.draft("RGB", _draft_size(image.size, max_side))
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = np.ascontiguousarray(np.asarray(_to_rgb(image), dtype=np.uint8))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return Decoded(len(data), digest, None, None, error=bomb_message(_claimed_pixels(error)))
    except Image.UnidentifiedImageError:
        return Decoded(len(data), digest, None, None, error="not an image file Pillow can read")
    except (OSError, ValueError, SyntaxError) as error:
        return Decoded(len(data), digest, None, None, error=f"cannot decode: {error}")
    scale = width / rgb.shape[1] if rgb.shape[1] else 1.0
    return Decoded(len(data), digest, width, height, rgb=rgb, scale=scale)


def bomb_message(pixels: int | None) -> str:
    """The recorded error for a decompression bomb, stating the limit that applies."""
    claimed = f"{pixels:,} pixels exceed" if pixels else "the image exceeds"
    return f"decompression bomb refused: {claimed} the {MAX_PIXELS:,}-pixel limit"


def _claimed_pixels(error: Exception) -> int | None:
    """The pixel count in Pillow's message (which names its own, doubled, limit)."""
    match = re.search(r"\((\d+) pixels\)", str(error))
    return int(match.group(1)) if match else None


def _draft_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    factor = max_side / max(size)
    return max(1, int(size[0] * factor)), max(1, int(size[1] * factor))


def decode_path(path: Path, max_side: int | None, root: Path | None = None) -> Decoded:
    """Read and decode one file; with ``root``, a file whose real path is outside it is not read."""
    try:
        data = read_bytes(path, root)
    except NotRead as error:
        return Decoded(error.file_bytes, None, None, None, error=str(error))
    except FileNotFoundError as error:
        return Decoded(None, None, None, None, error=f"file not found: {error}")
    except PermissionError:
        return Decoded(None, None, None, None, error="permission denied reading the file")
    except IsADirectoryError:
        return Decoded(None, None, None, None, error="a folder, not a file")
    except OSError as error:
        return Decoded(None, None, None, None, error=f"cannot read the file: {error.strerror}")
    return decode_bytes(data, max_side)
