"""Dataset layouts: which images exist, their split and their label (the reader).

Supported:
- ``ilsvrc``: ILSVRC-2012 ``train/<wnid>/*`` and ``val/`` either in ``<wnid>`` folders or
  flat with its ground truth (``LOC_val_solution.csv`` beside or inside ``val/``, or the
  devkit's ``ILSVRC2012_validation_ground_truth.txt`` + ``meta.mat``).
- ``folders``: ``<split>/<class>/*`` or ``<class>/*`` (split ``train``).
- ``manifest``: a CSV or Parquet file with columns rel_path, split, label.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from .errors import CensusError

IMAGE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm",
}
WNID = re.compile(r"^n\d{8}$")
SPLITS = ("train", "val", "test")
LAYOUTS = ("auto", "ilsvrc", "folders", "manifest")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image to process: where it is relative to the dataset root and what it is labelled."""

    rel_path: str  # as the file system names it (may hold undecodable bytes, escaped)
    split: str
    wnid: str

    @property
    def stored_path(self) -> str:
        """rel_path as valid UTF-8 text: undecodable bytes become \\xNN escapes."""
        return self.rel_path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _walk_images(folder: Path) -> Iterator[Path]:
    """Every image file under folder, sorted, including dangling links (they become errors)."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if is_image(name):
                yield Path(dirpath) / name


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def detect_layout(root: Path) -> str:
    if root.is_file():
        return "manifest"
    train = root / "train"
    if train.is_dir() and any(WNID.match(p.name) for p in train.iterdir() if p.is_dir()):
        return "ilsvrc"
    return "folders"


LABEL_CHECKS = ("auto", "imagenet", "any")


def check_labels(wnids: set[str], labels: str, layout: str) -> None:
    """With ``imagenet`` (the default for the ILSVRC layout) every label must be one of the
    1,000 ILSVRC-2012 wnids; ``any`` accepts any label (ImageNet-21k subsets, other datasets)."""
    if labels not in LABEL_CHECKS:
        raise CensusError(f"Unknown --labels {labels!r}: use one of {', '.join(LABEL_CHECKS)}.")
    if labels == "any" or (labels == "auto" and layout != "ilsvrc"):
        return
    from .models.imagenet import imagenet_wnids

    known = set(imagenet_wnids())
    unknown = sorted(set(wnids) - known)
    if unknown:
        raise CensusError(
            f"{len(unknown)} label(s) are not ILSVRC-2012 classes ({', '.join(unknown[:5])}); "
            "fix them, or pass --labels any for other WordNet subsets."
        )


def resolve_layout(root: Path, layout: str, manifest: Path | None) -> str:
    """The concrete layout of a dataset, with one clear sentence for what cannot work."""
    if manifest is not None:
        return "manifest"
    if not root.exists():
        raise CensusError(f"The dataset folder {root} does not exist.")
    if layout == "auto":
        layout = detect_layout(root)
    if layout == "manifest":
        raise CensusError("The manifest layout needs --manifest FILE (CSV or Parquet).")
    if not root.is_dir():
        raise CensusError(f"The dataset {root} is not a folder.")
    return layout


def iter_images(root: Path, layout: str, manifest: Path | None = None) -> Iterator[ImageRef]:
    """Every image of a dataset in a deterministic order, one at a time (folders are walked
    lazily, so listing ImageNet does not hold 1.3M paths at once)."""
    if layout == "manifest":
        yield from read_manifest(root, manifest)
    elif layout == "ilsvrc":
        yield from list_ilsvrc(root)
    else:
        yield from list_folders(root)


def list_images(
    root: Path, layout: str = "auto", manifest: Path | None = None, labels: str = "auto"
) -> list[ImageRef]:
    """All images of a dataset, in a deterministic order."""
    layout = resolve_layout(root, layout, manifest)
    refs = list(iter_images(root, layout, manifest))
    if not refs and layout != "manifest":
        raise CensusError(f"No images found under {root} (layout {layout}).")
    check_labels({r.wnid for r in refs}, labels, layout)
    return refs


def list_ilsvrc(root: Path) -> Iterator[ImageRef]:
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            continue
        class_dirs = sorted(p for p in folder.iterdir() if p.is_dir())
        strays = [p.name for p in class_dirs if not WNID.match(p.name)]
        if strays:
            raise CensusError(
                f"{folder} holds folder(s) that are not WordNet ids ({', '.join(strays[:5])}); "
                "an ILSVRC layout needs train/<wnid>/ folders; use --layout folders for other names."
            )
        for class_dir in class_dirs:
            yield from (ImageRef(_rel(root, p), split, class_dir.name) for p in _walk_images(class_dir))
        loose = sorted(p for p in folder.iterdir() if not p.is_dir() and is_image(p.name))
        if loose:
            labels = _flat_labels(root, folder, split)
            for path in loose:
                label = labels.get(path.stem)
                if label is None:
                    raise CensusError(
                        f"{_rel(root, path)} has no label in the {split} ground truth; "
                        "add it to LOC_val_solution.csv or move it into a <wnid> folder."
                    )
                yield ImageRef(_rel(root, path), split, label)


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


def list_folders(root: Path) -> Iterator[ImageRef]:
    split_dirs = [root / s for s in SPLITS if (root / s).is_dir()]
    if split_dirs:
        for folder in split_dirs:
            yield from _class_folders(root, folder, folder.name)
    else:
        yield from _class_folders(root, root, "train")


def _class_folders(root: Path, folder: Path, split: str) -> Iterator[ImageRef]:
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        yield from (ImageRef(_rel(root, p), split, class_dir.name) for p in _walk_images(class_dir))


def safe_rel_path(value: str) -> str | None:
    """The normalised relative path, or None when it is absolute or escapes the root."""
    text = str(value).replace("\\", "/").strip()
    if not text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return None
    parts = PurePosixPath(text).parts
    if any(part == ".." for part in parts):
        return None
    return PurePosixPath(*[p for p in parts if p != "."]).as_posix()


def read_manifest(root: Path, manifest: Path) -> list[ImageRef]:
    if not manifest.is_file():
        raise CensusError(f"The manifest {manifest} does not exist.")
    try:
        if manifest.suffix.lower() == ".parquet":
            frame = pd.read_parquet(manifest)
        else:
            frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    except Exception as error:  # noqa: BLE001 - any parser failure is a bad manifest
        raise CensusError(f"Cannot read the manifest {manifest}: {error}") from error
    missing = [c for c in ("rel_path", "split", "label") if c not in frame.columns]
    if missing:
        raise CensusError(
            f"The manifest {manifest} lacks column(s) {', '.join(missing)}; "
            "it needs rel_path, split and label."
        )
    refs: list[ImageRef] = []
    problems: list[str] = []
    for number, row in enumerate(frame.itertuples(index=False), start=2):
        rel = safe_rel_path(row.rel_path)
        if rel is None:
            problems.append(f"row {number}: path {row.rel_path!r} is absolute or leaves the root")
        elif not str(row.split).strip() or not str(row.label).strip():
            problems.append(f"row {number}: split and label must not be empty")
        else:
            refs.append(ImageRef(rel, str(row.split).strip(), str(row.label).strip()))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise CensusError(f"The manifest {manifest} has bad rows ({shown}); nothing was written.")
    if len({r.rel_path for r in refs}) != len(refs):
        raise CensusError(f"The manifest {manifest} lists a rel_path twice; nothing was written.")
    return refs
