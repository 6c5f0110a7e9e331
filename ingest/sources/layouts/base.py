"""Dataset layouts: which images exist, their split and their label (the reader).

Supported:
- ``ilsvrc``: ILSVRC-2012 ``train/<wnid>/*`` and ``val/`` either in ``<wnid>`` folders or
  flat with its ground truth (``LOC_val_solution.csv`` beside or inside ``val/``, or the
  devkit's ``ILSVRC2012_validation_ground_truth.txt`` + ``meta.mat``).
- ``folders``: ``<split>/<class>/*`` or ``<class>/*`` (split ``train``).
- ``manifest``: a CSV or Parquet file with columns rel_path, split, label.
- ``images``: a flat or nested folder of unlabelled images: split ``all``, label ``''``
  (raw.images.wnid stays NOT NULL for external writers; the empty string means "no label").
- ``webdataset``: every ``.tar`` shard under the root (``ingest/sources/webdataset.py``), one image per
  sample, rel_path ``shard.tar#key``, split ``all``, label ``''``; captions and .json kept.
- ``parquet``: every ``.parquet`` file under the root with an image-bytes column
  (``ingest/sources/parquet_images.py``), rel_path ``file.parquet#row``, split ``all``, label from a
  ``wnid``/``label`` column when there is one, else ``''``; captions and other columns kept.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from ..core.choices import LabelCheck, Layout, values
from ..core.errors import CensusError
from ..images.decode import IMAGE_EXTENSIONS, is_image, is_inside
from ..images.decode import name_extension as _extension

UNLABELLED = ""  # the label of an image of a dataset without labels (raw.images.wnid is NOT NULL)
ALL_SPLIT = "all"

# sidecar files datasets ship beside their images: never images, so not sniffed (but named)
SIDECAR_EXTENSIONS = {
    ".txt", ".csv", ".tsv", ".xml", ".json", ".jsonl", ".md", ".html", ".htm", ".mat", ".py", ".sh",
    ".log", ".yaml", ".yml", ".parquet", ".npy", ".npz", ".pkl", ".tar", ".gz", ".zip", ".db",
}
WNID = re.compile(r"^n\d{8}$")
SPLITS = ("train", "val", "test")
LAYOUTS = values(Layout)
DEVKIT_FOLDERS = ("ILSVRC2012_devkit_t12", "devkit")
MANIFEST_SAMPLE = 100  # listed files checked before a manifest's root is trusted


def stored_path(fs_path: str) -> str:
    r"""A file-system path (undecodable bytes held as surrogates) as valid UTF-8 text, losslessly.

    A path that is valid UTF-8 and holds no backslash is stored as it is. Any other path is
    stored with each backslash doubled (``\\``) and each undecodable byte as ``\xNN``: every
    such stored path holds a backslash and the escapes can be undone, so two different files
    never share a rel_path (or an image_id).
    """
    try:
        fs_path.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if "\\" not in fs_path:
            return fs_path
    escaped = fs_path.replace("\\", "\\\\")
    return escaped.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image to process: where it is relative to the dataset root and what it is labelled."""

    rel_path: str  # as the file system names it (may hold undecodable bytes, escaped)
    split: str
    wnid: str

    @property
    def stored_path(self) -> str:
        """rel_path as valid UTF-8 text (see :func:`stored_path`)."""
        return stored_path(self.rel_path)


_IGNORED_SENTENCES = {
    "not_image": "{n} file(s) that are not images by name or content were ignored (e.g. {ex}).",
    "unreadable": "{n} file(s) without an image extension could not be read to tell whether they are "
                  "images and were ignored (e.g. {ex}).",
    "special": "{n} special file(s) (FIFO, device or socket) were ignored (e.g. {ex}).",
    "outside": "{n} link(s) leading outside the dataset root were ignored (e.g. {ex}); "
               "only files inside the root are read.",
    "linked_folder": "{n} linked folder(s) were not followed, so that no image is listed twice or read "
                     "from outside the root (e.g. {ex}); put the real folders in the dataset instead.",
    "unlistable": "{n} folder(s) could not be listed and were ignored (e.g. {ex}); check their permissions.",
    "loose": "{n} image file(s) outside any class folder were ignored (e.g. {ex}); "
             "move them into a <class> folder, or run with --layout images to census every image unlabelled.",
    "no_image_sample": "{n} webdataset sample(s) without an image member were ignored (e.g. {ex}).",
    "second_image": "{n} further image member(s) of a sample that already has one were ignored (e.g. {ex}); "
                    "one image is read per webdataset key.",
    "duplicate_key": "{n} webdataset sample(s) repeating the key of an earlier sample of the same shard were "
                     "ignored (e.g. {ex}); the first sample with a key is read, so give every sample its own key.",
    "truncated": "{n} shard(s) end early (truncated or corrupt) and were read up to the break (e.g. {ex}); "
                 "the samples before it are processed, a member cut short is recorded as an error.",
    "not_container": "{n} file(s) that are not shards of this layout were ignored (e.g. {ex}).",
    "bad_container": "{n} file(s) of this layout could not be read at all and were ignored (e.g. {ex}).",
    "other_folder": "{n} folder(s) beside the split folders were ignored (e.g. {ex}); "
                    "only train/, val/ and test/ are read when one of them exists.",
}


@dataclass
class Ignored:
    """What a listing left out, by reason, so that a run can say so: nothing is dropped silently.

    Pass one to :func:`iter_images` or :func:`list_images`, then print :meth:`messages`.
    """

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, rel_path: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(stored_path(rel_path))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def messages(self) -> list[str]:
        """One sentence per reason, e.g. "2 file(s) that are not images ... (e.g. a.txt, b)."."""
        return [
            _IGNORED_SENTENCES[reason].format(n=n, ex=", ".join(self.examples[reason]))
            for reason, n in self.counts.items()
        ]


@dataclass(frozen=True, slots=True)
class _Scan:
    """One listing of a dataset folder: its root, real root and the record of what it left out."""

    root: Path
    real_root: str
    ignored: Ignored

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def skip(self, reason: str, path: Path) -> None:
        self.ignored.add(reason, self.rel(path))


_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
               b"\x00\x00\x00\x0cjP  \r\n", b"\xff\x4f\xff\x51")


def looks_like_image(head: bytes) -> bool:
    """Whether a file's first 16 bytes are those of an image format Pillow reads."""
    return (
        head.startswith(_SIGNATURES)
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or (head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"))
        or re.match(rb"P[1-6]\s", head) is not None
    )


def _sniff(path: Path, real_root: str) -> str | None:
    """None when a file without an image name holds an image; else why it is ignored.

    Never reads outside the root, and never opens a FIFO or a device (it could block forever).
    """
    if not is_inside(os.path.realpath(path), real_root):
        return "outside"
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return "special"
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            head = os.read(descriptor, 16) if stat.S_ISREG(os.fstat(descriptor).st_mode) else b""
        finally:
            os.close(descriptor)
    except OSError:
        return "unreadable"
    return None if looks_like_image(head) else "not_image"


def _file_reason(path: Path, real_root: str) -> str | None:
    """None when a file in a class folder is listed (by name or by content); else why not."""
    extension = _extension(path.name)
    if extension in IMAGE_EXTENSIONS:
        return None  # read, or refused with an error row, when it is decoded
    if extension in SIDECAR_EXTENSIONS:
        return "not_image"
    return _sniff(path, real_root)


def _walk_files(scan: _Scan, folder: Path) -> Iterator[Path]:
    """Every file name under a real folder, sorted by folder then name. Links to folders are
    not followed (named instead): a folder is walked once, and never outside the root."""

    def unlistable(error: OSError) -> None:
        scan.skip("unlistable", Path(error.filename))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unlistable, followlinks=False):
        base = Path(dirpath)
        for name in [d for d in dirnames if os.path.islink(base / d)]:
            dirnames.remove(name)
            scan.skip("linked_folder", base / name)
        dirnames.sort()
        for name in sorted(filenames):
            yield base / name


def _walk_images(scan: _Scan, folder: Path) -> Iterator[Path]:
    """Every image file under a real folder, sorted, including dangling links (they become
    errors)."""
    for path in _walk_files(scan, folder):
        reason = _file_reason(path, scan.real_root)
        if reason is None:
            yield path
        else:
            scan.skip(reason, path)


def _subfolders(scan: _Scan, folder: Path) -> list[Path]:
    """The real sub-folders of a folder, sorted; links to folders are named, not followed."""
    folders = []
    for path in sorted(folder.iterdir()):
        if not path.is_dir():
            continue
        if path.is_symlink():
            scan.skip("linked_folder", path)
        else:
            folders.append(path)
    return folders


def _loose_images(folder: Path) -> list[Path]:
    """Files directly in a folder whose name says image, sorted."""
    return sorted(p for p in folder.iterdir() if not p.is_dir() and is_image(p.name))


def _split_folders(scan: _Scan) -> list[Path]:
    """root/<split> for each split that is a real folder (links are named by _beside_splits)."""
    return [scan.root / s for s in SPLITS if (scan.root / s).is_dir() and not (scan.root / s).is_symlink()]


def _images_below(folders: list[Path], enough: int) -> int:
    """How many files named as images the folders hold at any depth, counting no further than
    ``enough`` (so a large class-folder dataset is not walked just to detect its layout)."""
    found = 0
    for folder in folders:
        for _, _, names in os.walk(folder, followlinks=False):
            found += sum(1 for name in names if is_image(name))
            if found >= enough:
                return found
    return found


def detect_layout(root: Path) -> str:
    """The layout ``--layout auto`` reads a dataset with. Images at the top level beside
    sub-folders are not class folders' images: when they are at least as many as the images in
    the sub-folders, class folders would leave most of the dataset out, so every image is read
    unlabelled (``images``); fewer of them are strays beside class folders, named in a note."""
    if root.is_file():
        return "manifest"
    train = root / "train"
    if train.is_dir() and any(WNID.match(p.name) for p in train.iterdir() if p.is_dir()):
        return "ilsvrc"
    entries = list(root.iterdir())
    folders = [p for p in entries if p.is_dir() and not p.is_symlink()]
    loose = sum(1 for p in entries if not p.is_dir() and is_image(p.name))
    if not any(p.is_dir() for p in entries):
        kinds = {_extension(p.name) for p in entries}
        if kinds and kinds <= {".tar"} | SIDECAR_EXTENSIONS - {".parquet"} and ".tar" in kinds:
            return "webdataset"
        if ".parquet" in kinds and not loose and ".tar" not in kinds:
            return "parquet"
    if loose and _images_below(folders, loose + 1) <= loose:
        return "images"
    return "folders"


LABEL_CHECKS = values(LabelCheck)


def labels_checked(labels: str, layout: str) -> bool:
    """Whether :func:`check_labels` checks every label against the ILSVRC-2012 wnids."""
    return not (labels == "any" or (labels == "auto" and layout != "ilsvrc"))


def check_labels(wnids: set[str], labels: str, layout: str) -> None:
    """With ``imagenet`` (the default for the ILSVRC layout) every label must be one of the
    1,000 ILSVRC-2012 wnids; ``any`` accepts any label (ImageNet-21k subsets, other datasets)."""
    if labels not in LABEL_CHECKS:
        raise CensusError(f"Unknown --labels {labels!r}: use one of {', '.join(LABEL_CHECKS)}.")
    if not labels_checked(labels, layout):
        return
    from ..core.classes import imagenet_wnids

    known = set(imagenet_wnids())
    unknown = sorted(set(wnids) - known)
    if unknown:
        raise CensusError(
            f"{len(unknown)} label(s) are not ILSVRC-2012 classes ({', '.join(unknown[:5])}); "
            "fix them, or pass --labels any for other WordNet subsets."
        )


def resolve_layout(root: Path, layout: str, manifest: Path | None) -> str:
    """The concrete layout of a dataset, with one clear sentence for what cannot work."""
    if layout not in LAYOUTS:
        raise CensusError(f"Unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}.")
    if manifest is not None:
        if not root.is_dir():
            raise CensusError(
                f"The dataset root {root} does not exist or is not a folder; the manifest's "
                "rel_paths are read relative to it, so pass the folder that holds the images."
            )
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


def iter_images(
    root: Path, layout: str, manifest: Path | None = None, ignored: Ignored | None = None,
    on_text: OnText | None = None,
) -> Iterator[ImageRef]:
    """Every image of a dataset in a deterministic order, one at a time (folders are walked
    lazily, so listing ImageNet does not hold 1.3M paths at once). What a folder listing
    leaves out is recorded in ``ignored`` (complete once the iterator is exhausted).
    ``on_text(rel_path, caption, meta_json)`` receives each sample's caption and metadata
    (webdataset and parquet layouts) as it is listed."""
    if layout == "manifest":
        yield from read_manifest(root, manifest)
        return
    scan = _Scan(root, os.path.realpath(root), ignored if ignored is not None else Ignored())
    if layout == "ilsvrc":
        yield from list_ilsvrc(root, scan)
    elif layout == "images":
        yield from list_unlabelled(root, scan)
    elif layout == "webdataset":
        yield from list_webdataset(root, scan, on_text)
    elif layout == "parquet":
        yield from list_parquet(root, scan, on_text)
    else:
        yield from list_folders(root, scan)


def no_images(root: Path, layout: str) -> CensusError:
    """"No images found", with the layout that would find some where ``--layout auto`` picks
    another one (a flat folder read as class folders, shards read as loose images, ...)."""
    message = f"No images found under {root} (layout {layout})"
    try:
        other = detect_layout(root)
        found = other not in (layout, "manifest") and next(iter(iter_images(root, other)), None) is not None
    except (CensusError, OSError):
        found = False
    if found:
        return CensusError(f"{message}; its files look like layout {other}: try --layout {other} (or --layout "
                           "auto).")
    return CensusError(f"{message}.")


def list_images(
    root: Path, layout: str = "auto", manifest: Path | None = None, labels: str = "auto",
    ignored: Ignored | None = None,
) -> list[ImageRef]:
    """All images of a dataset, in a deterministic order."""
    layout = resolve_layout(root, layout, manifest)
    refs = list(iter_images(root, layout, manifest, ignored))
    if not refs and layout != "manifest":
        raise no_images(root, layout)
    check_labels({r.wnid for r in refs}, labels, layout)
    return refs


def _beside_splits(scan: _Scan, allowed: tuple[str, ...]) -> None:
    """Name what lies beside the split folders and is not read: other folders, linked
    folders and image files."""
    for path in _subfolders(scan, scan.root):
        if path.name not in allowed:
            scan.skip("other_folder", path)
    for path in _loose_images(scan.root):
        scan.skip("loose", path)


def list_ilsvrc(root: Path, scan: _Scan | None = None) -> Iterator[ImageRef]:
    scan = scan or _Scan(root, os.path.realpath(root), Ignored())
    _beside_splits(scan, SPLITS + DEVKIT_FOLDERS)
    for folder in _split_folders(scan):
        split = folder.name
        class_dirs = _subfolders(scan, folder)
        strays = [p.name for p in class_dirs if not WNID.match(p.name)]
        if strays:
            raise CensusError(
                f"{folder} holds folder(s) that are not WordNet ids ({', '.join(strays[:5])}); "
                "an ILSVRC layout needs train/<wnid>/ folders; use --layout folders for other names."
            )
        for class_dir in class_dirs:
            yield from (ImageRef(scan.rel(p), split, class_dir.name) for p in _walk_images(scan, class_dir))
        loose = _loose_images(folder)
        if loose:
            labels = _flat_labels(root, folder, split)
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


OnText = Callable[[str, "str | None", "str | None"], None]


def list_unlabelled(root: Path, scan: _Scan | None = None) -> Iterator[ImageRef]:
    """Every image under the root, at any depth, in one split ``all`` without a label."""
    scan = scan or _Scan(root, os.path.realpath(root), Ignored())
    yield from (ImageRef(scan.rel(p), ALL_SPLIT, UNLABELLED) for p in _walk_images(scan, root))


def _container_files(scan: _Scan, suffix: str) -> Iterator[Path]:
    """Every real file under the root with that extension, sorted; anything else is named."""
    for path in _walk_files(scan, scan.root):
        if _extension(path.name) != suffix:
            scan.skip("not_container", path)
        elif not is_inside(os.path.realpath(path), scan.real_root):
            scan.skip("outside", path)
        elif not path.is_file():
            scan.skip("special", path)
        else:
            yield path


def list_webdataset(root: Path, scan: _Scan | None = None, on_text: OnText | None = None) -> Iterator[ImageRef]:
    """One image per sample of every .tar shard under the root, shards sorted by path."""
    from .webdataset import iter_samples, meta_json

    scan = scan or _Scan(root, os.path.realpath(root), Ignored())
    for shard in _container_files(scan, ".tar"):
        shard_rel = scan.rel(shard)

        def skip(reason: str, member: str, shard_rel: str = shard_rel) -> None:
            scan.ignored.add(reason, member if reason == "truncated" else f"{shard_rel}#{member}")

        for sample in iter_samples(shard, is_image, skip):
            rel = f"{shard_rel}#{sample.key}"
            if on_text is not None and (sample.caption is not None or sample.meta is not None):
                on_text(stored_path(rel), sample.caption, meta_json(sample.meta))
            yield ImageRef(rel, ALL_SPLIT, UNLABELLED)


def list_parquet(root: Path, scan: _Scan | None = None, on_text: OnText | None = None) -> Iterator[ImageRef]:
    """One image per row of every .parquet file under the root, files sorted by path."""
    from .parquet_images import iter_rows

    scan = scan or _Scan(root, os.path.realpath(root), Ignored())
    for path in _container_files(scan, ".parquet"):
        file_rel = scan.rel(path)
        refs: list[ImageRef] = []
        try:
            for row in iter_rows(path):
                rel = f"{file_rel}#{row.row}"
                if on_text is not None and (row.caption is not None or row.meta is not None):
                    on_text(stored_path(rel), row.caption, row.meta)
                refs.append(ImageRef(rel, ALL_SPLIT, row.label))
                if len(refs) >= 10_000:
                    yield from refs
                    refs = []
        except Exception as error:  # noqa: BLE001 - any unreadable file is named, never a traceback
            scan.ignored.add("bad_container", f"{file_rel} ({str(error)[:120]})")
        yield from refs


def list_folders(root: Path, scan: _Scan | None = None) -> Iterator[ImageRef]:
    scan = scan or _Scan(root, os.path.realpath(root), Ignored())
    if any((root / s).is_dir() for s in SPLITS):
        _beside_splits(scan, SPLITS)
        for folder in _split_folders(scan):
            yield from _class_folders(scan, folder, folder.name)
    else:
        yield from _class_folders(scan, root, "train")


def _class_folders(scan: _Scan, folder: Path, split: str) -> Iterator[ImageRef]:
    for path in _loose_images(folder):
        scan.skip("loose", path)
    for class_dir in _subfolders(scan, folder):
        yield from (ImageRef(scan.rel(p), split, class_dir.name) for p in _walk_images(scan, class_dir))


def safe_rel_path(value: str) -> str | None:
    """The normalised relative path, or None when it is absolute or escapes the root."""
    text = str(value).replace("\\", "/").strip()
    if not text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return None
    parts = PurePosixPath(text).parts
    if any(part == ".." for part in parts):
        return None
    return PurePosixPath(*[p for p in parts if p != "."]).as_posix()


MANIFEST_COLUMNS = ("rel_path", "split", "label")


def _manifest_columns(manifest: Path) -> tuple[dict[str, list], int]:
    """The manifest's three columns as plain Python values, and the number of its first row
    (CSV: the line number after the header; Parquet: 1)."""
    try:
        if manifest.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(manifest)
            names, first = table.column_names, 1
            columns = {c: table.column(c).to_pylist() for c in MANIFEST_COLUMNS if c in names}
        else:
            frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
            names, first = list(frame.columns), 2
            columns = {c: frame[c].tolist() for c in MANIFEST_COLUMNS if c in names}
    except Exception as error:  # noqa: BLE001 - any parser failure is a bad manifest
        raise CensusError(f"Cannot read the manifest {manifest}: {error}") from error
    missing = [c for c in MANIFEST_COLUMNS if c not in names]
    if missing:
        raise CensusError(
            f"The manifest {manifest} lacks column(s) {', '.join(missing)}; "
            "it needs rel_path, split and label."
        )
    return columns, first


def _not_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "empty (null)"
    return f"a {type(value).__name__} ({value!r:.30}), not text"


def _manifest_row(number: int, rel_path: object, split: object, label: object) -> ImageRef | str:
    """One manifest row as an ImageRef, or the sentence saying what is wrong with it."""
    for column, value in zip(MANIFEST_COLUMNS, (rel_path, split, label), strict=True):
        if not isinstance(value, str):
            return f"row {number}: {column} is {_not_text(value)}"
        if not value.strip():
            return f"row {number}: {column} must not be empty"
    rel = safe_rel_path(rel_path)
    if rel is None:
        return f"row {number}: path {rel_path!r} is absolute or leaves the root"
    return ImageRef(rel, split.strip(), label.strip())


def _bad_rows(manifest: Path, problems: list[str]) -> CensusError:
    shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    return CensusError(f"The manifest {manifest} has bad rows ({shown}); nothing was written.")


def _check_files_exist(root: Path, manifest: Path, refs: list[ImageRef]) -> None:
    """A root under which no listed file exists is a mistyped root, not a dataset of missing
    files: a sample is checked first, and every file only when none of the sample exists."""
    step = max(1, len(refs) // MANIFEST_SAMPLE)
    sample = refs[::step]
    if any(os.path.lexists(root / r.rel_path) for r in sample):
        return
    if any(os.path.lexists(root / r.rel_path) for r in refs):
        return
    raise CensusError(
        f"None of the {len(refs)} file(s) the manifest {manifest} lists exists under {root} "
        f"(e.g. {refs[0].rel_path}); pass the folder the rel_paths are relative to as the dataset root."
    )


def read_manifest(root: Path, manifest: Path) -> list[ImageRef]:
    if not manifest.is_file():
        raise CensusError(f"The manifest {manifest} does not exist.")
    columns, first = _manifest_columns(manifest)
    rows = zip(*(columns[c] for c in MANIFEST_COLUMNS), strict=True)
    refs: list[ImageRef] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=first):
        result = _manifest_row(number, *row)
        if isinstance(result, str):
            problems.append(result)
        else:
            refs.append(result)
    if problems:
        raise _bad_rows(manifest, problems)
    if not refs:
        raise CensusError(f"The manifest {manifest} lists no images; add rows of rel_path, split and label.")
    if len({r.rel_path for r in refs}) != len(refs):
        raise CensusError(f"The manifest {manifest} lists a rel_path twice; nothing was written.")
    _check_files_exist(root, manifest, refs)
    return refs
