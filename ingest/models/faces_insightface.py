"""Faces on the paper2020 profile: InsightFace ``buffalo_l`` (SCRFD ``det_10g`` detector +
``genderage`` attribute network) through insightface's model zoo on onnxruntime (CUDA
when present). The recognition network is never loaded, so no identity embedding exists.

Files: ``<models_dir>/buffalo_l/det_10g.onnx`` and ``<models_dir>/buffalo_l/genderage.onnx``
(the layout of insightface's own buffalo_l pack).

det_score is SCRFD's face probability. gender_score = P(male) = softmax over the two gender
outputs of genderage (insightface itself reports their argmax, 1 = male); age = 100 x the
third output, as insightface does, but not rounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..decode import Decoded
from ..errors import ModelUnavailable
from .base import Model, WeightFile
from .runtime import onnx_providers


def _signature_problem(path: Path, kind: str) -> str | None:
    """None when the ONNX graph has the signature insightface routes as ``kind``."""
    try:
        import onnx

        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as error:  # noqa: BLE001
        return f"not a readable ONNX file ({error})"
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if not inputs:
        return "has no input"
    dims = [d.dim_value or d.dim_param for d in inputs[0].type.tensor_type.shape.dim]
    if kind == "detector" and (len(graph.output) not in (6, 9, 10, 15) or len(dims) != 4):
        return f"not an SCRFD detector (expected 9 outputs, found {len(graph.output)})"
    if kind == "genderage" and (dims[2:] != [96, 96] or len(graph.output) != 1):
        return f"not a genderage network (expected a 96x96 input and one output, found {dims})"
    return None


class InsightFaceBuffaloL(Model):
    stage = "faces"
    annotator = "insightface/buffalo_l"
    wanted_side = 1024

    def __init__(self, device: str = "cpu", models_dir: Path | None = None, det_size: int = 640,
                 det_thresh: float = 0.5) -> None:
        super().__init__(device, models_dir)
        self.det_size = det_size
        self.det_thresh = det_thresh
        self._detector = None
        self._genderage = None

    @property
    def folder(self) -> Path:
        return (self.models_dir or Path("models_dir_not_set")) / "buffalo_l"

    def weight_files(self) -> list[WeightFile]:
        hint = ("Put insightface's buffalo_l pack there (det_10g.onnx, genderage.onnx), or pass "
                "--models-dir / set CENSUS_MODELS.")
        return [WeightFile("detector", self.folder / "det_10g.onnx", 10_000, hint,
                           lambda p: _signature_problem(p, "detector")),
                WeightFile("genderage", self.folder / "genderage.onnx", 10_000, hint,
                           lambda p: _signature_problem(p, "genderage"))]

    def params(self) -> dict[str, Any]:
        return {"det_size": self.det_size, "det_thresh": self.det_thresh,
                "gender_score": "softmax(genderage[:2])[male]", "age": "100 * genderage[2]",
                "recognition": "not loaded"}

    def prepare(self, image: Decoded) -> dict[str, Any]:
        return {"bgr": np.ascontiguousarray(image.rgb[:, :, ::-1]), "scale": image.scale}

    def load(self) -> None:
        self.check()
        from insightface.model_zoo import get_model

        providers = onnx_providers(self.device)
        try:
            detector = get_model(str(self.folder / "det_10g.onnx"), providers=providers)
            genderage = get_model(str(self.folder / "genderage.onnx"), providers=providers)
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(f"{self.annotator}: cannot load {self.folder}: {error}") from error
        if detector is None or genderage is None or getattr(genderage, "taskname", "") != "genderage":
            raise ModelUnavailable(f"{self.annotator}: insightface did not route {self.folder} as "
                                   "a detector and a genderage network.")
        detector.prepare(ctx_id=0 if self.device == "cuda" else -1, input_size=(self.det_size, self.det_size),
                         det_thresh=self.det_thresh)
        self._detector, self._genderage = detector, genderage

    def infer(self, prepared: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        if self._detector is None:
            self.load()
        return [self._one(item["bgr"], item["scale"]) for item in prepared]

    def _one(self, bgr: np.ndarray, scale: float) -> list[dict[str, Any]]:
        boxes, _ = self._detector.detect(bgr, input_size=(self.det_size, self.det_size))
        if boxes is None or len(boxes) == 0:
            return []
        outputs = self._genderage_batch(bgr, boxes)
        rows = []
        for idx, (box, out) in enumerate(zip(boxes, outputs, strict=True)):
            gender = out[:2].astype(np.float64)
            if not (np.all(gender >= 0) and abs(gender.sum() - 1) < 1e-3):
                gender = np.exp(gender - gender.max())
                gender = gender / gender.sum()
            x1, y1, x2, y2 = (float(v) * scale for v in box[:4])
            rows.append({"face_idx": idx, "det_score": float(np.clip(box[4], 0, 1)), "det_raw_score": float(box[4]),
                         "x1": x1, "y1": y1, "x2": x2, "y2": y2, "age": float(out[2]) * 100.0,
                         "gender_score": float(np.clip(gender[1], 0, 1))})
        return rows

    def _genderage_batch(self, bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        import cv2
        from insightface.utils import face_align

        model = self._genderage
        size = model.input_size[0]
        crops = []
        for box in boxes:
            w, h = box[2] - box[0], box[3] - box[1]
            center = ((box[2] + box[0]) / 2, (box[3] + box[1]) / 2)
            crop, _ = face_align.transform(bgr, center, size, size / (max(w, h) * 1.5), 0)
            crops.append(crop)
        blob = cv2.dnn.blobFromImages(crops, 1.0 / model.input_std, (size, size),
                                      (model.input_mean,) * 3, swapRB=True)
        batch_dim = model.input_shape[0]
        if isinstance(batch_dim, int) and batch_dim == 1:
            return np.concatenate([model.session.run(model.output_names, {model.input_name: blob[i:i + 1]})[0]
                                   for i in range(len(crops))])
        return model.session.run(model.output_names, {model.input_name: blob})[0]
