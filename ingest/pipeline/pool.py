"""Worker processes and their crash recovery: a pool that prepares (and on a CPU also infers)
images in work-list order and outlives a dying worker."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from pathlib import Path
from typing import Any

from ..core.config import WORKER_ENV, set_env_defaults
from ..core.errors import CensusError
from ..images.decode import Decoded
from ..models import Model
from .prepare import Prepared, prepare_item
from .worklist import WorkItem

# -- worker process state ---------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(root: str, factory: Callable[[], list[Model]], max_side: int | None, infer: bool,
                 parent_pid: int) -> None:
    import signal

    from ..core.interrupts import die_with_parent
    from ..models.runtime import set_inference_threads

    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    set_env_defaults(WORKER_ENV)
    set_inference_threads(1)
    _WORKER.update(root=Path(root), max_side=max_side, infer=infer, load_error=None)
    try:
        models = factory()
        if infer:
            for model in models:
                model.load()
    except Exception as error:  # noqa: BLE001 - reported with the first chunk, not a respawn loop
        _WORKER["load_error"] = f"{type(error).__name__}: {error}"
        return
    _WORKER["models"] = models


def _work_chunk(items: list[WorkItem]) -> list[Prepared]:
    if _WORKER["load_error"]:
        raise CensusError(f"A worker could not load the models: {_WORKER['load_error']}")
    return [
        prepare_item(_WORKER["root"], _WORKER["models"], item, _WORKER["max_side"], _WORKER["infer"])
        for item in items
    ]


WORKER_DIED = ("the worker process died while reading or processing this file (a crash in a native "
               "library, or out of memory); the image was skipped and the run went on")


def _ping() -> bool:
    return True


class Workers:
    """Worker processes; they start (imports, detector set-up, and the networks when
    ``infer``) while the caller goes on, and they outlive a dying worker: the images it had in flight are retried
    one at a time in fresh processes, and an image that kills its worker again becomes an
    error row instead of stopping the run."""

    def __init__(self, root: Path, factory: Callable[[], list[Model]], count: int, max_side: int | None,
                 infer: bool = False) -> None:
        self.count = count
        self.root = root
        self._args = (str(root), factory, max_side, infer, os.getpid())
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(self.count, mp_context=mp.get_context("spawn"),
                                       initializer=_init_worker, initargs=self._args)
        for _ in range(self.count):  # start them now: imports and set-up overlap the caller's work
            executor.submit(_ping)
        return executor

    def stream(self, items: Iterable[WorkItem], chunk: int = 8, max_inflight: int = 32) -> Iterator[Prepared]:
        """The items' results in work-list order, ``chunk`` images per task and at most
        ``max_inflight`` tasks in flight (memory stays bounded)."""
        return _stream(self, items, chunk, max_inflight)

    def submit(self, items: list[WorkItem]) -> Future:
        return self._executor.submit(_work_chunk, items)

    def restart(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()
        try:
            self._executor.submit(_ping).result()
        except BrokenProcessPool:
            raise CensusError(
                "Worker processes die as soon as they start (a crash while loading the models, or "
                "too little memory); rerun with --workers 0 to see the error in this process."
            ) from None

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stream(pool: Workers, items: Iterable[WorkItem], chunk: int, max_inflight: int) -> Iterator[Prepared]:
    iterator = iter(items)
    chunks = iter(lambda: list(islice(iterator, chunk)), [])
    pending: deque[tuple[list[WorkItem], Future]] = deque()

    def fill() -> None:
        while len(pending) < max_inflight and (piece := next(chunks, None)) is not None:
            pending.append((piece, pool.submit(piece)))

    fill()
    while pending:
        piece, future = pending.popleft()
        try:
            results = future.result()
        except BrokenProcessPool:
            lost = [(piece, future), *pending]
            pending.clear()
            yield from _recover(pool.root, pool, lost)
            fill()
            continue
        fill()
        yield from results


def _recover(root: Path, pool: Workers, lost: list[tuple[list[WorkItem], Future]]) -> Iterator[Prepared]:
    """After a worker died: keep what finished, redo the rest one image at a time."""
    pool.restart()
    for piece, future in lost:
        if future.done() and not future.cancelled() and future.exception() is None:
            yield from future.result()
            continue
        for item in piece:
            try:
                yield from pool.submit([item]).result()
            except BrokenProcessPool:
                yield _died(root, item)
                pool.restart()


def _died(root: Path, item: WorkItem) -> Prepared:
    try:
        size: int | None = (root / item.ref.rel_path).stat().st_size
    except OSError:
        size = None
    return Prepared(item, Decoded(file_bytes=size, sha256=None, width=None, height=None, error=WORKER_DIED))
