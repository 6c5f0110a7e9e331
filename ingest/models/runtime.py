"""The one place that chooses where models execute (CPU or CUDA) and how many threads they use."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from ..core.choices import Device
from ..core.config import threads_override
from ..core.errors import CensusError


@cache
def onnx_providers_available() -> tuple[str, ...]:
    import onnxruntime as ort

    return tuple(ort.get_available_providers())


def nvidia_driver_absent() -> bool:
    """On Linux, no NVIDIA kernel driver is loaded (neither /proc/driver/nvidia nor /dev/nvidia*):
    no CUDA runtime can see a GPU, and torch (1.8 s to import) need not be asked."""
    if not sys.platform.startswith("linux"):
        return False
    return not Path("/proc/driver/nvidia").exists() and not any(Path("/dev").glob("nvidia[0-9]*"))


@cache
def torch_cuda_available() -> bool:
    if nvidia_driver_absent():
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def onnxruntime_conflict() -> str | None:
    """A warning when both onnxruntime and onnxruntime-gpu are installed (they overwrite one module)."""
    from importlib import metadata

    names = []
    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            names.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    if len(names) == 2:
        return (f"Both {names[0]} and {names[1]} are installed and overwrite each other; run "
                "`pip uninstall -y onnxruntime onnxruntime-gpu` then `make setup-gpu`.")
    return None


def cuda_available() -> bool:
    return "CUDAExecutionProvider" in onnx_providers_available() or torch_cuda_available()


def resolve_device(requested: Device) -> str:
    """``auto`` becomes ``cuda`` when a CUDA runtime is usable, else ``cpu``. A Device (RunOptions
    checked it); a caller passing a string outside the set gets the same sentence."""
    if requested not in set(Device):
        raise CensusError(f"Unknown device {requested!r}: use one of {', '.join(Device)}.")
    if requested == "auto":
        return "cuda" if cuda_available() else "cpu"
    if requested == "cuda" and not cuda_available():
        raise CensusError(
            "--device cuda was asked for but no CUDA runtime is usable here (onnxruntime-gpu "
            "or a CUDA build of torch, and a visible GPU); use --device cpu or auto."
        )
    return str(requested)


def onnx_providers(device: str) -> list[str]:
    if device == "cuda" and "CUDAExecutionProvider" in onnx_providers_available():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


_THREADS: dict[str, int] = {}


def set_inference_threads(count: int) -> None:
    """Threads the main process gives each network (the pipeline leaves cores to its workers)."""
    _THREADS["n"] = max(1, count)


def cpu_threads() -> int:
    """Threads for one inference call; CENSUS_THREADS overrides."""
    return threads_override() or _THREADS.get("n") or max(1, os.cpu_count() or 1)


def onnx_session(model: str | bytes, device: str, threads: int | None = None):
    """An onnxruntime session for a graph file's path or a serialized graph."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cpu_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=onnx_providers(device))
