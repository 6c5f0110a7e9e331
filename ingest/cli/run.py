"""`ingest run`: a profile's models over a dataset, with progress and a summary."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from ..core.choices import Device, LabelCheck
from ..core.errors import CensusError
from ..pipeline.engines.registry import EngineKind, help_text
from ..sources.layouts import LayoutChoice as Layout
from .console import console, measure_table, notice, out
from .options import DbOption, ModelsDirOption, Precision, PrecisionOption, Profile
from .progress import RunProgress


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
    models_dir: ModelsDirOption = None,
    model: Annotated[list[str] | None, typer.Option(
        metavar="<str>", help="Swap one stage's model, e.g. --model nsfw=yahoo/open_nsfw (repeatable).")] = None,
    precision: PrecisionOption = Precision.fp32,
    db: DbOption = None,
    parts: Annotated[Path | None, typer.Option(
        help="Write the rows as Parquet parts in a new folder under this one instead of into the warehouse "
        "(which stays free for dbt and analysts); load them with `ingest land`.")] = None,
    engine: Annotated[EngineKind, typer.Option(help=help_text())] = EngineKind.local,
    ray_address: Annotated[str | None, typer.Option(
        help="A running Ray cluster for --engine ray, e.g. auto or head-node:6379 (default: $RAY_ADDRESS, "
        "else a local Ray).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON line.")] = False,
) -> None:
    """Run every stage of a profile over a dataset, once per image, into raw.* tables.

    Resumable: a rerun skips images the same models already processed (in the warehouse, and in
    the parts under --parts). Shardable: --shard k/n takes a deterministic 1/n of the images.
    """
    from ..core.config import models_dir as env_models_dir
    from ..core.interrupts import Interrupted, stop_on_signals
    from ..models.profiles import parse_overrides, parse_stages
    from ..pipeline.runner import RunOptions, parse_shard, run_dataset

    if manifest is None and not dataset_root.exists():
        raise CensusError(f"The dataset folder {dataset_root} does not exist.")
    options = RunOptions(
        dataset_root=dataset_root, dataset=dataset, profile=profile.value, device=device,
        stages=parse_stages(stages), layout=layout, labels=labels, manifest=manifest,
        shard=parse_shard(shard), workers=workers, batch_size=batch_size, commit_every=commit_every,
        retry_errors=retry_errors, limit=limit, models_dir=models_dir or env_models_dir(), db=db,
        overrides=parse_overrides(model), parts=parts, engine=engine, ray_address=ray_address,
        precision=precision.value,
    )
    progress = RunProgress(console, disable=as_json)
    try:
        with stop_on_signals(), progress:
            summary = run_dataset(options, progress.on_start, progress.on_progress, on_notice=notice)
    except KeyboardInterrupt as stop:
        name = "terminated" if isinstance(stop, Interrupted) and stop.signum == signal.SIGTERM else "interrupted"
        console.print(f"{name}: the images finished so far are saved; rerun the same command to resume.")
        raise typer.Exit(stop.exit_code if isinstance(stop, Interrupted) else 130) from None
    _print_summary(summary, as_json)


def _print_summary(summary, as_json: bool) -> None:
    from ..core.config import FACE_MIN_SCORE

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
        notice(f"{summary.stale_runs} run(s) an earlier process left `running` (it was killed) are now "
               "marked failed; their finished images are kept and count.")
    out.print(measure_table(f"ingest run: {summary.dataset} on {summary.device}", rows))
    if summary.parts is not None:
        landed = "landed in the warehouse" if summary.landed else "land them with `ingest land`"
        out.print(f"Rows written as Parquet parts in {summary.parts} ({landed}).", markup=False, highlight=False)
