"""`--engine local`: this machine's processes, chosen by the device and the worker count."""

from __future__ import annotations

from collections.abc import Callable

from .base import Engine, EnginePlan
from .cpu_workers import CpuWorkers
from .gpu_batches import GpuBatches
from .inprocess import InProcess


def choose(device: str, workers: int, address: str | None = None) -> Callable[[EnginePlan], Engine]:
    """In worker processes on a CPU, or all in this process with no workers; on a GPU that torch
    sees, in PyTorch on whole batches (the models it runs; others go to onnxruntime's GpuBatches)."""
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
