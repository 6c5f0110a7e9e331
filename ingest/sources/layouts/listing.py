"""A dataset's images through the registry: which layout reads it, and every image it lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...core.errors import CensusError
from .base import Ignored, ImageRef, OnText
from .labels import check_labels
from .protocol import Peek, Source
from .registry import AUTO, FALLBACK, MANIFEST, choices, layouts, load
from .scan import SENTENCES as WALK_SENTENCES
from .scan import Scan


def ignored_sentences() -> dict[str, str]:
    """Reason -> sentence, for every reason a walk or any layout records."""
    sentences = dict(WALK_SENTENCES)
    for layout in layouts().values():
        sentences.update(layout.ignored)
    return sentences


def detect_layout(root: Path) -> str:
    """The layout ``--layout auto`` reads a dataset with: the first in registry order whose
    ``detect`` claims the root (a file is a manifest; train/ of wnid folders is ilsvrc; images
    at the top level at least as many as the sub-folders hold are images; only shards or only
    Parquet files are webdataset or parquet), else folders."""
    peek = Peek(root)
    for name, layout in layouts().items():
        if name != FALLBACK and layout.detect(peek):
            return name
    return FALLBACK


def resolve_layout(root: Path, layout: str, manifest: Path | None) -> str:
    """The concrete layout of a dataset, with one clear sentence for what cannot work."""
    if layout not in choices():
        raise CensusError(f"Unknown layout {layout!r}: use one of {', '.join(choices())}.")
    if manifest is not None:
        if not root.is_dir():
            raise CensusError(
                f"The dataset root {root} does not exist or is not a folder; the manifest's "
                "rel_paths are read relative to it, so pass the folder that holds the images."
            )
        return MANIFEST
    if not root.exists():
        raise CensusError(f"The dataset folder {root} does not exist.")
    if layout == AUTO:
        layout = detect_layout(root)
    if layout == MANIFEST:
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
    reader = load(layout)
    yield from reader.images(Source(Scan.of(root, ignored), manifest, on_text))


def no_images(root: Path, layout: str) -> CensusError:
    """"No images found", with the layout that would find some where ``--layout auto`` picks
    another one (a flat folder read as class folders, shards read as loose images, ...)."""
    message = f"No images found under {root} (layout {layout})"
    try:
        other = detect_layout(root)
        found = other not in (layout, MANIFEST) and next(iter(iter_images(root, other)), None) is not None
    except (CensusError, OSError):
        found = False
    if found:
        return CensusError(f"{message}; its files look like layout {other}: try --layout {other} (or --layout "
                           "auto).")
    return CensusError(f"{message}.")


def list_images(
    root: Path, layout: str = AUTO, manifest: Path | None = None, labels: str = "auto",
    ignored: Ignored | None = None,
) -> list[ImageRef]:
    """All images of a dataset, in a deterministic order."""
    layout = resolve_layout(root, layout, manifest)
    refs = list(iter_images(root, layout, manifest, ignored))
    if not refs and layout != MANIFEST:
        raise no_images(root, layout)
    check_labels({r.wnid for r in refs}, labels, layout)
    return refs
