"""``ingest export blurred DATASET_ROOT --out DIR``: a copy of the dataset with every kept
face blurred (as the ImageNet face-obfuscation study released face-blurred copies).

- Faces: the kept faces (det_score >= face_min_score, the annotator's latest ok run) of
  every face annotator, or of those named, as the marts count them, plus faces below the
  threshold that reviewers confirmed (is_face yes): the ``faces_to_blur`` mart.
- Files are matched to the warehouse by their stored rel_path (``layouts.stored_path``: a
  name with a backslash or an undecodable byte is stored escaped), as the layouts name them.
- Each box is grown by ``margin`` of its width and height on every side and blurred with a
  Gaussian of radius ``max(2, BLUR_STRENGTH x the grown box's longer side)``; the rest of
  the image is untouched: PNG and other lossless files are pixel-identical outside the boxes
  (16-bit grayscale keeps its 16 bits), JPEGs are re-encoded with their own quantisation
  tables and subsampling (quality "keep"), so outside the boxes they differ by re-encode noise
  only. EXIF and ICC profiles are kept where the format takes them. Boxes are in the
  EXIF-oriented frame; they are mapped back to the stored pixels, so the orientation tag stays
  valid. A file of several frames (animated GIF, APNG, WebP, multi-page TIFF, MPO) keeps every
  frame, its durations and loop count, with the same regions blurred in each frame.
- Images inside containers (webdataset shards ``shard.tar#key``, Parquet files
  ``file.parquet#row``) are blurred inside them: the container is rewritten with the blurred
  bytes in place of the originals, every other member, row and column unchanged
  (``blur_containers.py``).
- Every other file is copied byte for byte, under the same relative name. An image whose
  faces cannot be blurred (unreadable) is left out and named in the report, never copied
  sharp; so is a face the warehouse holds for a file or member the folder does not have.
- Every file is written under a temporary name in its folder, flushed to the disk, then
  renamed: a file in the copy is whole or absent. A file that cannot be written is named; a
  full disk stops the export with one sentence.
- Never writes into the source: the output folder must be new or empty and must not be the
  dataset folder or inside it. Never follows a link out of the dataset root (such links are
  skipped and counted); folder links are not descended."""

from __future__ import annotations

import errno
import io
import math
import os
import shutil
import stat
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageSequence

from ...core.errors import CensusError
from ...images.decode import is_inside
from ...sources.layouts import stored_path
from ...sources.locators import locator, split_locator
from ...warehouse.db import is_disk_full
from ..reader import MartReader
from ..scope import Scope, datasets
from .blur_containers import rewrite_parquet, rewrite_shard

T = TypeVar("T")

#: the mart of the faces to blur, one row per face
FACES_TO_BLUR = "faces_to_blur"
#: container kind (its extension) -> the writer of a copy with its members blurred
REWRITERS = {".tar": rewrite_shard, ".parquet": rewrite_parquet}
BLUR_STRENGTH = 0.25
#: Image.transpose methods that undo each EXIF orientation (ImageOps.exif_transpose applies the inverse)
UNDO_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                    6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
BLURRABLE_MODES = ("RGB", "RGBA", "L", "LA", "CMYK")
DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # integer gray: blurred at 8 bits, kept deep
MAX_MARGIN = 5
OUT_OF_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
COPY_CHUNK = 1 << 20


@dataclass
class BlurReport:
    files: int = 0
    images_blurred: int = 0
    faces_blurred: int = 0
    faces_kept: int = 0
    faces_confirmed: int = 0
    faces_without_box: int = 0
    links_skipped: list[str] = field(default_factory=list)
    special_skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # images with faces left out, and why
    not_copied: dict[str, str] = field(default_factory=dict)  # other files that could not be copied, and why
    missing: list[str] = field(default_factory=list)  # faces of files or members not in the folder

    def as_dict(self) -> dict:
        return {"files": self.files, "images_blurred": self.images_blurred, "faces_blurred": self.faces_blurred,
                "faces_kept": self.faces_kept, "faces_confirmed_by_review": self.faces_confirmed,
                "faces_without_box": self.faces_without_box, "links_skipped": len(self.links_skipped),
                "special_files_skipped": len(self.special_skipped), "images_failed": len(self.failed),
                "images_missing": len(self.missing), "other_files_failed": len(self.not_copied)}


def read_faces(dataset: str, annotators: list[str] | None, db: Path | None) -> tuple[dict, dict]:
    """{rel_path: [(x1, y1, x2, y2), ...]} and counts, read-only from the faces_to_blur mart."""
    with MartReader.open(db, reads="this export") as marts:
        marts.require(FACES_TO_BLUR, sentence=None if marts.built else (
            "The warehouse has no census marts yet: run `dbt build` first (the faces to blur are the kept "
            "faces the marts count)."))
        if dataset not in datasets(marts.con):
            raise CensusError(f"The warehouse has no images of dataset {dataset!r}; name it with --dataset "
                              "as in `ingest run`.")
        known = {r[0] for r in marts.rows(FACES_TO_BLUR, "distinct annotator", where="source = 'kept'") or []}
        for name in annotators or []:
            if name not in known:
                raise CensusError(f"No kept faces of annotator {name!r} in the warehouse; "
                                  f"known: {', '.join(sorted(known)) or 'none'}.")
        chosen = "" if not annotators else f"annotator in ({', '.join('?' * len(annotators))})"
        rows = marts.within(Scope(dataset)).rows(
            FACES_TO_BLUR, ["source", "rel_path", "x1", "y1", "x2", "y2"], where=chosen, params=annotators or [],
            order="source = 'kept' desc, image_id, annotator, face_idx") or []
    boxes: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    counts = {"kept": 0, "confirmed": 0, "without_box": 0}
    for source, rel_path, *box in rows:
        counts["kept" if source == "kept" else "confirmed"] += 1
        if any(v is None or not math.isfinite(v) for v in box):
            counts["without_box"] += 1
            continue
        boxes[rel_path].append(tuple(box))
    return boxes, counts


def check_output(root: Path, out: Path) -> None:
    real_root = os.path.realpath(root)
    real_out = os.path.realpath(out)
    if is_inside(real_out, real_root):
        raise CensusError(f"Refusing to write into the source dataset: {out} is the dataset folder {root} "
                          "or inside it. Choose a folder outside it.")
    if os.path.lexists(out):
        if not os.path.isdir(out) or os.path.islink(out):
            raise CensusError(f"{out} exists and is not a folder; choose a new or empty folder.")
        if any(os.scandir(out)):
            raise CensusError(f"{out} is not empty; choose a new or empty folder (nothing was written).")


def grow(box, margin: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    dx, dy = margin * (x2 - x1), margin * (y2 - y1)
    return (max(0, math.floor(x1 - dx)), max(0, math.floor(y1 - dy)),
            min(size[0], math.ceil(x2 + dx)), min(size[1], math.ceil(y2 + dy)))


def to_stored(box: tuple[int, int, int, int], orientation: int, stored: tuple[int, int]):
    """A box of the EXIF-oriented frame in the stored pixels' frame (None when empty)."""
    if orientation not in UNDO_ORIENTATION:
        return box if box[2] > box[0] and box[3] > box[1] else None
    oriented = (stored[1], stored[0]) if orientation in (5, 6, 7, 8) else stored
    mask = Image.new("1", oriented, 0)
    if box[2] <= box[0] or box[3] <= box[1]:
        return None
    ImageDraw.Draw(mask).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=1)
    return mask.transpose(UNDO_ORIENTATION[orientation]).getbbox()


def _peak(image: Image.Image) -> int:
    """The white of a deep (16- or 32-bit integer) image, as ``decode`` scales it to 8 bits."""
    return 65535 if image.mode.startswith("I;16") or (image.getextrema()[1] or 0) > 255 else 255


def _gaussian(crop: Image.Image, radius: float, peak: int | None) -> Image.Image:
    """A blurred crop, in the crop's mode; a deep crop is blurred at 8 bits (Pillow's blur
    takes 8-bit bands only) and scaled back, so the rest of the image keeps its bits."""
    if peak is None:
        return crop.filter(ImageFilter.GaussianBlur(radius))
    array = np.asarray(crop)
    eight = Image.fromarray((np.clip(array.astype(np.int64), 0, peak) * 255 // peak).astype(np.uint8), "L")
    smooth = np.asarray(eight.filter(ImageFilter.GaussianBlur(radius)), dtype=np.int64) * peak // 255
    blurred = Image.new(crop.mode, crop.size)
    blurred.frombytes(smooth.astype(array.dtype).tobytes())  # the crop's own byte order and width
    return blurred


def blur_boxes(image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> None:
    """Gaussian-blur each box of ``image`` in place (stored frame)."""
    peak = _peak(image) if image.mode in DEEP_MODES else None
    for box in boxes:
        radius = max(2.0, BLUR_STRENGTH * max(box[2] - box[0], box[3] - box[1]))
        pad = math.ceil(3 * radius)
        area = (max(0, box[0] - pad), max(0, box[1] - pad), min(image.size[0], box[2] + pad),
                min(image.size[1], box[3] + pad))
        blurred = _gaussian(image.crop(area), radius, peak)
        inner = (box[0] - area[0], box[1] - area[1], box[2] - area[0], box[3] - area[1])
        image.paste(blurred.crop(inner), box[:2])


def _blurrable(image: Image.Image) -> Image.Image:
    """The image itself when Pillow can blur its mode (or it is a deep gray image), else a
    converted copy that keeps transparency."""
    if image.mode in BLURRABLE_MODES or image.mode in DEEP_MODES:
        return image
    alpha = "A" in image.mode or "transparency" in image.info
    return image.convert("RGBA" if alpha else "RGB")


def _scaled(box: tuple[int, int, int, int], size: tuple[int, int], to: tuple[int, int]):
    """A box of an image of ``size`` on a frame of size ``to`` (an MPO preview, a TIFF page)."""
    if size == to:
        return box
    sx, sy = to[0] / size[0], to[1] / size[1]
    return (math.floor(box[0] * sx), math.floor(box[1] * sy), min(to[0], math.ceil(box[2] * sx)),
            min(to[1], math.ceil(box[3] * sy)))


def _save_frames(image: Image.Image, boxes: list, target: BinaryIO, fmt: str, options: dict) -> None:
    """Every frame blurred in the same regions (the faces were found on the first), saved with
    their durations and loop count."""
    frames, durations = [], []
    first = image.size  # seeking changes image.size to the frame's
    for frame in ImageSequence.Iterator(image):
        work = _blurrable(frame.copy())
        blur_boxes(work, [_scaled(b, first, work.size) for b in boxes])
        frames.append(work)
        durations.append(frame.info.get("duration"))
    extra: dict = {"save_all": True, "append_images": frames[1:]}
    if all(d is not None for d in durations):
        extra["duration"] = durations
    if "loop" in image.info:
        extra["loop"] = image.info["loop"]
    if fmt in ("JPEG", "MPO"):
        extra["quality"] = 95
    frames[0].save(target, format=fmt, **options, **extra)


def blur_image(source: Path | BinaryIO, target: BinaryIO, faces: list, margin: float) -> int:
    """Write the image ``source`` to ``target`` in its format with the faces (oriented-frame
    boxes) blurred in every frame; the number of boxes blurred."""
    with Image.open(source) as image:
        image.load()
        fmt = image.format or "PNG"
        orientation = image.getexif().get(0x0112, 1)
        stored = image.size
        oriented = (stored[1], stored[0]) if orientation in (5, 6, 7, 8) else stored
        boxes = [b for b in (to_stored(grow(f, margin, oriented), orientation, stored) for f in faces) if b]
        options = {k: image.info[k] for k in ("exif", "icc_profile", "dpi") if image.info.get(k)}
        if getattr(image, "n_frames", 1) > 1:
            _save_frames(image, boxes, target, fmt, options)
            return len(boxes)
        work = _blurrable(image)
        blur_boxes(work, boxes)
        if fmt == "JPEG" and work is image:
            options.update(quality="keep")
        elif fmt == "JPEG":
            options.update(quality=95)
        work.save(target, format=fmt, **options)
    return len(boxes)


def blur_bytes(data: bytes, faces: list, margin: float) -> tuple[bytes, int]:
    """An encoded image with its faces blurred, and the number of boxes blurred."""
    target = io.BytesIO()
    n = blur_image(io.BytesIO(data), target, faces, margin)
    return target.getvalue(), n


def write_atomic(dest: Path, write: Callable[[BinaryIO], T]) -> T:
    """Write ``dest`` through a temporary file beside it, flushed to the disk, then renamed:
    ``dest`` is whole or absent, never partial (the temporary file is removed on failure)."""
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "x+b") as handle:  # readable too: the TIFF writer reads back what it wrote
            result = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def is_out_of_space(error: BaseException) -> bool:
    return (isinstance(error, OSError) and error.errno in OUT_OF_SPACE) or is_disk_full(error)


def _reason(error: BaseException) -> str:
    if isinstance(error, Image.UnidentifiedImageError):
        return "not an image file Pillow can read"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def faces_by_container(faces: dict) -> dict[str, tuple[str, dict[str, list]]]:
    """{container stored rel_path: (".tar" or ".parquet", {member: boxes})} for the faces of
    container members (``shard.tar#key``, ``file.parquet#row``)."""
    containers: dict[str, tuple[str, dict[str, list]]] = {}
    for rel_path, boxes in faces.items():
        parts = split_locator(rel_path)
        if parts is not None:
            containers.setdefault(parts[0], (parts[1], {}))[1][parts[2]] = boxes
    return containers


@dataclass
class _Export:
    """One export: the faces to blur, where to write, and the report so far."""

    out: Path
    faces: dict
    margin: float
    report: BlurReport
    containers: dict = field(default_factory=dict)
    matched: set[str] = field(default_factory=set)

    def file(self, real: str, dest: Path, rel: str) -> None:
        """Write one regular file of the dataset: blurred, rewritten (a container) or copied."""
        key = stored_path(rel)
        if key in self.faces:
            self._image(real, dest, key)
        elif key in self.containers:
            self._container(real, dest, key)
        else:
            self._copy(real, dest, key)

    def _image(self, real: str, dest: Path, key: str) -> None:
        self.matched.add(key)
        try:
            self.report.faces_blurred += write_atomic(dest, lambda h: blur_image(Path(real), h, self.faces[key],
                                                                                  self.margin))
        except Exception as error:  # noqa: BLE001 - one bad image never stops the copy ...
            if is_out_of_space(error):
                raise
            self.report.failed[key] = f"cannot blur it: {_reason(error)}"  # ... nor copied sharp: left out, named
            return
        self.report.files += 1
        self.report.images_blurred += 1

    def _copy(self, real: str, dest: Path, key: str) -> None:
        try:
            with open(real, "rb") as source:
                write_atomic(dest, lambda h: shutil.copyfileobj(source, h, COPY_CHUNK))
            shutil.copystat(real, dest, follow_symlinks=True)
        except OSError as error:
            if is_out_of_space(error):
                raise
            self.report.not_copied[key] = _reason(error)
            return
        self.report.files += 1

    def _container(self, real: str, dest: Path, key: str) -> None:
        kind, members = self.containers[key]
        rewrite = REWRITERS.get(kind)
        if rewrite is None:  # a container layout this export has no writer for: named, never copied sharp
            for member in members:
                self.matched.add(locator(key, member))
                self.report.failed[locator(key, member)] = f"the blurred export cannot rewrite {kind} containers"
            return
        blur = lambda data, boxes: blur_bytes(data, boxes, self.margin)  # noqa: E731
        try:
            outcome = write_atomic(dest, lambda h: rewrite(real, h, members, blur))
        except Exception as error:  # noqa: BLE001 - an unreadable container is named, never copied sharp
            if is_out_of_space(error):
                raise
            for member in members:
                self.matched.add(locator(key, member))
                self.report.failed[locator(key, member)] = f"its container could not be rewritten: {_reason(error)}"
            return
        self.report.files += 1
        for member, n in outcome.blurred.items():
            self.matched.add(locator(key, member))
            self.report.images_blurred += 1
            self.report.faces_blurred += n
        for member, reason in outcome.failed.items():
            self.matched.add(locator(key, member))
            self.report.failed[locator(key, member)] = reason
        if outcome.problem:
            self.report.not_copied[key] = outcome.problem


def _walk(root: Path, out: Path, job: _Export, on_progress) -> None:
    """Every file under the root, written by ``job`` under the same relative name in ``out``."""
    report = job.report
    real_root = os.path.realpath(root)
    out.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        for name in list(dirnames):
            if os.path.islink(os.path.join(dirpath, name)):
                dirnames.remove(name)
                report.links_skipped.append(os.path.normpath(os.path.join(rel_dir, name)))
        target_dir = out if rel_dir == "." else out / rel_dir
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(filenames):
            src = Path(dirpath) / name
            rel = Path(os.path.normpath(os.path.join(rel_dir, name))).as_posix()
            real = os.path.realpath(src)
            if src.is_symlink() and not is_inside(real, real_root):
                report.links_skipped.append(rel)
                continue
            try:
                mode = os.stat(real).st_mode
            except OSError:
                report.links_skipped.append(rel)  # a dangling link
                continue
            if not stat.S_ISREG(mode):
                report.special_skipped.append(rel)
                continue
            job.file(real, target_dir / name, rel)
            if on_progress:
                on_progress(report.files)


def export_blurred(root: Path, out: Path, *, dataset: str, annotators: list[str] | None = None,
                   margin: float = 0.2, db: Path | None = None, on_progress=None) -> dict:
    root = Path(root)
    if not root.is_dir():
        raise CensusError(f"The dataset folder {root} does not exist.")
    if not (isinstance(margin, int | float) and math.isfinite(margin) and 0 <= margin <= MAX_MARGIN):
        raise CensusError(f"--margin is a share of the box size per side, a number from 0 to {MAX_MARGIN} "
                          f"(got {margin}).")
    out = Path(out)
    check_output(root, out)
    faces, counts = read_faces(dataset, annotators, db)
    report = BlurReport(faces_kept=counts["kept"], faces_confirmed=counts["confirmed"],
                        faces_without_box=counts["without_box"])
    job = _Export(out, faces, margin, report, faces_by_container(faces))
    try:
        _walk(root, out, job, on_progress)
    except OSError as error:
        if is_out_of_space(error):
            raise CensusError(
                f"The disk holding {out} is full ({_reason(error)}): the copy is incomplete "
                f"({report.files:,} files written whole, none partial); free some space, remove the folder "
                "and run the export again.") from None
        raise CensusError(f"Cannot write the copy in {out}: {error}.") from None
    report.missing = sorted(set(faces) - job.matched)
    return report.as_dict() | {"failed": report.failed, "not_copied": report.not_copied,
                               "missing": report.missing[:20]}
