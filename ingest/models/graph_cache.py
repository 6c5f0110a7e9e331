"""ONNX graphs made at load (EfficientNet-Lite0's export from its PyTorch weights, the int8
versions of ``quantize.py``), kept on disk so the next worker or run reads them instead of
making them again: a worker that finds EfficientNet-Lite0's graph there never imports torch.

Files live under ``config.cache_root()`` (``$CENSUS_CACHE``, default ``~/.cache/census-warehouse``), one folder per
kind, named by a key that changes with everything the graph is made from. A file that does
not parse as an ONNX graph (half written, foreign) is made again; where the folder cannot be
written the graph is kept in memory for the process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from ..core.config import cache_root

_MEMORY: dict[str, bytes] = {}


def cached_graph(kind: str, key: str, make: Callable[[], bytes]) -> bytes:
    """The serialized graph ``kind/key`` from the cache, or made by ``make`` and cached."""
    import onnx

    path = cache_root() / kind / f"{key}.onnx"
    if str(path) in _MEMORY:
        return _MEMORY[str(path)]
    with contextlib.suppress(OSError):
        cached = path.read_bytes()
        with contextlib.suppress(Exception):
            onnx.load_from_string(cached)
            return cached
    data = make()
    _MEMORY[str(path)] = data
    with contextlib.suppress(OSError):  # a read-only home keeps it in memory only
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(data)
        os.replace(partial, path)
    return data
