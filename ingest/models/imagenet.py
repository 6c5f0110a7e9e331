"""The ILSVRC-2012 class list (index order 0..999): the package's copy, which is also dbt's seed."""

from __future__ import annotations

import csv
from functools import cache

from ..config import IMAGENET_CLASSES_CSV as CLASSES_CSV


@cache
def imagenet_wnids() -> tuple[str, ...]:
    with CLASSES_CSV.open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["class_index"]))
    return tuple(r["wnid"] for r in rows)


@cache
def imagenet_labels() -> dict[str, str]:
    with CLASSES_CSV.open(newline="") as handle:
        return {r["wnid"]: r["label"] for r in csv.DictReader(handle)}


def top5_rows(probs, k: int = 5) -> list[dict]:
    """Top-k rows (rank, class_index, wnid, prob) of one probability vector."""
    import numpy as np

    wnids = imagenet_wnids()
    order = np.argsort(-probs, kind="stable")[:k]
    return [
        {"rank": rank, "class_index": int(i), "wnid": wnids[int(i)], "prob": float(probs[i])}
        for rank, i in enumerate(order, start=1)
    ]
