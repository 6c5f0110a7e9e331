"""Engines: one per way of running the models, behind one signature (``Engine.results``)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from .base import Engine, EnginePlan
from .cpu_workers import CpuWorkers
from .gpu_batches import GpuBatches
from .inprocess import InProcess


def choose_engine(device: str, workers: int, name: str = "local",
                  ray_address: str | None = None) -> Callable[[EnginePlan], Engine]:
    """Where the networks run: in worker processes on a CPU, in this process on a GPU, or all
    in this process with no workers; with ``name`` ray, in Ray Data actors (a local Ray, or the
    cluster at ``ray_address``)."""
    if name == "ray":
        from .ray_data import RayData  # imported when chosen: Ray is an optional extra

        return functools.partial(RayData, address=ray_address)
    if device != "cpu":
        return GpuBatches
    return CpuWorkers if workers > 0 else InProcess


__all__ = ["CpuWorkers", "Engine", "EnginePlan", "GpuBatches", "InProcess", "choose_engine"]
