"""The closed sets of values that options take, each as a string enum: Typer lists an enum's
values in ``--help`` and rejects any other value with exit code 2. The library takes the
same values as plain strings (``RunOptions`` from Python), and the module that uses each set
checks it once: runtime (devices), layouts (label checks), profiles (profiles). The layouts'
choices are built from their registry (``sources/layouts/registry.py``).

Kept free of heavy imports: the command line builds its options from it at start-up."""

from __future__ import annotations

from enum import StrEnum


class Device(StrEnum):
    auto = "auto"  # cuda when a CUDA runtime is usable, else cpu
    cpu = "cpu"
    cuda = "cuda"


class EngineKind(StrEnum):
    local = "local"  # this machine's processes (in-process, CPU workers or GPU batches)
    ray = "ray"  # Ray Data actors, on a local Ray or a running cluster (--ray-address)
    torch = "torch"  # the default profile's networks in PyTorch on whole batches (CUDA, or the CPU)


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
