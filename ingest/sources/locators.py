"""Where an image's bytes are: a file, or a member of a container file (the one gate from a
rel_path to bytes for every engine).

A rel_path is a plain path relative to the dataset root, or a locator
``<container>#<member>`` of a container layout of the registry (``layouts/registry.py``):
``shard.tar#<key>`` (a webdataset sample) or ``file.parquet#<row>`` (a row of a Parquet file
of image bytes). A plain file whose name holds ``.tar#`` or ``.parquet#`` is still read as that
file when it exists. Containers are read only inside the dataset root, as files are.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..images.decode import Decoded, NotRead, decode_bytes, decode_path
from .layouts.registry import containers


def split_locator(rel_path: str) -> tuple[str, str, str] | None:
    """(container rel_path, kind, member) for a locator, or None for a plain path."""
    for suffix in containers():
        marker = f"{suffix}#"
        index = rel_path.lower().find(marker)
        if index > 0:
            end = index + len(suffix)
            return rel_path[:end], suffix, rel_path[end + 1:]
    return None


def locator(container_rel: str, member: str | int) -> str:
    return f"{container_rel}#{member}"


def read_ref(root: Path, rel_path: str) -> bytes:
    """The bytes a locator names (NotRead / OSError as :func:`decode.read_bytes`)."""
    parts = split_locator(rel_path)
    if parts is None:
        raise ValueError("not a locator")
    container, kind, member = parts
    return containers()[kind].read(root / container, member, root)


def decode_ref(root: Path, rel_path: str, max_side: int | None) -> Decoded:
    """Read and decode one image by its rel_path (a file or a container member) under root."""
    if split_locator(rel_path) is None or os.path.lexists(root / rel_path):
        return decode_path(root / rel_path, max_side, root)
    try:
        data = read_ref(root, rel_path)
    except NotRead as error:
        return Decoded(error.file_bytes, None, None, None, error=str(error))
    except FileNotFoundError as error:
        return Decoded(None, None, None, None, error=f"file not found: {error}")
    except OSError as error:
        return Decoded(None, None, None, None, error=f"cannot read the file: {error.strerror or error}")
    return decode_bytes(data, max_side)
