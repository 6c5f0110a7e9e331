"""ImageNet classifier outputs as raw prediction rows."""

from __future__ import annotations

from ..core.classes import imagenet_wnids


def top5_rows(probs, k: int = 5) -> list[dict]:
    """Top-k rows (rank, class_index, wnid, prob) of one probability vector."""
    import numpy as np

    wnids = imagenet_wnids()
    order = np.argsort(-probs, kind="stable")[:k]
    return [
        {"rank": rank, "class_index": int(i), "wnid": wnids[int(i)], "prob": float(probs[i])}
        for rank, i in enumerate(order, start=1)
    ]
