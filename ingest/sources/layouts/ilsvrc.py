"""``ilsvrc``: ILSVRC-2012 ``train/<wnid>/*`` and ``val/`` either in ``<wnid>`` folders or flat with
its ground truth (``LOC_val_solution.csv`` beside or inside ``val/``, or the devkit's
``ILSVRC2012_validation_ground_truth.txt`` + ``meta.mat``)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from ...core.errors import CensusError
from .base import ImageRef
from .protocol import Layout, Peek, Source
from .scan import Scan, loose_images, subfolders, walk_images
from .splits import SENTENCES, SPLITS, beside_splits, split_folders

WNID = re.compile(r"^n\d{8}$")
DEVKIT_FOLDERS = ("ILSVRC2012_devkit_t12", "devkit")


class Ilsvrc(Layout):
    ignored = SENTENCES
    imagenet_labels = True

    def detect(self, peek: Peek) -> bool:
        train = peek.root / "train"
        return train.is_dir() and any(WNID.match(p.name) for p in train.iterdir() if p.is_dir())

    def images(self, source: Source) -> Iterator[ImageRef]:
        scan = source.scan
        beside_splits(scan, SPLITS + DEVKIT_FOLDERS)
        for folder in split_folders(scan):
            yield from _split(scan, folder)


def _split(scan: Scan, folder: Path) -> Iterator[ImageRef]:
    split = folder.name
    class_dirs = subfolders(scan, folder)
    strays = [p.name for p in class_dirs if not WNID.match(p.name)]
    if strays:
        raise CensusError(
            f"{folder} holds folder(s) that are not WordNet ids ({', '.join(strays[:5])}); "
            "an ILSVRC layout needs train/<wnid>/ folders; use --layout folders for other names."
        )
    for class_dir in class_dirs:
        yield from (ImageRef(scan.rel(p), split, class_dir.name) for p in walk_images(scan, class_dir))
    loose = loose_images(folder)
    if loose:
        labels = _flat_labels(scan.root, folder, split)
        for path in loose:
            label = labels.get(path.stem)
            if label is None:
                raise CensusError(
                    f"{scan.rel(path)} has no label in the {split} ground truth; "
                    "add it to LOC_val_solution.csv or move it into a <wnid> folder."
                )
            yield ImageRef(scan.rel(path), split, label)


def _flat_labels(root: Path, folder: Path, split: str) -> dict[str, str]:
    """Ground truth for a flat split folder, keyed by file stem."""
    for candidate in (
        root / f"LOC_{split}_solution.csv",
        folder / f"LOC_{split}_solution.csv",
        root.parent / f"LOC_{split}_solution.csv",
    ):
        if candidate.is_file():
            return _loc_solution(candidate)
    devkit = _find_devkit(root)
    if devkit is not None and split == "val":
        return _devkit_val_labels(devkit, folder)
    raise CensusError(
        f"{folder} holds images directly but no ground truth was found: put "
        f"LOC_{split}_solution.csv in {root}, or the ILSVRC2012 devkit (data/meta.mat and "
        "data/ILSVRC2012_validation_ground_truth.txt) in it."
    )


def _loc_solution(path: Path) -> dict[str, str]:
    labels: dict[str, str] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            image = row.get("ImageId")
            prediction = (row.get("PredictionString") or "").split()
            if not image or not prediction or not WNID.match(prediction[0]):
                raise CensusError(f"{path}: a row does not look like 'ImageId,PredictionString'.")
            labels[image] = prediction[0]
    return labels


def _find_devkit(root: Path) -> Path | None:
    for candidate in (root / "ILSVRC2012_devkit_t12", root / "devkit", root.parent / "devkit"):
        if (candidate / "data" / "meta.mat").is_file():
            return candidate
    return None


def _devkit_val_labels(devkit: Path, folder: Path) -> dict[str, str]:
    from scipy.io import loadmat

    meta = loadmat(str(devkit / "data" / "meta.mat"), squeeze_me=True)["synsets"]
    id_to_wnid = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in meta}
    truth = (devkit / "data" / "ILSVRC2012_validation_ground_truth.txt").read_text().split()
    return {f"ILSVRC2012_val_{i:08d}": id_to_wnid[int(v)] for i, v in enumerate(truth, start=1)}


LAYOUT = Ilsvrc()
