"""``ingest bench``: the papers' naive loop against the streaming pipeline, same images, same
models, one process tree, one machine.

(a) naive: for each model, for each image: open the file at full size, preprocess, run the
    model on that one image (how both papers processed ImageNet: one model, one image).
(b) pipeline: ``ingest run`` (decode once, workers, shared batches, one writer).
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

from .config import FACE_MIN_SCORE
from .decode import decode_path
from .demo import source_path
from .layouts import list_images
from .models import Model
from .runner import RunOptions, run_dataset

BACKGROUNDS = ["grass.png", "brick.png", "gravel.png", "coffee.png", "rocket.jpg", "chelsea.png",
               "motorcycle_left.png", "hubble_deep_field.jpg", "retina.jpg", "astronaut.png"]


def _face_crops() -> list[Image.Image]:
    """Faces cut from the insightface sample photo t1.jpg (six people), with some margin."""
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


def naive_loop(models: list[Model], root: Path) -> tuple[dict, dict[str, float], int]:
    """One model at a time, one image at a time, each opened at full size."""
    refs = list_images(root)
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
    faces = con.execute("""select i.rel_path, f.det_score, f.age, f.gender_score, f.x1, f.y1
        from raw.faces f join raw.images i using (image_id) order by i.rel_path, f.face_idx""").fetchall()
    for rel, score, age, gender, x1, y1 in faces:
        out.setdefault(("faces", rel), []).append(
            {"det_score": score, "age": age, "gender_score": gender, "x1": x1, "y1": y1})
    for rel, score in con.execute("select i.rel_path, n.nsfw_score from raw.nsfw n join raw.images i "
                                  "using (image_id)").fetchall():
        out[("nsfw", rel)] = {"nsfw_score": score}
    for rel, wnid in con.execute("select i.rel_path, p.wnid from raw.predictions p join raw.images i "
                                 "using (image_id) where p.rank = 1").fetchall():
        out[("classify", rel)] = [{"wnid": wnid}]
    con.close()
    return out


def agreement(naive: dict, pipeline: dict, min_score: float = FACE_MIN_SCORE) -> dict[str, float]:
    """How far the pipeline's answers are from the naive loop's, per measure."""
    face_count_mismatch = age = gender = nsfw = 0.0
    top1_disagree = n_faces = n_images = 0
    for (stage, rel), value in naive.items():
        other = pipeline.get((stage, rel))
        if stage == "faces":
            mine = [f for f in value if f["det_score"] >= min_score]
            theirs = [f for f in (other or []) if f["det_score"] >= min_score]
            if len(mine) != len(theirs):
                face_count_mismatch += 1
                continue
            for a, b in zip(sorted(mine, key=lambda f: (f["x1"], f["y1"])),
                            sorted(theirs, key=lambda f: (f["x1"], f["y1"])), strict=True):
                age = max(age, abs(a["age"] - b["age"]))
                gender = max(gender, abs(a["gender_score"] - b["gender_score"]))
                n_faces += 1
        elif stage == "nsfw":
            nsfw = max(nsfw, abs(value["nsfw_score"] - other["nsfw_score"]))
            n_images += 1
        elif stage == "classify":
            top1_disagree += value[0]["wnid"] != other[0]["wnid"]
    return {"images_face_count_mismatch": face_count_mismatch, "max_abs_age_diff": age,
            "max_abs_gender_diff": gender, "max_abs_nsfw_diff": nsfw,
            "top1_disagreements": top1_disagree, "faces_compared": n_faces, "images_compared": n_images}


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
    if "naive_images_per_s" in report:
        out["cpu_bound_ratio"] = round(best / report["naive_images_per_s"], 2)
    return out


def run_bench(count: int, images: Path | None, workers: int | None, batch_size: int, skip_naive: bool,
              seed: int = 0, size: tuple[int, int] = (500, 375)) -> dict:
    from .profiles import build_models

    with tempfile.TemporaryDirectory(prefix="census-bench-") as tmp:
        tmp_path = Path(tmp)
        root = images or make_bench_set(tmp_path / "bench", count, seed, size)
        report: dict = {"images": len(list_images(root))}
        if not skip_naive:
            models = build_models("default", device="cpu")
            t0, c0 = time.perf_counter(), cpu_seconds()
            naive, naive_seconds, n = naive_loop(models, root)
            elapsed = time.perf_counter() - t0
            report["naive_images_per_s"] = round(n / elapsed, 3)
            report["naive_cpu_seconds"] = round(cpu_seconds() - c0, 2)
            report["naive_stage_seconds"] = {k: round(v, 2) for k, v in sorted(naive_seconds.items())}
        db = tmp_path / "bench.duckdb"
        t0, c0 = time.perf_counter(), cpu_seconds()
        with TreeMemory() as memory:
            summary = run_dataset(RunOptions(dataset_root=root, dataset="bench", device="cpu", db=db,
                                             workers=workers, batch_size=batch_size))
        elapsed = time.perf_counter() - t0
        report["pipeline_cpu_seconds"] = round(cpu_seconds() - c0, 2)  # workers are reaped by now
        report["pipeline_images_per_s"] = round(summary.stats.seen / elapsed, 3)
        report["pipeline_stage_seconds"] = {k: round(v, 2) for k, v in sorted(summary.stats.stage_seconds.items())}
        report["pipeline_seconds_including_model_load"] = round(elapsed, 2)
        if not skip_naive:
            report["ratio"] = round(report["pipeline_images_per_s"] / report["naive_images_per_s"], 2)
            report["agreement"] = agreement(naive, pipeline_results(db, "bench"))
        report.update(ceiling(report, os.cpu_count() or 1))
        report["pipeline_peak_memory_mb"] = round(memory.peak_mb, 1)  # main + workers, PSS
        report["peak_rss_main_mb"] = peak_rss_main_mb()
    return report
