"""The label check of ``--labels``: ILSVRC-2012 wnids, or any label."""

from __future__ import annotations

from ...core.choices import LabelCheck, values
from ...core.errors import CensusError
from .registry import load

LABEL_CHECKS = values(LabelCheck)


def labels_checked(labels: str, layout: str) -> bool:
    """Whether :func:`check_labels` checks every label against the ILSVRC-2012 wnids."""
    return not (labels == "any" or (labels == "auto" and not load(layout).imagenet_labels))


def check_labels(wnids: set[str], labels: str, layout: str) -> None:
    """With ``imagenet`` (the default for the ILSVRC layout) every label must be one of the
    1,000 ILSVRC-2012 wnids; ``any`` accepts any label (ImageNet-21k subsets, other datasets)."""
    if labels not in LABEL_CHECKS:
        raise CensusError(f"Unknown --labels {labels!r}: use one of {', '.join(LABEL_CHECKS)}.")
    if not labels_checked(labels, layout):
        return
    from ...core.classes import imagenet_wnids

    known = set(imagenet_wnids())
    unknown = sorted(set(wnids) - known)
    if unknown:
        raise CensusError(
            f"{len(unknown)} label(s) are not ILSVRC-2012 classes ({', '.join(unknown[:5])}); "
            "fix them, or pass --labels any for other WordNet subsets."
        )
