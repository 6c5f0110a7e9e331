"""The embedded demo dataset: real photos that ship inside installed packages (the
insightface wheel's sample photos, scikit-image's data images), filed under real
ILSVRC-2012 wnids in the ILSVRC-2012 layout, at ImageNet size (~500 px).

Each photo yields a few variants (resize, mirror, crop, exposure) so that every class has
train images and one flat val image labelled through ``LOC_val_solution.csv``."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

from .errors import CensusError

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


def source_path(package: str, name: str) -> Path:
    if package == "insightface":
        import insightface

        return Path(insightface.__file__).parent / "data" / name
    import skimage

    return Path(skimage.__file__).parent / "data" / name


def _variant(image: Image.Image, kind: str) -> Image.Image:
    if kind == "mirror":
        image = ImageOps.mirror(image)
    elif kind == "crop":
        w, h = image.size
        image = image.crop((w // 12, h // 12, w - w // 12, h - h // 12))
    elif kind == "bright":
        image = ImageEnhance.Brightness(image).enhance(1.25)
    elif kind == "dark":
        image = ImageEnhance.Brightness(image).enhance(0.8)
    ratio = LONG_SIDE / max(image.size)
    size = (round(image.size[0] * ratio), round(image.size[1] * ratio))
    return image.resize(size, Image.BICUBIC)


def build_demo(target: Path) -> int:
    """(Re)build the demo dataset at ``target``; returns the number of images."""
    if target.exists():
        shutil.rmtree(target)
    (target / "train").mkdir(parents=True)
    (target / "val").mkdir()
    val_rows: list[tuple[str, str]] = []
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
                image.save(target / "val" / f"{stem}.JPEG", quality=92)
                val_rows.append((stem, wnid))
            else:
                image.save(class_dir / f"{wnid}_{number * 10 + v}.JPEG", quality=92)
            count += 1
    with (target / "LOC_val_solution.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ImageId", "PredictionString"])
        for stem, wnid in val_rows:
            writer.writerow([stem, f"{wnid} 0 0 10 10"])
    return count
