"""ImageNet classifier outputs as raw prediction rows."""

from __future__ import annotations

from ..core.classes import imagenet_wnids
from ..core.rows import PredictionRow, prediction_row


def top5_rows(probs, k: int = 5) -> list[PredictionRow]:
    """Top-k rows (rank, class_index, wnid, prob) of one probability vector."""
    import numpy as np

    wnids = imagenet_wnids()
    order = np.argsort(-probs, kind="stable")[:k]
    return [prediction_row(rank, int(i), wnids[int(i)], float(probs[i])) for rank, i in enumerate(order, start=1)]
