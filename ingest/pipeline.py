"""The streaming pass: a reader lists work, decode workers decode each image once and run
every stage's CPU preparation, the networks run, and one writer lands rows in DuckDB in
large transactions. Memory is bounded by ``max_inflight``.

Where the networks run depends on the device. On a GPU the main process runs them on
batches that every stage shares. On a CPU each worker runs them too, one image at a time
on one thread: batching makes CPU inference slower per image (BENCHMARKS.md), and a worker
that carries an image from file to answers keeps every core busy with no hand-off."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .decode import Decoded, decode_path
from .errors import CensusError
from .layouts import ImageRef
from .models import Model
from .warehouse import Batch


@dataclass(frozen=True, slots=True)
class WorkItem:
    ref: ImageRef
    image_id: str
    stages: tuple[int, ...]  # indices into the model list still to run on this image


@dataclass(slots=True)
class Prepared:
    item: WorkItem
    decoded: Decoded  # rgb dropped before it crosses back to the main process
    inputs: dict[int, Any] = field(default_factory=dict)  # prepared, not yet inferred
    outcomes: dict[int, Any] = field(default_factory=dict)  # inferred in the worker
    errors: dict[int, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Stats:
    seen: int = 0
    ok: int = 0
    errors: int = 0
    faces: int = 0
    faces_kept: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def add_time(self, key: str, seconds: float) -> None:
        self.stage_seconds[key] = self.stage_seconds.get(key, 0.0) + seconds


def prepare_item(
    root: Path, models: list[Model], item: WorkItem, max_side: int | None, infer: bool = False
) -> Prepared:
    started = time.perf_counter()
    decoded = decode_path(root / item.ref.rel_path, max_side, root)
    result = Prepared(item, decoded)
    result.seconds["decode"] = time.perf_counter() - started
    if decoded.error is None:
        for index in item.stages:
            model = models[index]
            t0 = time.perf_counter()
            try:
                result.inputs[index] = model.prepare(decoded)
            except Exception as error:  # noqa: BLE001 - one bad image never stops a run
                result.errors[index] = f"{model.stage} preparation failed: {error}"
            result.seconds[f"{model.stage}.prepare"] = time.perf_counter() - t0
    decoded.rgb = None
    if infer:
        _infer_one(models, result)
    return result


def _infer_one(models: list[Model], result: Prepared) -> None:
    """Run each network on this one image, in this process."""
    for index, value in list(result.inputs.items()):
        model = models[index]
        t0 = time.perf_counter()
        try:
            result.outcomes[index] = model.infer([value])[0]
        except Exception as error:  # noqa: BLE001 - one bad image never stops a run
            result.errors[index] = f"{model.stage} inference failed: {error}"
        result.seconds[f"{model.stage}.infer"] = time.perf_counter() - t0
    result.inputs.clear()


# -- worker process state ---------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(root: str, factory: Callable[[], list[Model]], max_side: int | None, infer: bool,
                 parent_pid: int) -> None:
    import signal

    from .interrupts import die_with_parent
    from .models.runtime import set_inference_threads

    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    os.environ.setdefault("OMP_NUM_THREADS", "1")
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


def _chunked(items: Iterable[WorkItem], size: int) -> Iterator[list[WorkItem]]:
    piece: list[WorkItem] = []
    for item in items:
        piece.append(item)
        if len(piece) == size:
            yield piece
            piece = []
    if piece:
        yield piece


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
        self._args = (str(root), factory, max_side, infer, os.getpid())
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(self.count, mp_context=mp.get_context("spawn"),
                                       initializer=_init_worker, initargs=self._args)
        for _ in range(self.count):  # start them now: imports and set-up overlap the caller's work
            executor.submit(_ping)
        return executor

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


def prepared_stream(
    root: Path,
    models: list[Model],
    items: Iterable[WorkItem],
    *,
    pool: Workers | None = None,
    max_side: int | None,
    chunk: int = 8,
    max_inflight: int = 32,
) -> Iterator[Prepared]:
    """Prepared images in work-list order; at most ``max_inflight`` chunks in flight.
    Without a pool the images are prepared in this process."""
    if pool is None:
        for item in items:
            yield prepare_item(root, models, item, max_side)
        return
    chunks = _chunked(items, chunk)
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
            yield from _recover(root, pool, lost)
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


def infer_batch(
    models: list[Model], run_ids: list[str], dataset: str, prepared: list[Prepared],
    stats: Stats, face_min_score: float,
) -> Batch:
    """Run every model on its share of the batch and turn results into raw rows."""
    batch = Batch()
    outcomes: dict[tuple[int, int], Any] = {
        (pos, index): value for pos, p in enumerate(prepared) for index, value in p.outcomes.items()
    }
    for index, model in enumerate(models):
        members = [(pos, p) for pos, p in enumerate(prepared) if index in p.inputs]
        if not members:
            continue
        t0 = time.perf_counter()
        for pos, value in _infer_isolated(model, index, members):
            outcomes[(pos, index)] = value
        stats.add_time(f"{model.stage}.infer", time.perf_counter() - t0)
    for pos, item in enumerate(prepared):
        for key, seconds in item.seconds.items():
            stats.add_time(key, seconds)
        _rows_for(batch, models, run_ids, dataset, pos, item, outcomes, stats, face_min_score)
    return batch


def _infer_isolated(
    model: Model, index: int, members: list[tuple[int, Prepared]]
) -> list[tuple[int, Any]]:
    """Batched inference; if the batch fails, retry one by one so only bad images error."""
    step = model.cpu_batch if model.device == "cpu" else len(members)
    try:
        values = []
        for start in range(0, len(members), step):
            values.extend(model.infer([p.inputs[index] for _, p in members[start : start + step]]))
        return [(pos, value) for (pos, _), value in zip(members, values, strict=True)]
    except Exception:  # noqa: BLE001
        out: list[tuple[int, Any]] = []
        for pos, p in members:
            try:
                out.append((pos, model.infer([p.inputs[index]])[0]))
            except Exception as error:  # noqa: BLE001
                out.append((pos, error))
        return out


def _rows_for(batch, models, run_ids, dataset, pos, item: Prepared, outcomes, stats, min_score):
    ref, decoded = item.item.ref, item.decoded
    stats.seen += 1
    batch.images.append({
        "image_id": item.item.image_id, "dataset": dataset, "split": ref.split, "wnid": ref.wnid,
        "rel_path": ref.stored_path, "file_bytes": decoded.file_bytes, "sha256": decoded.sha256,
        "width": decoded.width, "height": decoded.height, "decode_error": decoded.error,
    })
    any_error = decoded.error is not None
    for index in item.item.stages:
        run_id = run_ids[index]
        error = decoded.error or item.errors.get(index)
        value = outcomes.get((pos, index)) if error is None else None
        if error is None and isinstance(value, Exception):
            error = f"{models[index].stage} inference failed: {value}"
        if error is not None:
            any_error = True
            batch.image_runs.append({"run_id": run_id, "image_id": item.item.image_id,
                                     "status": "error", "error": error})
            continue
        batch.image_runs.append({"run_id": run_id, "image_id": item.item.image_id,
                                 "status": "ok", "error": None})
        _result_rows(batch, models[index].stage, run_id, item.item.image_id, value, stats, min_score)
    if any_error:
        stats.errors += 1
    else:
        stats.ok += 1


def _result_rows(batch: Batch, stage: str, run_id: str, key: str, value, stats: Stats,
                 min_score: float) -> None:
    if stage == "faces":
        for face in value:
            batch.faces.append({"run_id": run_id, "image_id": key, **face})
            stats.faces += 1
            stats.faces_kept += face["det_score"] >= min_score
    elif stage == "nsfw":
        batch.nsfw.append({"run_id": run_id, "image_id": key, **value})
    elif stage == "classify":
        for row in value:
            batch.predictions.append({"run_id": run_id, "image_id": key, **row})
