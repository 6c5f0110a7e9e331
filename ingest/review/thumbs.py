"""Thumbnails for the review page, made in memory per request and never stored: blurred
(Gaussian, server-side: the sharp pixels never reach the browser) until the reviewer
reveals one, with the item's face box drawn.

``source`` is the one gate between a requested path and the disk: only a relative path
of an image in the dataset's review queue, with no empty, ``.`` or ``..`` part. A file
(``resolve``) must have its real path (links followed) inside the real dataset root and be a
regular file; a container member (``shard.tar#key``, ``file.parquet#row``) is read by
``locators.read_ref``, the gate every engine reads through (its container inside the root,
the member's size capped)."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from ..images.decode import NotRead, is_inside
from ..sources.locators import read_ref, split_locator

THUMB_SIDE = 512
BLUR_FRACTION = 0.035  # Gaussian radius as a share of the thumbnail's longer side
BOX_COLOUR = (255, 196, 0)


def _plain_relative(rel_path: str) -> bool:
    if not rel_path or "\x00" in rel_path or rel_path.startswith(("/", "\\")) or os.path.isabs(rel_path):
        return False
    return not any(part in ("", ".", "..") for part in rel_path.split("/"))


def source(root: Path, rel_path: str, known) -> Path | bytes | None:
    """What to show for ``rel_path``: a file's path, a container member's bytes, or None (the
    caller answers 404). ``known(rel_path)`` says whether it is an image of the dataset's queue.

    As in ``locators.decode_ref``, a file whose name merely looks like a locator is that file."""
    parts = split_locator(rel_path)
    if parts is None or not _plain_relative(parts[0]) or os.path.lexists(os.path.join(root, rel_path)):
        return resolve(root, rel_path, known)
    member = parts[2]
    if not member or "\x00" in member or not known(rel_path):
        return None
    try:
        return read_ref(Path(root), rel_path)
    except (NotRead, OSError, ValueError):
        return None


def resolve(root: Path, rel_path: str, known) -> Path | None:
    """The file to show for ``rel_path``, or None (the caller answers 404).

    ``known(rel_path)`` says whether the path is an image of the dataset's queue."""
    if not _plain_relative(rel_path) or not known(rel_path):
        return None
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, rel_path))
    if not is_inside(real, real_root) or real == real_root:
        return None
    try:
        if not stat.S_ISREG(os.stat(real).st_mode):
            return None
    except OSError:
        return None
    return Path(real)


def thumbnail(image_source: Path | bytes, *, reveal: bool, box: tuple[float, float, float, float] | None) -> bytes:
    """A JPEG of at most THUMB_SIDE pixels a side, EXIF-oriented (boxes are in that frame),
    blurred unless ``reveal``, with ``box`` (x1, y1, x2, y2 in the image's pixels) drawn.
    ``image_source`` is a file's path or an image's bytes (a container member)."""
    opened = io.BytesIO(image_source) if isinstance(image_source, bytes) else image_source
    with Image.open(opened) as picture:
        stored = picture.size
        orientation = picture.getexif().get(0x0112, 1)
        picture.draft("RGB", (THUMB_SIDE, THUMB_SIDE))  # JPEG: decode at a reduced scale
        image = ImageOps.exif_transpose(picture).convert("RGB")
    full = (stored[1], stored[0]) if orientation in (5, 6, 7, 8) else stored
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    scale_x, scale_y = image.size[0] / full[0], image.size[1] / full[1]
    if not reveal:
        image = image.filter(ImageFilter.GaussianBlur(max(4.0, BLUR_FRACTION * max(image.size))))
    if box is not None and all(v is not None for v in box):
        x1, y1, x2, y2 = box
        width = max(2, round(max(image.size) / 160))
        ImageDraw.Draw(image).rectangle(
            (x1 * scale_x, y1 * scale_y, x2 * scale_x, y2 * scale_y), outline=BOX_COLOUR, width=width)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
