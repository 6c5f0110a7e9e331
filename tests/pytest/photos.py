"""Small datasets built from real sample photos that ship inside installed packages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ingest.devtools.demo import source_path


def imagenet_size(path: Path, width: int = 500) -> Image.Image:
    image = Image.open(path).convert("RGB")
    return image.resize((width, round(image.height * width / image.width)), Image.BICUBIC)


def build_small_ilsvrc(root: Path) -> Path:
    """Six train images in two classes and two flat val images, at ImageNet size."""
    faces = source_path("insightface", "images/t1.jpg")
    cat = source_path("skimage", "chelsea.png")
    coffee = source_path("skimage", "coffee.png")
    (root / "train" / "n04350905").mkdir(parents=True)
    (root / "train" / "n02123045").mkdir(parents=True)
    (root / "val").mkdir()
    imagenet_size(faces).save(root / "train/n04350905/n04350905_1.JPEG", quality=90)
    imagenet_size(faces, 420).save(root / "train/n04350905/n04350905_2.jpeg", quality=90)
    imagenet_size(coffee).save(root / "train/n04350905/n04350905_3.JPG", quality=90)
    imagenet_size(cat).save(root / "train/n02123045/n02123045_1.JPEG", quality=90)
    imagenet_size(cat, 400).save(root / "train/n02123045/n02123045_2.png")
    imagenet_size(coffee, 450).save(root / "train/n02123045/n02123045_3.JPEG", quality=90)
    imagenet_size(faces, 480).save(root / "val/ILSVRC2012_val_00000001.JPEG", quality=90)
    imagenet_size(cat, 480).save(root / "val/ILSVRC2012_val_00000002.JPEG", quality=90)
    (root / "LOC_val_solution.csv").write_text(
        "ImageId,PredictionString\n"
        "ILSVRC2012_val_00000001,n04350905 1 2 3 4\n"
        "ILSVRC2012_val_00000002,n02123045 1 2 3 4\n"
    )
    return root


def noise_jpeg(path: Path, size=(500, 375), seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
