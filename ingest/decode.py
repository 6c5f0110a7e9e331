"""Decoding: bytes on disk -> one oriented RGB array, once per image, shared by every stage."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# A scraped file claiming more pixels than this is treated as a decompression bomb.
MAX_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


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


def read_bytes(path: Path) -> bytes:
    if path.is_symlink() and not path.exists():
        raise FileNotFoundError(f"dangling symbolic link to {path.readlink()}")
    return path.read_bytes()


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
                return Decoded(len(data), digest, width, height, error=(
                    f"decompression bomb refused: {width}x{height} pixels exceeds "
                    f"the {MAX_PIXELS:,}-pixel limit"))
            if max_side and image.format == "JPEG" and max(width, height) > max_side:
                image.draft("RGB", _draft_size(image.size, max_side))
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = np.ascontiguousarray(np.asarray(_to_rgb(image), dtype=np.uint8))
    except Image.DecompressionBombError as error:
        return Decoded(len(data), digest, None, None, error=f"decompression bomb refused: {error}")
    except Image.UnidentifiedImageError:
        return Decoded(len(data), digest, None, None, error="not an image file Pillow can read")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as error:
        return Decoded(len(data), digest, None, None, error=f"cannot decode: {error}")
    scale = width / rgb.shape[1] if rgb.shape[1] else 1.0
    return Decoded(len(data), digest, width, height, rgb=rgb, scale=scale)


def _draft_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    factor = max_side / max(size)
    return max(1, int(size[0] * factor)), max(1, int(size[1] * factor))


def decode_path(path: Path, max_side: int | None) -> Decoded:
    try:
        data = read_bytes(path)
    except FileNotFoundError as error:
        return Decoded(None, None, None, None, error=f"file not found: {error}")
    except PermissionError:
        return Decoded(None, None, None, None, error="permission denied reading the file")
    except IsADirectoryError:
        return Decoded(None, None, None, None, error="a folder, not a file")
    except OSError as error:
        return Decoded(None, None, None, None, error=f"cannot read the file: {error.strerror}")
    return decode_bytes(data, max_side)
