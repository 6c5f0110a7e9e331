"""Decoding a batch of image files straight to tensors on the device the networks run on.

On CUDA with torchvision, the baseline JPEGs go through nvjpeg in one batched call; anything
nvjpeg is not given or refuses (PNG, CMYK, a decompression bomb, a damaged file) goes the CPU
way. The CPU way is ``ingest.images.decode.decode_bytes`` itself, so its pixels and its error
sentences are the census's everywhere else. nvjpeg ignores EXIF orientation, so it is read
from the header with Pillow and applied on the device exactly as ``ImageOps.exif_transpose``.
"""

from __future__ import annotations

import io
import warnings
from functools import cache

import numpy as np
import torch
from PIL import Image

from ...images.decode import MAX_PIXELS, decode_bytes

_JPEG_MAGIC = b"\xff\xd8\xff"


@cache
def _torchvision_io():
    """torchvision.io, or None where it does not import (a CPU-only or mismatched wheel)."""
    try:
        import torchvision.io
    except Exception:  # noqa: BLE001 (a broken wheel raises anything from OSError to RuntimeError)
        return None
    return torchvision.io


def orient(image: torch.Tensor, orientation: int) -> torch.Tensor:
    """A (C,H,W) image turned as ImageOps.exif_transpose turns it for an EXIF orientation tag."""
    turns = {
        2: lambda x: x.flip(-1),                         # FLIP_LEFT_RIGHT
        3: lambda x: x.flip(-1, -2),                     # ROTATE_180
        4: lambda x: x.flip(-2),                         # FLIP_TOP_BOTTOM
        5: lambda x: x.transpose(-1, -2),                # TRANSPOSE
        6: lambda x: torch.rot90(x, -1, (-2, -1)),       # ROTATE_270 (clockwise)
        7: lambda x: x.transpose(-1, -2).flip(-1, -2),   # TRANSVERSE
        8: lambda x: torch.rot90(x, 1, (-2, -1)),        # ROTATE_90 (counter-clockwise)
    }
    turn = turns.get(orientation)
    return image if turn is None else turn(image).contiguous()


def _on_cpu(data: bytes, device: str) -> torch.Tensor | str:
    decoded = decode_bytes(data, None)
    if decoded.error is not None:
        return decoded.error
    return torch.from_numpy(np.ascontiguousarray(decoded.rgb.transpose(2, 0, 1))).to(device)


def _nvjpeg_orientation(data: bytes) -> int | None:
    """The EXIF orientation of a file nvjpeg may decode as decode_bytes would (a baseline or
    progressive YCbCr or greyscale JPEG within the pixel limit); None sends it the CPU way."""
    if not data.startswith(_JPEG_MAGIC):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            image = Image.open(io.BytesIO(data))
            if image.format != "JPEG" or image.mode not in ("RGB", "L"):
                return None
            if image.size[0] * image.size[1] > MAX_PIXELS or getattr(image, "n_frames", 1) != 1:
                return None
            return int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 (whatever Pillow dislikes, decode_bytes will name)
        return None


def _nvjpeg(blobs: list[bytes], device: str) -> list[torch.Tensor | None]:
    """nvjpeg's RGB decode of each blob, None where it refuses: the batch call first, then one
    by one when the batch fails (a batch call gives no partial results)."""
    tvio = _torchvision_io()
    tensors = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]
    try:
        return list(tvio.decode_jpeg(tensors, mode=tvio.ImageReadMode.RGB, device=device))
    except (RuntimeError, ValueError):
        pass
    out: list[torch.Tensor | None] = []
    for tensor in tensors:
        try:
            out.append(tvio.decode_jpeg(tensor, mode=tvio.ImageReadMode.RGB, device=device))
        except (RuntimeError, ValueError):
            out.append(None)
    return out


def decode_batch(blobs: list[bytes], device: str) -> list[torch.Tensor | str]:
    """Per blob, a uint8 (3,H,W) RGB tensor on ``device``, full size and EXIF-oriented, or the
    error sentence decode_bytes gives for it."""
    out: list[torch.Tensor | str | None] = [None] * len(blobs)
    if torch.device(device).type == "cuda" and _torchvision_io() is not None:
        orientations = {i: o for i, b in enumerate(blobs) if (o := _nvjpeg_orientation(b)) is not None}
        if orientations:
            picked = sorted(orientations)
            for i, image in zip(picked, _nvjpeg([blobs[i] for i in picked], device), strict=True):
                if image is not None:
                    out[i] = orient(image, orientations[i])
    return [item if item is not None else _on_cpu(blobs[i], device) for i, item in enumerate(out)]
