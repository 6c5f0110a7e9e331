"""``ingest run``: ties reader, workers, models and writer together, with provenance."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import CensusError
from .layouts import iter_images, resolve_layout
from .models.runtime import resolve_device, set_inference_threads
from .pipeline import Stats, Workers, infer_batch, prepared_stream
from .profiles import build_models
from .warehouse import Batch, connect, finish_run, init_schema, start_run, write_batch
from .worklist import WorkList


@dataclass
class RunOptions:
    dataset_root: Path
    dataset: str | None = None
    profile: str = "default"
    device: str = "auto"
    stages: list[str] | None = None
    layout: str = "auto"
    labels: str = "auto"
    manifest: Path | None = None
    shard: tuple[int, int] | None = None
    workers: int | None = None
    batch_size: int = 32
    commit_every: int = 512
    retry_errors: bool = False
    limit: int | None = None
    models_dir: Path | None = None
    overrides: dict[str, str] | None = None
    face_min_score: float = 0.9
    db: Path | None = None


@dataclass
class RunSummary:
    dataset: str
    listed: int
    todo: int
    skipped: int
    stats: Stats
    seconds: float
    run_ids: dict[str, str]
    device: str

    @property
    def images_per_s(self) -> float:
        return self.stats.seen / self.seconds if self.seconds > 0 else 0.0


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``k/n`` with 1 <= k <= n, returned 0-based as (k-1, n)."""
    if not text:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise CensusError(f"--shard {text!r} is not of the form k/n, e.g. 1/4.") from None
    if n < 1 or not 1 <= k <= n:
        raise CensusError(f"--shard {text!r} needs 1 <= k <= n, e.g. 1/4 ... 4/4.")
    return (k - 1, n)


def default_workers() -> int:
    return max(1, (os.cpu_count() or 2))


def run_dataset(
    options: RunOptions,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[Stats], None] | None = None,
) -> RunSummary:
    root = options.dataset_root
    dataset = options.dataset or root.resolve().name
    device = resolve_device(options.device)
    make = functools.partial(
        build_models, options.profile, device=device, stages=options.stages,
        models_dir=options.models_dir, overrides=options.overrides,
    )
    models = make()
    for model in models:
        model.check()
    layout = resolve_layout(root, options.layout, options.manifest)
    workers = options.workers if options.workers is not None else default_workers()
    set_inference_threads((os.cpu_count() or 1) - workers if workers > 0 else (os.cpu_count() or 1))
    with WorkList() as worklist:
        worklist.add_images(iter_images(root, layout, options.manifest), dataset)
        listed = worklist.validate(options.labels, layout, root)
        return _run(options, root, dataset, device, models, make, workers, worklist, listed,
                    on_start, on_progress)


def _run(options, root, dataset, device, models, make, workers, worklist, listed, on_start, on_progress):
    con = connect(options.db)
    try:
        init_schema(con)
        for index, model in enumerate(models):
            worklist.add_done(index, con, model.annotator, dataset, options.retry_errors)
        todo = worklist.count_todo(options.shard, options.limit)
        items = worklist.todo(options.shard, options.limit)
        stats = Stats()
        run_ids: dict[str, str] = {}
        started = time.perf_counter()
        if todo:
            max_side = _max_side(models)
            # on a CPU the workers run the networks too (see pipeline.py); on a GPU the main process does
            in_workers = workers > 0 and device == "cpu"
            with contextlib.ExitStack() as stack:
                pool = None
                if workers > 0:
                    pool = stack.enter_context(Workers(root, make, workers, max_side, in_workers))
                if not in_workers:
                    for model in models:
                        model.load()  # a model that cannot load stops here, before any row lands
                stream = prepared_stream(root, models, items, pool=pool, max_side=max_side)
                # the first result proves the workers loaded their models, before any row lands
                stream = itertools.chain([first], stream) if (first := next(stream, None)) else stream
                if on_start:
                    on_start(todo)
                run_ids = _start_runs(con, models, dataset, device, options)
                ids = [run_ids[m.annotator] for m in models]
                status = "failed"
                try:
                    _stream(options, models, stream, ids, dataset, con, stats, on_progress)
                    status = "complete"
                finally:
                    for run_id in ids:
                        finish_run(con, run_id, status)
        elif on_start:
            on_start(0)
        seconds = time.perf_counter() - started
    finally:
        con.close()
    return RunSummary(dataset, listed, todo, listed - todo, stats, seconds, run_ids, device)


def _start_runs(con, models, dataset, device, options) -> dict[str, str]:
    run_ids = {}
    for model in models:
        params = {**model.params(), "profile": options.profile,
                  "shard": list(options.shard) if options.shard else None,
                  "dataset_root": str(options.dataset_root.resolve())}
        run_ids[model.annotator] = start_run(
            con, stage=model.stage, annotator=model.annotator, dataset=dataset,
            model_digest=model.digest(), params=params, device=device,
        )
    return run_ids


def _stream(options, models, stream, ids, dataset, con, stats, on_progress) -> None:
    pending: list = []
    buffered = Batch()

    def infer_pending() -> None:
        buffered.extend(infer_batch(models, ids, dataset, pending, stats, options.face_min_score))
        pending.clear()

    def write() -> None:
        write_batch(con, buffered)
        buffered.clear()

    try:
        for prepared in stream:
            pending.append(prepared)
            if len(pending) >= options.batch_size:
                infer_pending()
                if on_progress:
                    on_progress(stats)
            if len(buffered) >= options.commit_every:
                write()
    except KeyboardInterrupt:
        # keep the images finished so far; a write cut short was rolled back and is redone here,
        # and if that write had in fact landed, its rows are already there
        with contextlib.suppress(Exception):
            infer_pending()
            write()
        raise
    infer_pending()
    write()
    if on_progress:
        on_progress(stats)


def _max_side(models) -> int | None:
    sides = [m.wanted_side for m in models]
    if not sides or any(s is None for s in sides):
        return None
    return max(sides)
