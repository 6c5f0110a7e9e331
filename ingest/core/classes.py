"""The ILSVRC-2012 class list (index order 0..999): the package's copy, which is also dbt's
seed. Reference data that layouts, imports, models and the card all read; and the names a
person reads for a class (report, card, review page) instead of its wnid."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import cache

from .config import IMAGENET_CLASSES_CSV


@cache
def imagenet_wnids() -> tuple[str, ...]:
    with IMAGENET_CLASSES_CSV.open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["class_index"]))
    return tuple(r["wnid"] for r in rows)


@cache
def imagenet_labels() -> dict[str, str]:
    with IMAGENET_CLASSES_CSV.open(newline="") as handle:
        return {r["wnid"]: r["label"] for r in csv.DictReader(handle)}


#: what a person reads for the class of images filed under no class (wnid '')
UNLABELLED = "(unlabelled)"


def short_name(wnid: str, lemmas: Mapping[str, str] | None = None) -> str:
    """The name a person reads for a class: the first lemma of its ILSVRC label; for another
    wnid, WordNet's first lemma where ``lemmas`` (wnid -> WordNet's comma-separated lemma names,
    the label_audit mart's) has it; else the class's own label (a folder name, a user's label);
    images under no class read ``(unlabelled)``."""
    wnid = "" if wnid is None else str(wnid)
    if not wnid.strip():
        return UNLABELLED
    label = imagenet_labels().get(wnid) or (lemmas or {}).get(wnid)
    if label:
        first = label.split(",")[0].replace("_", " ").strip()
        if first:
            return first
    return wnid


@cache
def _ilsvrc_shared_names() -> frozenset[str]:
    """First lemmas two ILSVRC classes share (crane, maillot)."""
    seen = Counter(short_name(w) for w in imagenet_wnids())
    return frozenset(name for name, n in seen.items() if n > 1)


def class_names(wnids: Iterable[str], lemmas: Mapping[str, str] | None = None) -> dict[str, str]:
    """wnid -> a distinct name for each class: short_name, followed by the wnid in brackets
    where two of these classes (or two ILSVRC classes) share the name; a class whose name is
    its own label keeps it bare."""
    wnids = list(dict.fromkeys("" if w is None else str(w) for w in wnids))
    short = {w: short_name(w, lemmas) for w in wnids}
    count = Counter(short.values())
    shared = {name for name, n in count.items() if n > 1} | _ilsvrc_shared_names()
    return {w: f"{name} ({w})" if name in shared and name not in (w, UNLABELLED) else name
            for w, name in short.items()}


def named(wnid: str, lemmas: Mapping[str, str] | None = None) -> str:
    """`name (wnid)` for text that must show both (cards, tables without a wnid column); the
    wnid alone where it is its own name."""
    name = short_name(wnid, lemmas)
    return name if name in (wnid, UNLABELLED) else f"{name} ({wnid})"
