"""Where models run: `--device auto` on a machine without an NVIDIA driver decides without
importing torch (1.8 s of every run's start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingest.models import runtime


def test_no_driver_no_cuda_and_no_torch_import():
    if not runtime.nvidia_driver_absent():
        pytest.skip("an NVIDIA driver is loaded here")
    code = ("import sys; from ingest.models.runtime import resolve_device; "
            "print(resolve_device('auto'), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["cpu", "False"]


def test_the_driver_check_reads_proc_and_dev(monkeypatch):
    monkeypatch.setattr(runtime.sys, "platform", "linux")
    present: set[str] = set()
    monkeypatch.setattr(runtime.Path, "exists", lambda self: str(self) in present)
    monkeypatch.setattr(runtime.Path, "glob",
                        lambda self, pattern: iter([Path("/dev/nvidia0")] if "dev" in present else []))
    assert runtime.nvidia_driver_absent()
    present.add("/proc/driver/nvidia")
    assert not runtime.nvidia_driver_absent()
    present.clear()
    present.add("dev")
    assert not runtime.nvidia_driver_absent()
    monkeypatch.setattr(runtime.sys, "platform", "win32")
    present.clear()
    assert not runtime.nvidia_driver_absent()  # elsewhere torch is asked, as before
