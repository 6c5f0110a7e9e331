"""``ingest export blurred DATASET_ROOT --out DIR``: a copy of the dataset with every kept
face blurred (as the ImageNet face-obfuscation study released face-blurred copies).

- Faces: the kept faces (det_score >= face_min_score, the annotator's latest ok run) of
  every face annotator, or of those named, as the marts count them (``int_kept_faces``),
  plus faces below the threshold that reviewers confirmed (``confirmed_flags``, is_face yes).
- Each box is grown by ``margin`` of its width and height on every side and blurred with a
  Gaussian of radius ``max(2, BLUR_STRENGTH x the grown box's longer side)``; the rest of
  the image is untouched: PNG and other lossless files are pixel-identical outside the boxes,
  JPEGs are re-encoded with their own quantisation tables and subsampling (quality "keep"),
  so outside the boxes they differ by re-encode noise only. EXIF and ICC profiles are kept
  where the format takes them. Boxes are in the EXIF-oriented frame; they are mapped back to
  the stored pixels, so the orientation tag stays valid.
- Every other file is copied byte for byte, under the same relative name. An image whose
  faces cannot be blurred (unreadable) is left out and named in the report, never copied sharp.
- Never writes into the source: the output folder must be new or empty and must not be the
  dataset folder or inside it. Never follows a link out of the dataset root (such links are
  skipped and counted); folder links are not descended."""

from __future__ import annotations

import math
import os
import shutil
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from ..decode import is_inside
from ..errors import CensusError
from ..warehouse import connect

BLUR_STRENGTH = 0.25
#: Image.transpose methods that undo each EXIF orientation (ImageOps.exif_transpose applies the inverse)
UNDO_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                    6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
BLURRABLE_MODES = ("RGB", "RGBA", "L", "LA", "CMYK")


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
    failed: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"files": self.files, "images_blurred": self.images_blurred, "faces_blurred": self.faces_blurred,
                "faces_kept": self.faces_kept, "faces_confirmed_by_review": self.faces_confirmed,
                "faces_without_box": self.faces_without_box, "links_skipped": len(self.links_skipped),
                "special_files_skipped": len(self.special_skipped), "images_failed": len(self.failed),
                "images_missing": len(self.missing)}


def _exists(con, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def read_faces(dataset: str, annotators: list[str] | None, db: Path | None) -> tuple[dict, dict]:
    """{rel_path: [(x1, y1, x2, y2), ...]} and counts, read-only from the marts."""
    con = connect(db, read_only=True)
    try:
        if not _exists(con, "intermediate", "int_kept_faces"):
            raise CensusError("The warehouse has no census marts yet: run `dbt build` first "
                              "(the faces to blur are the kept faces the marts count).")
        if not con.execute("select count(*) from raw.images where dataset = ?", [dataset]).fetchone()[0]:
            raise CensusError(f"The warehouse has no images of dataset {dataset!r}; name it with --dataset "
                              "as in `ingest run`.")
        known = {r[0] for r in con.execute("select distinct annotator from intermediate.int_kept_faces").fetchall()}
        for name in annotators or []:
            if name not in known:
                raise CensusError(f"No kept faces of annotator {name!r} in the warehouse; "
                                  f"known: {', '.join(sorted(known)) or 'none'}.")
        chosen = "" if not annotators else f" and kept.annotator in ({', '.join('?' * len(annotators))})"
        kept = con.execute(
            "select images.rel_path, faces.x1, faces.y1, faces.x2, faces.y2 "
            "from intermediate.int_kept_faces as kept "
            "join staging.stg_faces as faces on kept.run_id = faces.run_id and kept.image_id = faces.image_id "
            "  and kept.face_idx = faces.face_idx "
            "join raw.images as images on kept.image_id = images.image_id "
            f"where kept.dataset = ?{chosen}", [dataset, *(annotators or [])]).fetchall()
        confirmed = []
        if _exists(con, "main", "confirmed_flags"):
            confirmed = con.execute(
                "select flags.rel_path, faces.x1, faces.y1, faces.x2, faces.y2 "
                "from main.confirmed_flags as flags "
                "join intermediate.int_image_results as results on results.stage = 'faces' "
                "  and results.annotator = flags.annotator and results.image_id = flags.image_id "
                "join staging.stg_faces as faces on faces.run_id = results.run_id "
                "  and faces.image_id = flags.image_id and faces.face_idx = flags.face_idx "
                "where flags.question = 'is_face' and flags.dataset = ? and not exists ("
                "  select 1 from intermediate.int_kept_faces as kept where kept.annotator = flags.annotator"
                "  and kept.image_id = flags.image_id and kept.face_idx = flags.face_idx)"
                + ("" if not annotators else f" and flags.annotator in ({', '.join('?' * len(annotators))})"),
                [dataset, *(annotators or [])]).fetchall()
    finally:
        con.close()
    boxes: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    counts = {"kept": len(kept), "confirmed": len(confirmed), "without_box": 0}
    for rel_path, *box in [*kept, *confirmed]:
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


def blur_boxes(image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> None:
    """Gaussian-blur each box of ``image`` in place (stored frame)."""
    for box in boxes:
        radius = max(2.0, BLUR_STRENGTH * max(box[2] - box[0], box[3] - box[1]))
        pad = math.ceil(3 * radius)
        area = (max(0, box[0] - pad), max(0, box[1] - pad), min(image.size[0], box[2] + pad),
                min(image.size[1], box[3] + pad))
        blurred = image.crop(area).filter(ImageFilter.GaussianBlur(radius))
        inner = (box[0] - area[0], box[1] - area[1], box[2] - area[0], box[3] - area[1])
        image.paste(blurred.crop(inner), box[:2])


def blur_file(src: Path, dest: Path, faces: list, margin: float) -> int:
    """Write ``src`` to ``dest`` with the faces (oriented-frame boxes) blurred; the boxes blurred."""
    with Image.open(src) as image:
        image.load()
        fmt = image.format
        orientation = image.getexif().get(0x0112, 1)
        stored = image.size
        oriented = (stored[1], stored[0]) if orientation in (5, 6, 7, 8) else stored
        boxes = [b for b in (to_stored(grow(f, margin, oriented), orientation, stored) for f in faces) if b]
        work = image if image.mode in BLURRABLE_MODES else image.convert("RGBA" if "A" in image.mode else "RGB")
        blur_boxes(work, boxes)
        options = {k: image.info[k] for k in ("exif", "icc_profile", "dpi") if image.info.get(k)}
        if fmt == "JPEG" and work is image:
            options.update(quality="keep")
        elif fmt == "JPEG":
            options.update(quality=95)
        work.save(dest, format=fmt or "PNG", **options)
    return len(boxes)


def export_blurred(root: Path, out: Path, *, dataset: str, annotators: list[str] | None = None,
                   margin: float = 0.2, db: Path | None = None, on_progress=None) -> dict:
    root = Path(root)
    if not root.is_dir():
        raise CensusError(f"The dataset folder {root} does not exist.")
    if margin < 0 or margin > 5:
        raise CensusError("--margin is a share of the box size per side, between 0 and 5.")
    out = Path(out)
    check_output(root, out)
    faces, counts = read_faces(dataset, annotators, db)
    report = BlurReport(faces_kept=counts["kept"], faces_confirmed=counts["confirmed"],
                        faces_without_box=counts["without_box"])
    real_root = os.path.realpath(root)
    out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
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
            dest = target_dir / name
            report.files += 1
            seen.add(rel)
            if rel in faces:
                tmp = dest.with_name(f".{name}.tmp-{os.getpid()}")
                try:
                    report.faces_blurred += blur_file(Path(real), tmp, faces[rel], margin)
                    os.replace(tmp, dest)
                    report.images_blurred += 1
                except Exception as error:  # noqa: BLE001 - one bad image never stops the copy
                    # ... and is never copied with its faces sharp: it is left out and named
                    tmp.unlink(missing_ok=True)
                    report.files -= 1
                    report.failed[rel] = str(error) or type(error).__name__
            else:
                shutil.copyfile(real, dest)
                shutil.copystat(real, dest, follow_symlinks=True)
            if on_progress:
                on_progress(report.files)
    report.missing = sorted(set(faces) - seen)
    return report.as_dict() | {"failed": report.failed, "missing": report.missing[:20]}
