"""``ingest run``: ties reader, workers, models and writer together, with provenance."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, TypeVar, get_args

import duckdb

from ..core.choices import Device, LabelCheck, values
from ..core.config import FACE_MIN_SCORE, database_path, ray_address
from ..core.errors import CensusError
from ..models.profiles import PROFILES, build_models
from ..models.runtime import resolve_device, set_inference_threads
from ..sources.layouts import Ignored, iter_images, labels_checked, resolve_layout
from ..sources.layouts import choices as layout_choices
from ..warehouse.db import (
    Batch,
    checkpoint,
    connect,
    disk_full_message,
    init_schema,
    is_disk_full,
    mark_stale_runs,
    run_row,
    table_exists,
)
from ..warehouse.sinks import Sink, WarehouseSink
from .engines.base import EnginePlan
from .engines.registry import EngineSpec, addressed, choose_engine, spec
from .rows import RowMapper, Stats
from .worklist import WorkList

Precision = Literal["fp32", "int8"]
Choice = TypeVar("Choice", bound=StrEnum)


@dataclass(frozen=True)
class RunOptions:
    """What one run does. The command line passes its enums; a Python caller may pass the same
    values as plain strings: each closed set is checked here, once, and nowhere downstream
    (frozen, so no field changes after the check; `dataclasses.replace` checks again)."""

    dataset_root: Path
    dataset: str | None = None
    profile: str = "default"  # a name in PROFILES
    device: Device = Device.auto
    stages: list[str] | None = None
    layout: str = "auto"  # auto, or a name in the layout registry
    labels: LabelCheck = LabelCheck.auto
    manifest: Path | None = None
    shard: tuple[int, int] | None = None
    workers: int | None = None
    batch_size: int = 32
    commit_every: int = 512
    retry_errors: bool = False
    limit: int | None = None
    models_dir: Path | None = None
    overrides: dict[str, str] | None = None
    #: fp32, or int8 (quantised networks where they agree with fp32; ingest/models/quantize.py)
    precision: Precision = "fp32"
    face_min_score: float = FACE_MIN_SCORE
    db: Path | None = None
    #: write the rows as Parquet parts under this folder instead of into the warehouse (`ingest land`)
    parts: Path | None = None
    engine: EngineSpec = field(default_factory=lambda: spec("local"))  # or its name in the engine registry
    ray_address: str | None = None  # a running Ray cluster (else $RAY_ADDRESS, else a local Ray)

    def __post_init__(self) -> None:
        _set(self, "device", _choice(Device, self.device, "Unknown device {!r}: use one of {}."))
        if self.layout not in layout_choices():  # the registry, not the enum: a layout may be added later
            raise CensusError(f"Unknown layout {self.layout!r}: use one of {', '.join(layout_choices())}.")
        _set(self, "labels", _choice(LabelCheck, self.labels, "Unknown --labels {!r}: use one of {}."))
        _set(self, "engine", spec(self.engine))
        if self.ray_address and not self.engine.takes_address:
            raise CensusError(f"--ray-address is for --engine {' or '.join(addressed())}.")
        if self.profile not in PROFILES:
            raise CensusError(f"Unknown profile {self.profile!r}: choose from {', '.join(PROFILES)}.")
        if self.precision not in get_args(Precision):
            raise CensusError(f"Unknown precision {self.precision!r}: choose from {', '.join(get_args(Precision))}.")


def _set(options: RunOptions, name: str, value: object) -> None:
    object.__setattr__(options, name, value)  # the one write of a frozen field: its checked value


def _choice(choices: type[Choice], value: str, message: str) -> Choice:
    """``value`` as a member of ``choices``, or CensusError with ``message`` (the value, the choices)."""
    try:
        return choices(value)
    except ValueError:
        raise CensusError(message.format(value, ", ".join(values(choices)))) from None


@dataclass
class RunSummary:
    dataset: str
    listed: int  # images the dataset lists
    todo: int  # images this run set out to process
    skipped: int  # images of this shard that earlier runs had already done
    stats: Stats
    seconds: float
    run_ids: dict[str, str]
    device: str
    in_shard: int = 0  # images this shard covers (= listed without --shard)
    stale_runs: int = 0  # runs an earlier process left `running`, now marked failed
    workers: int = 0
    parts: Path | None = None  # the run's parts folder, when its rows went to Parquet parts
    landed: bool = False  # whether those parts were landed in the warehouse (the Ray engine's driver)

    @property
    def left_for_later(self) -> int:
        """Images of this shard neither done before nor in this run (held back by --limit)."""
        return self.in_shard - self.skipped - self.todo

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


# resident memory of one CPU worker holding the default profile's networks (BENCHMARKS.md)
WORKER_BYTES = 600 * 2**20


def choose_workers(requested: int | None) -> tuple[int, str | None]:
    """The worker count to use and, when a request was lowered, the sentence saying why.

    More workers than CPUs only queue for the same cores and each holds its own copy of the
    networks, so a request is capped at the CPU count and at what the free memory holds."""
    import psutil

    cpus = os.cpu_count() or 1
    asked = requested is not None
    if requested is None:
        requested = default_workers()
    if requested < 0:
        raise CensusError(f"--workers {requested} is negative: use 0 (all in this process) or a positive count.")
    by_memory = max(1, psutil.virtual_memory().available // WORKER_BYTES)
    cap = min(cpus, by_memory)
    if requested <= cap:
        return requested, None
    if not asked:
        return cap, None
    reason = f"{cpus} CPU(s)" if cap == cpus else f"free memory for {by_memory} worker(s) of ~600 MB"
    return cap, f"--workers {requested} is more than this machine has ({reason}); using {cap}."


def _engine_workers(engine: EngineSpec, requested: int | None, on_cluster: bool) -> tuple[int, str | None]:
    """The worker count the engine's policy gives, and the sentence saying why a request was lowered."""
    if engine.workers == "cluster" and on_cluster:
        return max(0, requested or 0), None  # 0: one actor per CPU (GPU) of the cluster
    if engine.workers == "none":
        return 0, None  # reader threads in this process, no worker processes
    return choose_workers(requested)


@dataclass
class Run:
    """What one `ingest run` works with once its arguments are checked."""

    options: RunOptions
    root: Path
    dataset: str
    device: str
    models: list
    make: Callable[[], list]
    workers: int
    db: Path
    on_start: Callable[[int], None] | None = None
    on_progress: Callable[[Stats], None] | None = None
    on_notice: Callable[[str], None] | None = None
    ignored: Ignored | None = None  # what the listing left out, said once the listing is done

    @property
    def parts(self) -> Path | None:
        """Where the rows go as Parquet parts (the Ray engine's default: ``parts/`` beside the warehouse)."""
        if self.options.parts is not None:
            return Path(self.options.parts)
        return self.db.parent / "parts" if self.options.engine.lands_parts else None


def run_dataset(
    options: RunOptions,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[Stats], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> RunSummary:
    root = options.dataset_root
    if options.dataset is not None and not options.dataset.strip():
        raise CensusError("--dataset is empty: name the dataset, or leave the option out to use the folder name.")
    dataset = options.dataset or root.resolve().name
    device = resolve_device(options.device)
    on_cluster = bool(options.ray_address or ray_address())
    if options.engine.alone and not on_cluster and on_notice:
        on_notice(options.engine.alone)
    workers, lowered = _engine_workers(options.engine, options.workers, on_cluster)
    if lowered and on_notice:
        on_notice(lowered)
    make = functools.partial(
        build_models, options.profile, device=device, stages=options.stages,
        models_dir=options.models_dir, overrides=options.overrides, precision=options.precision,
    )
    models = make()
    for model in models:
        model.check()  # the weight files only: no model is loaded before the work list says there is work
    layout = resolve_layout(root, options.layout, options.manifest)
    set_inference_threads((os.cpu_count() or 1) - workers if workers > 0 else (os.cpu_count() or 1))
    run = Run(options, root, dataset, device, models, make, workers, Path(options.db or database_path()),
              on_start, on_progress, on_notice)
    with WorkList() as worklist:
        run.ignored = Ignored()
        # with --limit the listing goes only as far as the run needs, unless every label is checked first
        pause = options.limit is not None and not labels_checked(options.labels, layout)
        worklist.add_images(iter_images(root, layout, options.manifest, run.ignored, worklist.text_sink(dataset)),
                            dataset, pause=pause)
        listed = worklist.validate(options.labels, layout, root)
        try:
            return _run(run, worklist, listed)
        except duckdb.Error as error:
            if is_disk_full(error):
                raise CensusError(disk_full_message(run.db, error)) from None
            raise


def _run(run: Run, worklist: WorkList, listed: int) -> RunSummary:
    if run.parts is not None:
        return _run_to_parts(run, worklist, listed)
    con = connect(run.options.db)
    try:
        init_schema(con)
        stale = mark_stale_runs(con)
        _add_done(run, worklist, con)
        summary = _work(run, worklist, listed, WarehouseSink(con))
        worklist.copy_captions(con, run.dataset)  # sample captions (webdataset, parquet) of landed images
        checkpoint(con, run.db)
    finally:
        con.close()
    summary.stale_runs = stale
    return summary


def _run_to_parts(run: Run, worklist: WorkList, listed: int) -> RunSummary:
    """Rows go to Parquet parts: the warehouse is only read, at the start, for what is done
    (with what earlier parts under the same folder hold), so others can use it all run long."""
    from ..warehouse.land import land_parts
    from ..warehouse.parts import PartsSink, done_image_ids

    if run.db.exists():
        con = connect(run.db, read_only=True)
        try:
            if table_exists(con, "raw", "runs") and table_exists(con, "raw", "image_runs"):
                _add_done(run, worklist, con)
        finally:
            con.close()
    for index, model in enumerate(run.models):
        worklist.add_done_ids(index, done_image_ids(run.parts, model.annotator, run.dataset,
                                                    run.options.retry_errors))
    sink = PartsSink(run.parts)
    try:
        summary = _work(run, worklist, listed, sink)
    finally:
        sink.close()
    summary.parts = sink.folder
    if not run.options.engine.lands_parts and run.on_notice and (texts := worklist.count_texts()):
        run.on_notice(f"{texts:,} sample captions/metadata are not written to parts; after `ingest land "
                      f"{run.parts}`, rerun this command without --parts (it skips the done images) to copy them.")
    if run.options.engine.lands_parts and run.parts.is_dir():
        # the driver lands what this run wrote, and what earlier runs there left unlanded (killed, say)
        try:
            land_parts([run.parts], run.db, pending_only=True)
            summary.landed = True
            _copy_captions(run, worklist)
        except CensusError as error:
            if run.on_notice:
                run.on_notice(f"{error} The rows are safe in {run.parts}: land them later with `ingest land "
                              f"{run.parts}`.")
    return summary


def _copy_captions(run: Run, worklist: WorkList) -> None:
    """Sample captions (webdataset, parquet) of the images the landing put in the warehouse."""
    con = connect(run.db)
    try:
        worklist.copy_captions(con, run.dataset)
    finally:
        con.close()


def _add_done(run: Run, worklist: WorkList, con) -> None:
    for index, model in enumerate(run.models):
        worklist.add_done(index, con, model.annotator, run.dataset, run.options.retry_errors)


def _listing_notes(run: Run, worklist: WorkList, listed: int) -> None:
    if run.on_notice is None:
        return
    for message in run.ignored.messages() if run.ignored else ():
        run.on_notice(message)
    if not worklist.complete:
        run.on_notice(f"--limit {run.options.limit}: listing stopped after the first {listed:,} images, which hold "
                      "enough to do; 'images listed' and 'left for a later run' count only those.")


def _work(run: Run, worklist: WorkList, listed: int, sink: Sink) -> RunSummary:
    options = run.options
    listed = worklist.list_until_todo(options.shard, options.limit)  # a paused listing goes on as far as needed
    _listing_notes(run, worklist, listed)
    in_shard = worklist.count_in_shard(options.shard)
    all_todo = worklist.count_todo(options.shard, None)
    todo = min(all_todo, options.limit) if options.limit is not None else all_todo
    stats = Stats()
    run_ids: dict[str, str] = {}
    started = time.perf_counter()
    if run.on_start:
        run.on_start(todo)
    if todo:
        run_ids = _process(run, sink, worklist.todo(options.shard, options.limit), stats)
    seconds = time.perf_counter() - started
    return RunSummary(run.dataset, listed, todo, in_shard - all_todo, stats, seconds, run_ids, run.device,
                      in_shard=in_shard, workers=run.workers)


def _process(run: Run, sink: Sink, items, stats: Stats) -> dict[str, str]:
    """Stream the work items through the models into the sink; returns the run ids."""
    if run.options.precision == "int8":  # quantise once here (cached) rather than in every worker at once
        for model in run.make():
            if model.precision == "int8":
                model.load()
    models = run.models
    plan = EnginePlan(run.root, models, run.make, run.workers, _max_side(models), run.options.batch_size)
    engine_type = choose_engine(run.device, run.workers, run.options.engine, run.options.ray_address)
    with engine_type(plan) as engine:
        results = engine.results(items)
        # the first result proves the workers loaded their models, before any row lands
        results = itertools.chain([first], results) if (first := next(results, None)) else results
        runs = _run_rows(models, run.dataset, run.device, run.options, engine)
        sink.start_runs(runs)
        run_ids = {row["annotator"]: row["run_id"] for row in runs}
        mapper = RowMapper(models, [run_ids[m.annotator] for m in models], run.dataset, run.options.face_min_score)
        status = "failed"
        try:
            _stream(run, results, mapper, sink, stats)
            status = "complete"
        finally:
            with contextlib.suppress(duckdb.Error, OSError) if status == "failed" else contextlib.nullcontext():
                sink.finish(status)
    return run_ids


def _run_rows(models, dataset, device, options, engine) -> list[dict]:
    rows = []
    for model in models:
        params = {**model.params(), "profile": options.profile, "precision": model.precision,
                  "shard": list(options.shard) if options.shard else None,
                  "dataset_root": str(options.dataset_root.resolve()), **engine.run_params(model)}
        if engine.name != "local":  # the engine that ran (--device cuda may choose torch by itself)
            params["engine"] = engine.name
        rows.append(run_row(stage=model.stage, annotator=model.annotator, dataset=dataset,
                            model_digest=model.digest(), params=params, device=device))
    return rows


def _stream(run: Run, results, mapper: RowMapper, sink: Sink, stats: Stats) -> None:
    """Map each finished image to rows and land them every ``commit_every`` images. On an
    interrupt the images finished so far are written before it goes on."""
    buffered = Batch()
    try:
        for done in results:
            buffered.extend(mapper.rows(done, stats))
            if run.on_progress:
                run.on_progress(stats)
            if len(buffered) >= run.options.commit_every:
                sink.write(buffered)
                buffered.clear()
    except KeyboardInterrupt:
        # a write cut short was rolled back and is redone here; had it in fact landed, its rows are there
        with contextlib.suppress(Exception):
            sink.write(buffered)
        raise
    sink.write(buffered)


def _max_side(models) -> int | None:
    sides = [m.wanted_side for m in models]
    if not sides or any(s is None for s in sides):
        return None
    return max(sides)
