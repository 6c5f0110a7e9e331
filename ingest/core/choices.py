"""The closed sets of values that options take, each as a string enum: Typer lists an enum's
values in ``--help`` and rejects any other value with exit code 2. The library takes the
same values as plain strings (``RunOptions`` from Python), which checks them once. The layouts'
and the engines' choices are built from their registries (``sources/layouts/registry.py``,
``pipeline/engines/registry.py``).

Kept free of heavy imports: the command line builds its options from it at start-up."""

from __future__ import annotations

from enum import StrEnum


class Device(StrEnum):
    auto = "auto"  # cuda when a CUDA runtime is usable, else cpu
    cpu = "cpu"
    cuda = "cuda"


class LabelCheck(StrEnum):
    auto = "auto"  # imagenet for the ILSVRC layout, else any
    imagenet = "imagenet"  # every label one of the 1,000 ILSVRC-2012 wnids
    any = "any"


class ClassSet(StrEnum):
    imagenet_1k = "1k"  # ILSVRC-2012: 1,000 classes, 1.33M images at scale 1
    imagenet_21k = "21k"  # ImageNet-21k (Google's release): 21,843 classes, 14.2M images at scale 1


def values(choices: type[StrEnum]) -> tuple[str, ...]:
    """An enum's values as plain strings, in order."""
    return tuple(member.value for member in choices)
