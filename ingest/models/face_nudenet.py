"""NudeNet's detector (``320n.onnx``, a YOLOv8n inside the MIT ``nudenet`` wheel) for its two
face classes, FACE_FEMALE and FACE_MALE: a human-face detector trained on people, used as a
second opinion on a face box. The graph is read from the package's folder without importing
the package (which imports OpenCV).

Input: the image padded at the right and bottom to a square, resized to 320 x 320
(bilinear), RGB in [0, 1], NCHW. Output (1, 4 + 18, 2100): box centre, size (in the 320 px
input) and one score per class."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..core.errors import ModelUnavailable
from .runtime import onnx_session

SIZE = 320
#: indices of FACE_FEMALE and FACE_MALE among the 18 classes (nudenet.py's label list)
FACE_CLASSES = (1, 12)


def graph_path() -> Path:
    spec = importlib.util.find_spec("nudenet")
    if spec is None or not spec.submodule_search_locations:
        return Path("nudenet_not_installed") / "320n.onnx"
    return Path(next(iter(spec.submodule_search_locations))) / "320n.onnx"


class NudeNetFaces:
    """Face boxes (x1, y1, x2, y2 in the given image's pixels) with the best face-class score."""

    def __init__(self, device: str = "cpu", min_score: float = 0.1) -> None:
        self.device = device
        self.min_score = min_score
        self._session = None

    def load(self) -> None:
        path = graph_path()
        try:
            self._session = onnx_session(str(path), self.device)
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(f"NudeNet: cannot load {path}: {error}. Reinstall it: "
                                   "pip install --force-reinstall nudenet.") from error

    def boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._session is None:
            self.load()
        from PIL import Image

        height, width = rgb.shape[:2]
        side = max(height, width)
        square = np.zeros((side, side, 3), dtype=np.uint8)
        square[:height, :width] = rgb
        small = np.asarray(Image.fromarray(square).resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32)
        batch = np.ascontiguousarray(small.transpose(2, 0, 1)[None] / 255.0)
        out = self._session.run(None, {self._session.get_inputs()[0].name: batch})[0][0].T
        scores = out[:, [4 + c for c in FACE_CLASSES]].max(axis=1)
        keep = scores > self.min_score
        centre, size = out[keep, :2], out[keep, 2:4]
        boxes = np.hstack([centre - size / 2, centre + size / 2]).astype(np.float64) * (side / SIZE)
        return boxes, scores[keep].astype(np.float64)
