"""The ILSVRC-2012 class list (index order 0..999): the package's copy, which is also dbt's
seed. Reference data that layouts, imports, models and the card all read."""

from __future__ import annotations

import csv
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
