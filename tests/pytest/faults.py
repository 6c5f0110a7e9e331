"""The catalogue of file faults a scraped dataset meets, each with how to make it and the
outcome the census promises. RELIABILITY.md is generated from this table and checked
against it by the test suite."""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Fault:
    name: str
    file_name: str
    make: Callable[[Path], None]
    outcome: str  # "ok" or "error"
    reason: str  # substring of the recorded error ("" when ok)
    note: str


def _photo(size=(500, 375), seed=1) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def _jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **kwargs)
    return buffer.getvalue()


def truncated(path: Path) -> None:
    data = _jpeg_bytes(_photo())
    path.write_bytes(data[: len(data) // 2])


def zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def text_file(path: Path) -> None:
    path.write_text("<html>404 Not Found</html>\n")


def bomb(path: Path) -> None:
    # a PNG whose header claims 40000 x 40000 pixels (4.8 GB decoded)
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def dangling(path: Path) -> None:
    os.symlink(path.parent / "does-not-exist.JPEG", path)


def unreadable(path: Path) -> None:
    _photo().save(path, format="JPEG")
    path.chmod(0)


def animated_gif(path: Path) -> None:
    frames = [_photo((200, 150), seed=s).convert("P") for s in range(3)]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=100)


def png16(path: Path) -> None:
    array = (np.random.default_rng(2).integers(0, 65535, (300, 400))).astype(np.uint16)
    Image.fromarray(array).save(path, format="PNG")


def cmyk(path: Path) -> None:
    _photo().convert("CMYK").save(path, format="JPEG")


def grayscale(path: Path) -> None:
    _photo().convert("L").save(path, format="JPEG")


def png_named_jpeg(path: Path) -> None:
    _photo().save(path, format="PNG")


def exif_rotated(path: Path) -> None:
    image = _photo((500, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    image.save(path, format="JPEG", exif=exif)


def rgba_png(path: Path) -> None:
    _photo().convert("RGBA").save(path, format="PNG")


def tiny(path: Path) -> None:
    _photo((1, 1)).save(path, format="JPEG")


FAULTS: list[Fault] = [
    Fault("truncated JPEG", "truncated.JPEG", truncated, "error", "cannot decode",
          "the error row says the file is truncated"),
    Fault("zero-byte file", "empty.JPEG", zero_bytes, "error", "empty file", "recorded, run goes on"),
    Fault("text file named .JPEG", "page.JPEG", text_file, "error", "not an image",
          "an HTML error page saved by a scraper"),
    Fault("decompression bomb (40000 x 40000)", "bomb.JPEG", bomb, "error", "decompression bomb",
          "refused before any pixel is decoded"),
    Fault("dangling symlink", "dangling.JPEG", dangling, "error", "file not found", "listed, not followed"),
    Fault("unreadable file (mode 000)", "unreadable.JPEG", unreadable, "error", "permission denied",
          "skipped when tests run as root, who can read anything"),
    Fault("non-UTF-8 file name", "caf\udce9.JPEG", grayscale, "ok", "",
          "stored with the undecodable byte escaped; processed"),
    Fault("animated GIF", "anim.gif", animated_gif, "ok", "", "first frame is used"),
    Fault("16-bit PNG", "deep.png", png16, "ok", "", "scaled to 8 bits"),
    Fault("CMYK JPEG", "cmyk.JPEG", cmyk, "ok", "", "converted to RGB (ILSVRC-2012 has 22)"),
    Fault("grayscale JPEG", "gray.JPEG", grayscale, "ok", "", "replicated to three channels"),
    Fault("PNG named .JPEG", "png.JPEG", png_named_jpeg, "ok", "",
          "format sniffed from content (ILSVRC-2012 has one)"),
    Fault("EXIF-rotated photo", "rotated.JPEG", exif_rotated, "ok", "",
          "oriented before the models; width/height are the oriented size"),
    Fault("RGBA PNG", "alpha.png", rgba_png, "ok", "", "composited on white"),
    Fault("1x1 pixel image", "tiny.JPEG", tiny, "ok", "", "processed; no face"),
]
