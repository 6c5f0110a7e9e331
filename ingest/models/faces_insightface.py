"""Faces on the paper2020 profile: InsightFace ``buffalo_l`` (SCRFD ``det_10g`` detector +
``genderage`` attribute network) on onnxruntime (CUDA when present). The detector runs
through insightface's model zoo (``get_model``, ``prepare``, ``detect``); the genderage
network runs on a plain onnxruntime session with insightface's preprocessing for it (a
square crop centred on the box, 1.5x its longer side, scaled to 96x96, RGB, normalised as
below), batched over the faces of an image. insightface's own ``Attribute.get`` returns
only the argmax gender and a rounded age, so it is not used. The recognition network is
never loaded, so no identity embedding exists.

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

from ..core.errors import ModelUnavailable
from ..core.rows import FaceRow, face_row
from ..images.decode import Decoded
from .base import Model, WeightFile
from .runtime import onnx_providers, onnx_session


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


def genderage_normalisation(path: Path) -> tuple[float, float]:
    """The (mean, std) the genderage network's pixels are normalised with, by insightface's
    rule for attribute networks: a graph converted from MXNet normalises inside (a Sub/_minus
    and a Mul/_mul node, or a ``bn_data`` node, among its first 8 nodes) and takes raw
    pixels, (0, 1); any other takes (pixel - 127.5) / 128."""
    import onnx

    nodes = onnx.load(str(path)).graph.node[:8]
    sub = any(n.name.startswith(("Sub", "_minus")) for n in nodes)
    mul = any(n.name.startswith(("Mul", "_mul")) for n in nodes)
    if any(i < 3 and n.name == "bn_data" for i, n in enumerate(nodes)):
        sub = mul = True
    return (0.0, 1.0) if sub and mul else (127.5, 128.0)


def face_crop(bgr: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """The size x size crop genderage reads: centred on the box, 1.5x its longer side."""
    import cv2

    w, h = box[2] - box[0], box[3] - box[1]
    scale = size / (max(w, h) * 1.5)  # in the box's precision (float32), as insightface computes it
    # the centre scaled in that precision, then shifted to the crop's centre in float64
    shift_x, shift_y = (float((box[2] + box[0]) / 2 * scale), float((box[3] + box[1]) / 2 * scale))
    matrix = np.array([[scale, 0.0, size / 2 - shift_x], [0.0, scale, size / 2 - shift_y]], dtype=np.float64)
    return cv2.warpAffine(bgr, matrix, (size, size), borderValue=0.0)


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

        path = self.folder / "genderage.onnx"
        try:
            detector = get_model(str(self.folder / "det_10g.onnx"), providers=onnx_providers(self.device))
            session = onnx_session(str(path), self.device)
            mean, std = genderage_normalisation(path)
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(f"{self.annotator}: cannot load {self.folder}: {error}") from error
        (data,), (output,) = session.get_inputs(), session.get_outputs()
        if detector is None or len(output.shape) != 2 or output.shape[1] != 3:
            raise ModelUnavailable(f"{self.annotator}: {self.folder} does not hold a detector and a "
                                   "genderage network (two gender outputs and age / 100).")
        detector.prepare(ctx_id=0 if self.device == "cuda" else -1, input_size=(self.det_size, self.det_size),
                         det_thresh=self.det_thresh)
        self._detector = detector
        self._genderage = {"session": session, "input": data.name, "size": data.shape[3], "mean": mean, "std": std,
                           "one_at_a_time": data.shape[0] == 1}

    def infer(self, prepared: list[dict[str, Any]]) -> list[list[FaceRow]]:
        if self._detector is None:
            self.load()
        return [self._one(item["bgr"], item["scale"]) for item in prepared]

    def _one(self, bgr: np.ndarray, scale: float) -> list[FaceRow]:
        from scipy.special import softmax

        boxes, _ = self._detector.detect(bgr, input_size=(self.det_size, self.det_size))
        if boxes is None or len(boxes) == 0:
            return []
        outputs = self._genderage_batch(bgr, boxes)
        rows = []
        for idx, (box, out) in enumerate(zip(boxes, outputs, strict=True)):
            gender = out[:2].astype(np.float64)
            if not (np.all(gender >= 0) and abs(gender.sum() - 1) < 1e-3):
                gender = softmax(gender)
            rows.append(face_row(idx, [float(v) * scale for v in box[:4]], det_score=float(np.clip(box[4], 0, 1)),
                                 det_raw_score=float(box[4]), age=float(out[2]) * 100.0,
                                 gender_score=float(np.clip(gender[1], 0, 1))))
        return rows

    def _genderage_batch(self, bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """genderage's output rows (gender logits or probabilities, age / 100), one per box."""
        import cv2

        net = self._genderage
        size = net["size"]
        crops = [face_crop(bgr, box, size) for box in boxes]
        blob = cv2.dnn.blobFromImages(crops, 1.0 / net["std"], (size, size), (net["mean"],) * 3, swapRB=True)
        run = net["session"].run
        if net["one_at_a_time"]:  # a graph exported with a fixed batch of one
            return np.concatenate([run(None, {net["input"]: blob[i:i + 1]})[0] for i in range(len(crops))])
        return run(None, {net["input"]: blob})[0]
