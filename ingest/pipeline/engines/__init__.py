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
    cluster at ``ray_address``); with ``name`` torch, or on a GPU that torch sees, in PyTorch on
    whole batches (the models it runs; others on a GPU go to onnxruntime's GpuBatches)."""
    if name == "ray":
        from .ray_data import RayData  # imported when chosen: Ray is an optional extra

        return functools.partial(RayData, address=ray_address)
    if name == "torch":
        from .torch_batches import TorchBatches  # imported when chosen: torch takes a while to import

        return TorchBatches
    if device != "cpu":
        from ...models.runtime import torch_cuda_available

        return _torch_if_it_runs_them if torch_cuda_available() else GpuBatches
    return CpuWorkers if workers > 0 else InProcess


def _torch_if_it_runs_them(plan: EnginePlan) -> Engine:
    """On a GPU torch sees: TorchBatches for the models it runs, else onnxruntime's GpuBatches."""
    from ...models.torch.profile import supported

    if supported(plan.models):
        from .torch_batches import TorchBatches

        return TorchBatches(plan)
    return GpuBatches(plan)


__all__ = ["CpuWorkers", "Engine", "EnginePlan", "GpuBatches", "InProcess", "choose_engine"]
