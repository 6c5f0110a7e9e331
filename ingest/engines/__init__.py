"""Engines: one per way of running the models, behind one signature (``Engine.results``)."""

from __future__ import annotations

from .base import Engine, EnginePlan
from .cpu_workers import CpuWorkers
from .gpu_batches import GpuBatches
from .inprocess import InProcess


def choose_engine(device: str, workers: int) -> type[Engine]:
    """Where the networks run: in worker processes on a CPU, in this process on a GPU, or all
    in this process with no workers."""
    if device != "cpu":
        return GpuBatches
    return CpuWorkers if workers > 0 else InProcess


__all__ = ["CpuWorkers", "Engine", "EnginePlan", "GpuBatches", "InProcess", "choose_engine"]
