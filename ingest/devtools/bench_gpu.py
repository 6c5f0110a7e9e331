"""``ingest bench --device cuda`` (or ``--engine torch``): the torch engine's throughput on the bench
images, against its own ceiling, and its answers against the onnxruntime CPU path's.

- ``torch_images_per_s``: end to end (read, decode, every network of the default profile, the
  post-processing) over the bench images, after one untimed warm-up batch;
- ``decode_only_images_per_s``: read and decode of the same images, same batch size, same run:
  what the pipeline could reach if the networks cost nothing (``ratio_to_decode_ceiling``);
- ``stage_seconds``: per stage (CUDA events on CUDA; decode: wall time of the loader thread,
  which overlaps the networks); ``peak_gpu_memory_mb``; ``batch_sweep``: images/s per batch size
  (on the first 1,024 images);
- ``agreement``: on the first ``--agreement-images`` images, the torch answers against the
  onnxruntime models' on the CPU (as ``ingest run --engine local`` gives them), with the
  limits (NSFW |diff| p99 <= 0.02, top-1 >= 99 %, age MAE <= 0.5 years, gender flips <= 1 %).
  Where dlib is missing (the GPU machine), the CPU path's face chips are cut by the torch chip
  code on the CPU instead of dlib (``agreement.chips`` says which).

Runs from a source tree without DuckDB, dlib or the warehouse (a test keeps it so): the lent GPU
machines have neither. Bench images come from ``bench.make_bench_set``; where dlib is missing
its face crops come from $CENSUS_BENCH_FACES (tests/gpu/pack.sh saves them).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..core.config import FACE_MIN_SCORE
from ..core.errors import CensusError

#: the agreement limits (BENCHMARKS.md) for a faster path against the reference
LIMITS = {"nsfw_abs_diff_p99": 0.02, "top1_agreement": 0.99, "age_mae": 0.5, "gender_flips": 0.01}
#: images per batch size of the sweep (at most): the sweep ranks batch sizes, the headline is the full set's
SWEEP_IMAGES = 1024


def _progress(report: dict[str, Any]) -> None:
    """The report so far on stderr, one JSON line a phase: a device run cut short keeps what it measured."""
    print(json.dumps({"partial": report}), file=sys.stderr, flush=True)


def _make_part(args: tuple[Path, int, int, tuple[int, int]]) -> Path:
    from .bench import make_bench_set

    folder, count, seed, size = args
    return make_bench_set(folder, count, seed, size)


def make_images(folder: Path, count: int, seed: int = 0, size: tuple[int, int] = (500, 375)) -> Path:
    """``count`` bench images under ``folder`` (ILSVRC layout), made in parallel processes in
    parts of ~250 (one seed each; with one part, exactly ``bench.make_bench_set``'s images)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    parts = max(1, min(os.cpu_count() or 1, -(-count // 250)))
    if parts == 1:
        return _make_part((folder, count, seed, size))
    shares = [count // parts + (k < count % parts) for k in range(parts)]
    jobs = [(folder.parent / f"{folder.name}-part{k}", n, seed + k, size) for k, n in enumerate(shares)]
    with ProcessPoolExecutor(parts, mp_context=get_context("spawn")) as pool:
        made = list(pool.map(_make_part, jobs))
    for k, part in enumerate(made):  # one ILSVRC tree, names made unique per part
        for path in sorted(part.glob("train/*/*.JPEG")):
            target = folder / "train" / path.parent.name / f"{path.stem}_p{k}.JPEG"
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
        shutil.rmtree(part)
    return folder


def max_side(models) -> int | None:
    """The largest side any stage wants from the decoder (as the runner computes it)."""
    sides = [m.wanted_side for m in models]
    return None if not sides or any(side is None for side in sides) else max(sides)


def _end_to_end(profile, root: Path, rel_paths: list[str], batch_size: int, keep: int = 0):
    """images/s through read, decode and every network; the answers of the first ``keep`` images;
    seconds per stage."""
    import torch

    from ..models.torch.stream import Loader

    stage_sets = [tuple(range(len(profile.models)))] * batch_size
    answers: dict[str, dict[int, Any]] = {}
    decode_seconds, seen = 0.0, 0
    profile.seconds = {}
    t0 = time.perf_counter()
    for batch in Loader(root, ((p, p) for p in rel_paths), batch_size, profile.device, max_side(profile.models)):
        ok = [i for i, image in enumerate(batch.images) if image is not None]
        outcomes = profile.run([batch.images[i] for i in ok], stage_sets[: len(ok)], [batch.scales[i] for i in ok])
        for i, outcome in zip(ok, outcomes, strict=True):
            if seen + i < keep:
                answers[batch.items[i]] = outcome
        seen += len(batch.items)
        decode_seconds += batch.seconds
    if profile.device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    stages = {"decode": decode_seconds, **profile.seconds}
    return seen / elapsed, answers, {k: round(v, 3) for k, v in stages.items()}


def _decode_only(root: Path, rel_paths: list[str], batch_size: int, device: str, side: int | None) -> float:
    import torch

    from ..models.torch.stream import Loader

    seen = 0
    t0 = time.perf_counter()
    for batch in Loader(root, ((p, p) for p in rel_paths), batch_size, device, side):
        seen += len(batch.items)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - t0)


# -- agreement with the onnxruntime CPU path ---------------------------------------------------
@contextlib.contextmanager
def _cpu_chips():
    """The CPU faces path cuts its chips with dlib; where dlib is missing, with the torch chip
    code on the CPU (the torch path's own, in fp32), so the networks and the rest still compare."""
    try:
        import dlib  # noqa: F401
    except ImportError:
        pass
    else:
        yield "dlib"
        return
    import torch

    from ..models import faces_retinaface
    from ..models.torch.preprocess import face_chips

    def chip(rgb: np.ndarray, points: np.ndarray, size: int) -> np.ndarray:
        image = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)  # a writable copy
        cut = face_chips(image, torch.as_tensor(np.asarray(points)[None], dtype=torch.float32), size)[0]
        return cut.permute(1, 2, 0).numpy()

    original = faces_retinaface.aligned_chip
    faces_retinaface.aligned_chip = chip
    try:
        yield "torch on the CPU (dlib is not installed here)"
    finally:
        faces_retinaface.aligned_chip = original


def cpu_answers(root: Path, rel_paths: list[str]) -> tuple[dict[str, dict[int, Any]], str]:
    """The default profile's answers from the onnxruntime models on the CPU, one image at a time,
    decoded as ``ingest run`` decodes (JPEG draft to the largest side a stage wants)."""
    from ..images.decode import decode_bytes
    from ..models.profiles import build_models
    from ..models.torch.profile import DEFAULT_OVERRIDES
    from ..models.torch.stream import read_image

    models = build_models("default", device="cpu", overrides=DEFAULT_OVERRIDES)
    for model in models:
        model.load()
    out: dict[str, dict[int, Any]] = {}
    with _cpu_chips() as chips:
        for rel in rel_paths:
            data, facts = read_image(root, rel)
            decoded = decode_bytes(data, max_side(models)) if data is not None else facts
            if decoded.error is None:
                out[rel] = {i: m.infer([m.prepare(decoded)])[0] for i, m in enumerate(models)}
    return out, chips


def compare(models, torch_answers: dict, cpu: dict, min_score: float = FACE_MIN_SCORE) -> dict[str, Any]:
    """The torch answers against the CPU path's: face counts (det_score >= min_score), box and age
    differences and gender flips of the faces paired by box (IoU >= 0.5, as ``ingest bench``),
    NSFW |diff|, top-1 agreement."""
    from .bench import matched_faces

    stage_of = {i: m.stage for i, m in enumerate(models)}
    counts, nsfw, top1, ages, flips, boxes = [], [], [], [], [], []
    for rel, reference in cpu.items():
        mine = torch_answers.get(rel, {})
        for index, value in reference.items():
            other = mine.get(index)
            if stage_of[index] == "nsfw" and other is not None:
                nsfw.append(abs(value["nsfw_score"] - other["nsfw_score"]))
            elif stage_of[index] == "classify" and other is not None:
                top1.append(value[0]["class_index"] == other[0]["class_index"])
            elif stage_of[index] == "faces":
                a = [f for f in value if f["det_score"] >= min_score]
                b = [f for f in other or [] if f["det_score"] >= min_score]
                counts.append(len(a) == len(b))
                for fa, fb in matched_faces(a, b):
                    ages.append(abs(fa["age"] - fb["age"]))
                    flips.append((fa["gender_score"] >= 0.5) != (fb["gender_score"] >= 0.5))
                    boxes.append(max(abs(fa[k] - fb[k]) for k in ("x1", "y1", "x2", "y2")))
    report = {
        "images": len(cpu), "faces_compared": len(ages),
        "face_count_agreement": round(float(np.mean(counts)), 4) if counts else None,
        "box_abs_diff_max_px": round(max(boxes), 3) if boxes else None,
        "nsfw_abs_diff_p99": round(float(np.percentile(nsfw, 99)), 5) if nsfw else None,
        "nsfw_abs_diff_max": round(max(nsfw), 5) if nsfw else None,
        "top1_agreement": round(float(np.mean(top1)), 4) if top1 else None,
        "age_mae": round(float(np.mean(ages)), 4) if ages else None,
        "age_abs_diff_max": round(max(ages), 3) if ages else None,
        "gender_flips": round(float(np.mean(flips)), 4) if flips else None,
    }
    for key, limit in LIMITS.items():
        value = report[key]
        report[f"{key}_ok"] = None if value is None else bool(
            value >= limit if key == "top1_agreement" else value <= limit)
    report["within_limits"] = all(report[f"{k}_ok"] is not False for k in LIMITS)
    return report


# -- the bench ------------------------------------------------------------------------------
def resolve(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise CensusError("ingest bench --device cuda needs a CUDA build of torch and a visible GPU; "
                          "use --device cpu --engine torch to try the torch path on the CPU.")
    return device


def run_gpu_bench(count: int, images: Path | None, batch_size: int, batch_sizes: list[int],
                  agreement_images: int, device: str = "cuda", seed: int = 0,
                  size: tuple[int, int] = (500, 375)) -> dict[str, Any]:
    """The torch engine's bench (module docstring); one JSON-ready dict."""
    if images is not None and not images.is_dir():
        raise CensusError(f"--images-dir {images} is not a folder.")
    with tempfile.TemporaryDirectory(prefix="census-gpu-bench-") as tmp:
        t0 = time.perf_counter()
        root = images or make_images(Path(tmp) / "bench", count, seed, size)
        made = time.perf_counter() - t0
        return _bench(root, images, made, batch_size, batch_sizes, agreement_images, resolve(device), size)


def _bench(root: Path, images: Path | None, made: float, batch_size: int, batch_sizes: list[int],
           agreement_images: int, device: str, size: tuple[int, int]) -> dict[str, Any]:
    import torch

    from ..models.profiles import build_models
    from ..models.torch.profile import DEFAULT_OVERRIDES, TorchProfile
    from ..sources.layouts import list_images

    rel_paths = [ref.rel_path for ref in list_images(root, labels="any")]
    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "torch_version": torch.__version__, "images": len(rel_paths),
        "images_source": str(images.resolve()) if images else f"generated {size[0]}x{size[1]}",
        "images_made_seconds": round(made, 1), "batch_size": batch_size, "cpus": os.cpu_count(),
    }
    t0 = time.perf_counter()
    profile = TorchProfile(build_models("default", device=device, overrides=DEFAULT_OVERRIDES), device)
    profile.load()
    report["models"] = [m.annotator for m in profile.models]
    report["fp16_networks"] = profile.fp16_networks
    report["model_load_seconds"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    _end_to_end(profile, root, rel_paths[:batch_size], batch_size)  # warm-up: kernels, allocator
    report["warmup_seconds"] = round(time.perf_counter() - t0, 2)
    _progress(report)
    decode_only = _decode_only(root, rel_paths, batch_size, device, max_side(profile.models))
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    rate, answers, stages = _end_to_end(profile, root, rel_paths, batch_size, keep=agreement_images)
    report.update({
        "torch_images_per_s": round(rate, 1), "decode_only_images_per_s": round(decode_only, 1),
        "ratio_to_decode_ceiling": round(rate / decode_only, 3), "stage_seconds": stages,
        "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if device.startswith("cuda") else None,
    })
    _progress(report)
    report["batch_sweep"] = {}
    for size in batch_sizes:
        report["batch_sweep"][str(size)] = round(_end_to_end(profile, root, rel_paths[:SWEEP_IMAGES], size)[0], 1)
        _progress(report)
    try:
        cpu, chips = cpu_answers(root, list(answers))
        report["agreement"] = {**compare(profile.models, answers, cpu), "chips": chips}
    except Exception as error:  # noqa: BLE001 - the timings above still count; say what failed
        report["agreement"] = {"error": f"{type(error).__name__}: {error}"}
    return report
