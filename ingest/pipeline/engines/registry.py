"""The engines ``--engine`` offers, in order, one line each: adding an engine is its module (a
``choose`` function, see ``EngineSpec.factory``) and its line here. The choices, their help, and
each engine's policy (its workers, --ray-address, parts landed at the end) are read from this
tuple.

Kept free of heavy imports (the command line builds its ``--engine`` choices from it at
start-up): an engine's module is imported when the engine is chosen."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from ...core.errors import CensusError

if TYPE_CHECKING:
    from .base import Engine, EnginePlan

#: an engine module's ``choose(device, workers, address)``: the engine for that device and worker count
Chooser = Callable[[str, int, str | None], Callable[["EnginePlan"], "Engine"]]


@dataclass(frozen=True, slots=True)
class EngineSpec:
    name: str  # the --engine value
    help: str  # what it runs where, for --engine's help
    factory: str  # "module:function", the module relative to this package or absolute; the function a Chooser
    #: local: worker processes on this machine (capped by its CPUs and memory); none: this process only;
    #: cluster: one actor per CPU (GPU) of the cluster at --ray-address, else as local
    workers: Literal["local", "none", "cluster"] = "local"
    takes_address: bool = False  # --ray-address: the cluster it runs on
    #: rows go to Parquet parts (default: parts/ beside the warehouse) that this process lands at the end
    lands_parts: bool = False
    alone: str | None = None  # said when it runs without a cluster


REGISTRY: tuple[EngineSpec, ...] = (
    EngineSpec("local", "this machine's processes (on a GPU that torch sees, the torch engine for the models it "
               "runs)", ".local:choose"),
    EngineSpec("ray", "Ray Data actors (a local Ray, or the cluster at --ray-address), rows as parts (--parts, "
               "default: parts/ beside the warehouse) landed at the end; Ray pays off on a cluster: on one machine "
               "the default engine is faster", ".ray_data:choose", workers="cluster", takes_address=True,
               lands_parts=True, alone="--engine ray without --ray-address runs a Ray on this machine alone: Ray "
               "pays off on a cluster; on one machine the default engine is faster."),
    EngineSpec("torch", "the default profile's networks in PyTorch on whole batches in this process (GPU JPEG "
               "decoding and fp16 on CUDA; also runs on a CPU)", ".torch_batches:choose", workers="none"),
)


def names() -> tuple[str, ...]:
    return tuple(spec.name for spec in REGISTRY)


def addressed() -> tuple[str, ...]:
    """The engines that take --ray-address."""
    return tuple(entry.name for entry in REGISTRY if entry.takes_address)


def spec(name: str | EngineSpec) -> EngineSpec:
    """The engine of that name (CensusError for a name the registry lacks)."""
    if isinstance(name, EngineSpec):
        return name
    for entry in REGISTRY:
        if entry.name == name:
            return entry
    raise CensusError(f"--engine {name!r} is not one of {', '.join(names())}.")


def choose_engine(device: str, workers: int, name: str | EngineSpec = "local",
                  ray_address: str | None = None) -> Callable[[EnginePlan], Engine]:
    """The engine ``name`` runs for this device and worker count (its module imported now)."""
    module, function = spec(name).factory.split(":")
    chooser: Chooser = getattr(importlib.import_module(module, __package__), function)
    return chooser(device, workers, ray_address)


def help_text() -> str:
    """``--engine``'s help: each engine and what it runs where."""
    return "; ".join(f"{entry.name}: {entry.help}" for entry in REGISTRY) + "."


#: the ``--engine`` choices as the enum the command line's options take
EngineKind = StrEnum("EngineKind", [(name, name) for name in names()])
