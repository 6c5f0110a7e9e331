"""The interface every model stage implements (one small class per model).

``prepare`` runs in a worker process on one image (CPU work: resizing, detection
front-ends); ``infer`` runs the neural networks on a list of prepared inputs: on a GPU in
the main process on shared batches, on a CPU in the worker, one image at a time.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import ModelUnavailable
from ..images.decode import Decoded


@dataclass(frozen=True)
class WeightFile:
    """A file a model needs: where it is expected and how to recognise it."""

    role: str
    path: Path
    min_bytes: int = 1
    hint: str = ""
    #: returns what is wrong with the file's signature, or None
    validate: Callable[[Path], str | None] | None = None

    def problem(self) -> str | None:
        """None when the file looks usable, else what is wrong with it."""
        if not self.path.exists():
            return "missing"
        size = self.path.stat().st_size
        if size < self.min_bytes:
            return f"truncated ({size:,} bytes, expected at least {self.min_bytes:,})"
        if self.validate is not None:
            wrong = self.validate(self.path)
            if wrong:
                return f"the wrong file: {wrong}"
        return None


def hdf5_problem(path: Path) -> str | None:
    with path.open("rb") as handle:
        return None if handle.read(8) == b"\x89HDF\r\n\x1a\n" else "not an HDF5 (.h5) file"


def sha256_files(paths: list[Path]) -> str:
    """sha256 of the weight files (of their digests, in order, when there are several)."""
    digests = []
    for path in paths:
        with path.open("rb") as handle:
            digests.append(hashlib.file_digest(handle, "sha256").hexdigest())
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("".join(digests).encode()).hexdigest()


class Model(ABC):
    """One model of one stage; subclasses set ``stage`` and ``annotator``."""

    stage: str = ""
    annotator: str = ""
    #: longest image side the stage wants from the decoder (None: full size)
    wanted_side: int | None = None
    #: largest batch worth running on a CPU; measured on the 2-core machine (BENCHMARKS.md):
    #: beyond a few images, CPU inference gets slower per image, not faster
    cpu_batch: int = 4

    #: networks of this model that have an int8 recipe (quantize.py), measured by
    #: ``ingest bench --precision-agreement``
    int8_candidates: tuple[str, ...] = ()
    #: those whose int8 versions met the agreement thresholds in BENCHMARKS.md: what
    #: ``--precision int8`` runs quantised
    int8_networks: tuple[str, ...] = ()
    #: fp32, or int8 when ``--precision int8`` asked for it and the model has int8 networks
    precision: str = "fp32"
    #: rewrite ONNX graphs at load with the same answers (graph_rewrite.py); False loads the files
    #: as they are (the bench's papers loop)
    graph_rewrites: bool = True

    def __init__(self, device: str = "cpu", models_dir: Path | None = None) -> None:
        self.device = device
        self.models_dir = models_dir

    def set_precision(self, precision: str, candidates: bool = False) -> None:
        """int8 runs ``int8_networks`` quantised (``candidates``: every network with a recipe, for
        measuring) and names the model ``<annotator>@int8`` (another annotator: marts never mix
        its rows with fp32 rows); a model without such networks stays fp32, under its own name."""
        self._int8 = self.int8_candidates if candidates else self.int8_networks
        self.precision = "int8" if precision == "int8" and self._int8 else "fp32"
        self.annotator = f"{type(self).annotator}@int8" if self.precision == "int8" else type(self).annotator

    def int8(self, network: str) -> bool:
        return self.precision == "int8" and network in getattr(self, "_int8", self.int8_networks)

    @abstractmethod
    def weight_files(self) -> list[WeightFile]: ...

    def params(self) -> dict[str, Any]:
        return {}

    def check(self) -> None:
        """Raise ModelUnavailable naming the first unusable weight file."""
        for weight in self.weight_files():
            problem = weight.problem()
            if problem:
                hint = f" {weight.hint}" if weight.hint else ""
                raise ModelUnavailable(
                    f"{self.annotator}: the {weight.role} weights at {weight.path} are "
                    f"{problem}.{hint}"
                )

    def digest(self) -> str:
        return sha256_files([w.path for w in self.weight_files()])

    def load(self) -> None:
        """Load the networks for ``infer``; may validate signatures."""

    @abstractmethod
    def prepare(self, image: Decoded) -> Any: ...

    @abstractmethod
    def infer(self, prepared: list[Any]) -> list[Any]: ...
