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

from .choices import Device, LabelCheck, Layout
from .config import database_path
from .errors import CensusError
from .profiles import PROFILES
from .stages import importable

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
ImportKind = StrEnum("ImportKind", {table: table for table in importable()})  # from the stage registry
console = Console(stderr=True)
# Logs and pipes get 120 columns rather than Rich's default 80, so tables stay readable.
out = Console() if sys.stdout.isatty() else Console(width=120)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file; defaults to $CENSUS_DB or warehouse/census.duckdb."),
]


def fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
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


@app.command()
@_guard
def init(db: DbOption = None) -> None:
    """Create the warehouse with the raw schema (idempotent: existing rows are kept)."""
    from .warehouse import connect, init_schema, table_counts

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
        help="auto: ilsvrc when train/ holds wnid folders, else folders; manifest with --manifest.")] = Layout.auto,
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
        help="Swap one stage's model, e.g. --model nsfw=yahoo/open_nsfw (repeatable).")] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON line.")] = False,
) -> None:
    """Run every stage of a profile over a dataset, once per image, into raw.* tables.

    Resumable: a rerun skips images the same models already processed. Shardable:
    --shard k/n takes a deterministic 1/n of the images.
    """
    from .config import models_dir as env_models_dir
    from .interrupts import Interrupted, stop_on_signals
    from .profiles import parse_overrides, parse_stages
    from .runner import RunOptions, parse_shard, run_dataset

    if manifest is None and not dataset_root.exists():
        raise CensusError(f"The dataset folder {dataset_root} does not exist.")
    options = RunOptions(
        dataset_root=dataset_root, dataset=dataset, profile=profile.value, device=device.value,
        stages=parse_stages(stages), layout=layout.value, labels=labels.value, manifest=manifest,
        shard=parse_shard(shard), workers=workers, batch_size=batch_size, commit_every=commit_every,
        retry_errors=retry_errors, limit=limit, models_dir=models_dir or env_models_dir(), db=db,
        overrides=parse_overrides(model),
    )
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
            console.print(f"census: {total:,} images to do; loading the models", highlight=False)

    def on_progress(stats) -> None:
        now = time.perf_counter()
        if "first" not in state:  # the rate counts from the first finished images, not from model loading
            state["first"] = (now, stats.seen)
        t_first, seen_first = state["first"]
        since_start = stats.seen / max(now - state["t0"], 1e-9)
        rate = (stats.seen - seen_first) / (now - t_first) if stats.seen > seen_first else since_start
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
    from .config import FACE_MIN_SCORE

    s = summary.stats
    data = {
        "dataset": summary.dataset, "device": summary.device, "workers": summary.workers,
        "listed": summary.listed, "in_shard": summary.in_shard, "already_done": summary.skipped,
        "left_for_later": summary.left_for_later, "stale_runs_marked_failed": summary.stale_runs,
        "images": s.seen, "ok": s.ok, "errors": s.errors,
        "faces": s.faces, "faces_kept": s.faces_kept, "seconds": round(summary.seconds, 2),
        "images_per_s": round(summary.images_per_s, 2),
    }
    if as_json:
        out.print(json.dumps(data), soft_wrap=True)
        return
    labels = {
        "listed": "images listed", "in_shard": "images in this shard", "already_done": "already done (skipped)",
        "left_for_later": "left for a later run (--limit)",
        "images": "images processed", "ok": "ok", "errors": "errors",
        "faces": "faces detected (all scores)", "faces_kept": f"faces with det_score >= {FACE_MIN_SCORE}",
        "seconds": "time (s)", "images_per_s": "images/s",
    }
    rows = [(label, f"{data[key]:,}" if isinstance(data[key], int) else str(data[key]))
            for key, label in labels.items() if key != "in_shard" or summary.in_shard != summary.listed]
    if summary.stale_runs:
        _notice(f"{summary.stale_runs} run(s) an earlier process left `running` (it was killed) are now "
                "marked failed; their finished images are kept and count.")
    out.print(_measure_table(f"ingest run: {summary.dataset} on {summary.device}", rows))


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
) -> None:
    """Build a small demo dataset in ILSVRC-2012 layout from photos shipped inside installed
    packages (insightface and scikit-image samples), filed under real ImageNet wnids."""
    from .demo import build_demo

    count = build_demo(target)
    out.print(f"Demo dataset with {count} images at {target}")


@app.command()
@_guard
def models(
    models_dir: Annotated[Path | None, typer.Option(help="Folder of user-supplied weights ($CENSUS_MODELS).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per weight file.")] = False,
) -> None:
    """List each profile, each model, where its weights are and whether they are usable."""
    from .config import models_dir as env_models_dir
    from .models import REGISTRY
    from .models.runtime import cuda_available, onnx_providers_available, onnxruntime_conflict
    from .profiles import PROFILES

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
    annotator: Annotated[str, typer.Option(help="Name of the model that made the rows, e.g. dex/2019.")],
    dataset: Annotated[str, typer.Option(help="Dataset the rows belong to (its images must be in raw.images).")],
    covers_dataset: Annotated[bool, typer.Option(help="All dataset images were processed.")] = False,
    db: DbOption = None,
) -> None:
    """Land rows made elsewhere as one complete run of a named annotator.

    Images are matched by image_id or by rel_path. Everything is validated first; on any
    error nothing lands and each bad row is reported by its row number.
    """
    from .importer import import_file

    result = import_file(file, kind=kind.value, annotator=annotator, dataset=dataset,
                         covers_dataset=covers_dataset, db=db)
    out.print(f"Imported run {result['run_id']}: {result['images']:,} images, "
              f"{result['rows']:,} {kind} rows as annotator {annotator}.", markup=False, highlight=False)


@app.command()
@_guard
def merge(
    other: Annotated[Path, typer.Argument(help="Another census DuckDB file (e.g. a shard's).")],
    db: DbOption = None,
) -> None:
    """Merge another warehouse's raw rows into this one; rows already here are not duplicated."""
    from .merge import merge_warehouse

    counts = merge_warehouse(other, db)
    out.print("Merged: " + ", ".join(f"raw.{k} +{v:,}" for k, v in counts.items()))


@app.command()
@_guard
def bench(
    images: Annotated[int, typer.Option(min=1, help="How many bench images to generate.")] = 200,
    folder: Annotated[Path | None, typer.Option(help="Use your own dataset folder instead.")] = None,
    workers: Annotated[int | None, typer.Option(help="Pipeline worker processes (default: one per CPU).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Pipeline batch size.")] = 32,
    skip_naive: Annotated[bool, typer.Option(help="Only time the pipeline (for memory runs).")] = False,
    width: Annotated[int, typer.Option(min=16, help="Width of generated images (ImageNet: ~500).")] = 500,
    height: Annotated[int, typer.Option(min=16, help="Height of generated images (ImageNet: ~375).")] = 375,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line.")] = False,
) -> None:
    """Benchmark the papers' naive loop (one model, one full-size image at a time) against the
    pipeline, on the same ImageNet-size images and models: images/s, ratio, per-stage time,
    agreement of the answers, peak memory, and the CPU-bound ceiling (the images/s the
    pipeline's CPU work would allow with every core busy all the time)."""
    from .bench import run_bench

    report = run_bench(images, folder, workers, batch_size, skip_naive, size=(width, height))
    if as_json:
        out.print(json.dumps(report), soft_wrap=True)
        return
    rows = [(key, json.dumps(value) if isinstance(value, dict) else str(value)) for key, value in report.items()]
    out.print(_measure_table(f"ingest bench: {report['images']} images", rows))


@app.command()
@_guard
def synth(
    scale: Annotated[float, typer.Option(min=0.0001, help="1.0 = ImageNet size (1.33M images).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace a warehouse's raw rows if it holds some.")] = False,
    db: DbOption = None,
) -> None:
    """Write a synthetic ImageNet-size raw warehouse (two face annotators, NSFW, two
    classifiers) for benchmarking `dbt build`. Refuses a warehouse that holds rows unless --force."""
    from .synthetic import generate_warehouse

    counts = generate_warehouse(Path(db or database_path()), scale=scale, seed=seed, force=force)
    out.print("Synthetic warehouse: " + ", ".join(f"raw.{k} {v:,}" for k, v in counts.items()))


@app.command()
@_guard
def card(
    output: Annotated[Path | None, typer.Option("--out", help="Write the card here (default: print it).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Rows per ranked section.")] = 5,
    db: DbOption = None,
) -> None:
    """Write a dataset audit card (Markdown) from the census marts: coverage, humans, NSFW
    shortlist, apparent minors, annotator agreement, the human-delta test. Run dbt build first."""
    from .card import build_card

    text = build_card(db, top)
    if output is None:
        out.print(text, soft_wrap=True, markup=False, highlight=False)
    else:
        output.write_text(text)
        out.print(f"Audit card written to {output}")


@app.command()
@_guard
def summary(db: DbOption = None) -> None:
    """Print a short census summary: raw row counts, per-annotator coverage, top classes."""
    from .summary import print_summary

    print_summary(out, db)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
