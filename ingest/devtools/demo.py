"""The embedded demo dataset: real photos that ship inside installed packages (the
insightface wheel's sample photos, scikit-image's data images), filed under real
ILSVRC-2012 wnids in the ILSVRC-2012 layout, at ImageNet size (~500 px).

Each photo yields a few variants (resize, mirror, crop, exposure) so that every class has
train images and one flat val image labelled through ``LOC_val_solution.csv``.

The faces of the photos were labelled by hand (``ingest/data/demo_face_labels.csv``, see
``demo_face_labels.md``); each build writes those labels, carried through every variant's
geometry, as ``reference_faces.csv``: the reference annotator ``reference/demo-labels`` that
``annotator_evaluation`` measures the face models against."""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

from ..core.config import PACKAGE_DATA, source_path
from ..core.errors import CensusError

# (package, file inside its data folder, wnid)
SOURCES: list[tuple[str, str, str]] = [
    ("insightface", "images/t1.jpg", "n04350905"),  # a group of six people -> suit
    ("insightface", "images/Tom_Hanks_54745.png", "n04350905"),
    ("skimage", "astronaut.png", "n04350905"),
    ("insightface", "images/mask_blue.jpg", "n03724870"),  # mask
    ("insightface", "images/mask_white.jpg", "n03724870"),
    ("skimage", "chelsea.png", "n02123045"),  # tabby cat
    ("skimage", "coffee.png", "n07920052"),  # espresso
    ("skimage", "rocket.jpg", "n04008634"),  # projectile, missile
    ("skimage", "motorcycle_left.png", "n03785016"),  # moped
    ("skimage", "camera.png", "n04069434"),  # reflex camera (a photographer, grayscale)
    ("skimage", "horse.png", "n02389026"),  # sorrel (a horse silhouette)
    ("skimage", "clock_motion.png", "n04548280"),  # wall clock
]
VARIANTS = ("base", "mirror", "crop", "bright", "dark")
LONG_SIDE = 500
# Written into every demo folder: only a folder holding it is rebuilt in place.
MARKER = ".census-demo"
#: the hand labels of the source photos (source-photo pixels), shipped in the package
SOURCE_LABELS = PACKAGE_DATA / "demo_face_labels.csv"
#: the labels carried to the demo's images, written into the demo folder by each build
REFERENCE_FILE = "reference_faces.csv"
REFERENCE_ANNOTATOR = "reference/demo-labels"
#: a face the crop variant cuts keeps its (clipped) label when at least this share of its box stays
MIN_VISIBLE = 0.5
REFERENCE_COLUMNS = ["rel_path", "x1", "y1", "x2", "y2", "gender", "age", "attr_pose"]


def _crop_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    w, h = size
    return (w // 12, h // 12, w - w // 12, h - h // 12)


def _final_size(size: tuple[int, int]) -> tuple[int, int]:
    ratio = LONG_SIDE / max(size)
    return (round(size[0] * ratio), round(size[1] * ratio))


def _variant(image: Image.Image, kind: str) -> Image.Image:
    if kind == "mirror":
        image = ImageOps.mirror(image)
    elif kind == "crop":
        image = image.crop(_crop_box(image.size))
    elif kind == "bright":
        image = ImageEnhance.Brightness(image).enhance(1.25)
    elif kind == "dark":
        image = ImageEnhance.Brightness(image).enhance(0.8)
    return image.resize(_final_size(image.size), Image.BICUBIC)


def variant_box(box: tuple[float, float, float, float], size: tuple[int, int],
                kind: str) -> tuple[float, float, float, float] | None:
    """A face box in source-photo pixels carried through ``_variant``'s geometry (mirror, crop,
    resize to LONG_SIDE), in the variant's pixels; None where the crop leaves less than
    MIN_VISIBLE of the box in the picture."""
    x1, y1, x2, y2 = box
    w, h = size
    if kind == "mirror":
        x1, x2 = w - x2, w - x1
    elif kind == "crop":
        left, top, right, bottom = _crop_box(size)
        area = (x2 - x1) * (y2 - y1)
        x1, x2 = max(x1, left) - left, min(x2, right) - left
        y1, y2 = max(y1, top) - top, min(y2, bottom) - top
        if x2 <= x1 or y2 <= y1 or (x2 - x1) * (y2 - y1) < MIN_VISIBLE * area:
            return None
        w, h = right - left, bottom - top
    out_w, out_h = _final_size((w, h))
    sx, sy = out_w / w, out_h / h
    return (round(x1 * sx, 2), round(y1 * sy, 2), round(x2 * sx, 2), round(y2 * sy, 2))


def source_labels() -> dict[tuple[str, str], list[dict]]:
    """The hand labels per source photo (package, photo): its faces (an empty list: no face)."""
    labels: dict[tuple[str, str], list[dict]] = {}
    with SOURCE_LABELS.open(newline="") as handle:
        for row in csv.DictReader(handle):
            faces = labels.setdefault((row["package"], row["photo"]), [])
            if row["x1"]:
                faces.append(row)
    return labels


def _reference_rows(rel_path: str, faces: list[dict], size: tuple[int, int], kind: str) -> list[dict]:
    rows = []
    for face in faces:
        box = variant_box(tuple(float(face[c]) for c in ("x1", "y1", "x2", "y2")), size, kind)
        if box is not None:
            rows.append({"rel_path": rel_path, **dict(zip(("x1", "y1", "x2", "y2"), box, strict=True)),
                         "gender": face["gender"], "age": face["age"], "attr_pose": face["pose"]})
    return rows or [{"rel_path": rel_path}]  # listed with no face: "no face here"


def check_target(target: Path) -> None:
    """Refuse a path that is not a new or empty folder or an earlier demo of this command.

    Nothing is ever deleted: a rebuild rewrites the demo's own files in place."""
    if target.exists() and not target.is_dir():
        raise CensusError(f"{target} is a file, not a folder; choose a new folder for the demo dataset.")
    if target.is_dir() and not (target / MARKER).is_file() and not _only_demo_files(target):
        raise CensusError(
            f"{target} is not empty and was not made by `ingest demo`; nothing was changed. "
            "Choose a new or empty folder for the demo dataset."
        )
    odd = [rel for rel in sorted(_demo_folders()) if _unlike(target / rel, Path.is_dir)]
    odd += [rel for rel in sorted(demo_files()) if _unlike(target / rel, Path.is_file)]
    if odd:
        raise CensusError(
            f"{target / odd[0]} is a link or not a plain file where the demo writes; nothing was changed. "
            "Choose a new or empty folder for the demo dataset."
        )


def _unlike(path: Path, is_kind) -> bool:
    """True when path is a link, or exists as something other than the kind the demo writes there."""
    return path.is_symlink() or (path.exists() and not is_kind(path))


def _demo_folders() -> set[str]:
    return {"train", "val"} | {f"train/{wnid}" for _, _, wnid in SOURCES}


def demo_files() -> set[str]:
    """The relative paths a demo build writes."""
    files = {MARKER, "LOC_val_solution.csv", REFERENCE_FILE}
    for number, (_, _, wnid) in enumerate(SOURCES):
        files.add(f"val/ILSVRC2012_val_{number + 1:08d}.JPEG")
        files.update(f"train/{wnid}/{wnid}_{number * 10 + v}.JPEG" for v, kind in enumerate(VARIANTS)
                     if kind != "dark")
    return files


def _only_demo_files(target: Path) -> bool:
    """True for an empty folder or one holding only files a demo build writes (an older demo)."""
    expected = demo_files()
    folders = _demo_folders()
    for path in target.rglob("*"):
        rel = path.relative_to(target).as_posix()
        if path.is_symlink() or (path.is_dir() and rel not in folders) or (not path.is_dir() and rel not in expected):
            return False
    return True


def build_demo(target: Path) -> int:
    """Build (or rebuild in place) the demo dataset at ``target``; returns the number of images."""
    check_target(target)
    (target / "train").mkdir(parents=True, exist_ok=True)
    (target / "val").mkdir(exist_ok=True)
    (target / MARKER).write_text("Built by `ingest demo`; rebuilding rewrites the demo's own files here.\n")
    val_rows: list[tuple[str, str]] = []
    reference: list[dict] = []
    labels = source_labels()
    count = 0
    for number, (package, name, wnid) in enumerate(SOURCES):
        path = source_path(package, name)
        if not path.is_file():
            raise CensusError(
                f"The demo photo {path} is missing; reinstall {package} (pip install {package})."
            )
        photo = Image.open(path)
        photo = Image.alpha_composite(Image.new("RGBA", photo.size, "white"), photo.convert("RGBA"))
        photo = photo.convert("RGB")
        class_dir = target / "train" / wnid
        class_dir.mkdir(exist_ok=True)
        for v, kind in enumerate(VARIANTS):
            image = _variant(photo, kind)
            if kind == "dark":  # one variant per photo goes to the flat val split
                stem = f"ILSVRC2012_val_{number + 1:08d}"
                rel_path = f"val/{stem}.JPEG"
                val_rows.append((stem, wnid))
            else:
                rel_path = f"train/{wnid}/{wnid}_{number * 10 + v}.JPEG"
            image.save(target / rel_path, quality=92)
            if (package, name) in labels:  # an unlabelled photo is left out, never claimed face-free
                reference += _reference_rows(rel_path, labels[(package, name)], photo.size, kind)
            count += 1
    with (target / "LOC_val_solution.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ImageId", "PredictionString"])
        for stem, wnid in val_rows:
            writer.writerow([stem, f"{wnid} 0 0 10 10"])
    with (target / REFERENCE_FILE).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REFERENCE_COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(reference)
    return count
