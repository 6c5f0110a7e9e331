"""Dataset layouts: which images exist, their split and their label (the reader).

Each layout is a module of this package (its ``LAYOUT``, a :class:`protocol.Layout`) and a line
of ``registry.py``, which lists them in ``--layout`` order: ilsvrc, folders, manifest, images,
webdataset, parquet (each module's docstring says what it reads). ``auto`` picks one
(:func:`detect_layout`).
"""

from ...images.decode import is_image
from .base import ALL_SPLIT, UNLABELLED, Ignored, ImageRef, OnText, stored_path
from .labels import check_labels, labels_checked
from .listing import detect_layout, ignored_sentences, iter_images, list_images, no_images, resolve_layout
from .protocol import Layout, Peek, Source
from .registry import REGISTRY, Entry, LayoutChoice, choices, layout_names, load
from .scan import looks_like_image

__all__ = [
    "ALL_SPLIT", "REGISTRY", "UNLABELLED", "Entry", "Ignored", "ImageRef", "Layout", "LayoutChoice", "OnText",
    "Peek", "Source", "check_labels", "choices", "detect_layout", "ignored_sentences", "is_image", "iter_images",
    "labels_checked", "layout_names", "list_images", "load", "looks_like_image", "no_images", "resolve_layout",
    "stored_path",
]
