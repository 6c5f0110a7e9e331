"""Images from the dataset to decoded tensors on the device, a batch at a time, ahead of the
networks: a pool of threads reads the bytes (through the same gate as every engine) and a
background thread decodes batch n+1 while the networks run on batch n.

Free of the warehouse and of DuckDB, so the GPU bench imports it on a machine without them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Generic, TypeVar

import torch
from PIL import Image

from ...images.decode import Decoded, NotRead, _draft_size, decode_bytes, read_bytes
from ...sources.locators import read_ref, split_locator

T = TypeVar("T")


def read_image(root: Path, rel_path: str) -> tuple[bytes | None, Decoded]:
    """An image's bytes and what is known of it before decoding (size, sha256), or None and
    the error row's facts, with the sentences ``locators.decode_ref`` records."""
    container = split_locator(rel_path) is not None and not os.path.lexists(root / rel_path)
    try:
        data = read_ref(root, rel_path) if container else read_bytes(root / rel_path, root)
    except NotRead as error:
        return None, Decoded(error.file_bytes, None, None, None, error=str(error))
    except FileNotFoundError as error:
        return None, Decoded(None, None, None, None, error=f"file not found: {error}")
    except PermissionError as error:
        text = f"cannot read the file: {error.strerror or error}" if container else "permission denied reading the file"
        return None, Decoded(None, None, None, None, error=text)
    except IsADirectoryError as error:
        text = f"cannot read the file: {error.strerror or error}" if container else "a folder, not a file"
        return None, Decoded(None, None, None, None, error=text)
    except OSError as error:
        text = f"cannot read the file: {error.strerror or error}" if container else \
            f"cannot read the file: {error.strerror}"
        return None, Decoded(None, None, None, None, error=text)
    return data, Decoded(len(data), hashlib.sha256(data).hexdigest(), None, None)


@dataclass
class Loaded(Generic[T]):
    """One batch: its items, per item the facts for raw.images (error set where it was not
    read or did not decode) and its decoded (3,H,W) uint8 RGB tensor (None on an error)."""

    items: list[T]
    facts: list[Decoded]
    images: list[torch.Tensor | None]
    scales: list[float]  # per image: its pixels -> the oriented original's (1.0 but for JPEG drafts)
    seconds: float  # reading and decoding the batch (wall time of the background threads)


class _Stop(Exception):
    pass


def _tensor(rgb) -> torch.Tensor:
    """(3,H,W) uint8 from a decoded (H,W,3) array (a copy: Pillow's arrays are read-only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "not writable": it is only read, into the copy
        return torch.from_numpy(rgb).permute(2, 0, 1).contiguous()


def _decode_one(data: bytes) -> torch.Tensor | str:
    from .decode import decode_batch

    return decode_batch([data], "cpu")[0]


class Loader(Generic[T]):
    """Reads and decodes batches of ``(item, rel_path)`` ahead of their use, ``depth`` batches
    at most; iterate it once. On CUDA the decoding runs on its own stream. ``max_side``: the
    largest side a stage wants (the runner's), for the JPEGs the CPU path decodes reduced."""

    def __init__(self, root: Path, items: Iterable[tuple[T, str]], batch_size: int, device: str,
                 max_side: int | None = None, threads: int | None = None, depth: int = 2) -> None:
        self.root, self.batch_size, self.device, self.max_side = root, batch_size, device, max_side
        self.items = iter(items)
        self.threads = threads or min(16, os.cpu_count() or 1)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="census-torch-loader", daemon=True)
        self._stream = torch.cuda.Stream() if device.startswith("cuda") else None

    def __iter__(self) -> Iterator[Loaded[T]]:
        self._thread.start()
        try:
            while True:
                got = self._queue.get()
                if got is None:
                    return
                if isinstance(got, BaseException):
                    raise got
                if self._stream is not None:  # made on the decode stream, used on this one
                    for image in got.images:
                        if image is not None:
                            image.record_stream(torch.cuda.current_stream())
                yield got
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is None:  # never started
            return
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.1)
        self._thread.join()

    def _put(self, value) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stop

    def _produce(self) -> None:
        try:
            with ThreadPoolExecutor(self.threads, thread_name_prefix="census-read") as pool, \
                    ThreadPoolExecutor(1, thread_name_prefix="census-read-ahead") as ahead:
                next_read = ahead.submit(self._read, pool)
                while not self._stop.is_set():
                    chunk, read, seconds = next_read.result()
                    if not chunk:
                        break
                    next_read = ahead.submit(self._read, pool)  # batch n+1 is read while n decodes
                    self._put(self._decode(pool, chunk, read, seconds))
            self._put(None)
        except _Stop:
            return
        except BaseException as error:  # noqa: BLE001 - raised again in the consumer
            try:
                self._put(error)
            except _Stop:
                return

    def _read(self, pool: ThreadPoolExecutor) -> tuple[list[tuple[T, str]], list, float]:
        t0 = time.perf_counter()
        chunk = list(islice(self.items, self.batch_size))
        read = list(pool.map(lambda pair: self._read_one(pair[1]), chunk))
        return chunk, read, time.perf_counter() - t0

    def _read_one(self, rel_path: str) -> tuple[bytes | None, Decoded]:
        """The bytes, or (a JPEG the CPU path decodes at a reduced size) the image decoded here
        exactly as the CPU path decodes it: JPEG draft to at least ``max_side``, in ``rgb``."""
        data, facts = read_image(self.root, rel_path)
        if data is not None and self.max_side and drafted(data, self.max_side):
            return None, decode_bytes(data, self.max_side)
        return data, facts

    def _decode(self, pool: ThreadPoolExecutor, chunk: list[tuple[T, str]], read: list,
                read_seconds: float) -> Loaded[T]:
        t0 = time.perf_counter()
        facts = [decoded for _, decoded in read]
        todo = [i for i, (data, _) in enumerate(read) if data is not None]
        small = [i for i, fact in enumerate(facts) if fact.rgb is not None]
        images: list[torch.Tensor | None] = [None] * len(chunk)
        if self._stream is None:  # on a CPU: one image per thread (PIL lets go of the GIL)
            decoded = list(pool.map(_decode_one, [read[i][0] for i in todo]))
            for i in small:
                images[i] = _tensor(facts[i].rgb)
        else:
            from .decode import decode_batch

            with torch.cuda.stream(self._stream):
                decoded = decode_batch([read[i][0] for i in todo], self.device)
                for i in small:  # pinned, so the copy runs beside the decoding
                    pinned = _tensor(facts[i].rgb).pin_memory()
                    images[i] = pinned.to(self.device, non_blocking=True)
            self._stream.synchronize()
        scales = [1.0] * len(chunk)
        for i in small:
            scales[i], facts[i].rgb = facts[i].scale, None
        for i, value in zip(todo, decoded, strict=True):
            if isinstance(value, str):  # the facts decode_bytes records with the error (a bomb's size)
                refused = decode_bytes(read[i][0], 1)
                facts[i].width, facts[i].height, facts[i].error = refused.width, refused.height, value
            else:
                images[i] = value
                facts[i].height, facts[i].width = int(value.shape[-2]), int(value.shape[-1])
        return Loaded([item for item, _ in chunk], facts, images, scales, read_seconds + time.perf_counter() - t0)


def drafted(data: bytes, max_side: int) -> bool:
    """Whether ``decode_bytes(data, max_side)`` decodes this JPEG at a reduced size (DCT scaling
    to at least ``max_side``: a side of 2 x max_side or more). Such images are decoded that way on
    the CPU, so every stage sees the CPU path's pixels; the others are decoded at full size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG" or max(image.size) <= max_side:
                return False
            size = image.size
            image.draft("RGB", _draft_size(size, max_side))
            return image.size != size
    except Exception:  # noqa: BLE001 - whatever Pillow refuses, the decoder names
        return False
