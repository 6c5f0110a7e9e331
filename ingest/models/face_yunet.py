"""YuNet (libfacedetection, BSD) as a second opinion on a face box: the network is compiled
into the ``yuface`` wheel's shared library, so nothing loads from disk but the library.

It takes a BGR uint8 image of at most 960 px a side (larger images are scaled down first, as
the library asks) and returns boxes with a confidence in [0, 1] (the library's 0-100 score
divided by 100)."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np

from ..core.errors import ModelUnavailable

MAX_SIDE = 960


def library_path() -> Path:
    """yuface's compiled detector, found without importing it."""
    spec = importlib.util.find_spec("yuface")
    if spec is None or not spec.submodule_search_locations:
        return Path("yuface_not_installed") / "libfacedetection.so"
    return Path(next(iter(spec.submodule_search_locations))) / "libfacedetection.so"


class YuNet:
    """Face boxes (x1, y1, x2, y2 in the given image's pixels) and confidences."""

    def __init__(self, min_confidence: float = 0.3) -> None:
        self.min_confidence = min_confidence
        self._detect = None

    def load(self) -> None:
        try:
            from yuface import detect
        except ImportError as error:
            raise ModelUnavailable(f"YuNet needs the yuface package: pip install yuface ({error})") from error
        self._detect = detect

    def around(self, rgb: np.ndarray, box: np.ndarray, context: float, face_px: float) -> tuple[np.ndarray, np.ndarray]:
        """Faces in the square of ``context`` times the box's longer side around its centre, the
        square scaled so the box's side becomes ``face_px`` (every face seen at one size); boxes
        in ``rgb``'s pixels."""
        from PIL import Image

        x1, y1, x2, y2 = (float(v) for v in box)
        side = max(x2 - x1, y2 - y1, 1.0)
        region = max(1, int(round(side * context)))
        left, top = int(round((x1 + x2) / 2 - region / 2)), int(round((y1 + y2) / 2 - region / 2))
        pixels = max(32, int(round(region * face_px / side)))
        crop = Image.fromarray(rgb).crop((left, top, left + region, top + region)).resize((pixels, pixels),
                                                                                         Image.BILINEAR)
        boxes, scores = self.boxes(np.asarray(crop))
        return boxes * (region / pixels) + np.array([left, top, left, top], dtype=np.float64), scores

    def boxes(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._detect is None:
            self.load()
        height, width = rgb.shape[:2]
        factor = min(1.0, MAX_SIDE / max(height, width))
        if factor < 1.0:
            from PIL import Image

            rgb = np.asarray(Image.fromarray(rgb).resize((round(width * factor), round(height * factor)),
                                                         Image.BILINEAR))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            confs, xywh, _ = self._detect(np.ascontiguousarray(rgb[:, :, ::-1]), conf=self.min_confidence)
        xywh = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
        boxes = np.hstack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]) / factor
        return boxes, np.asarray(confs, dtype=np.float64).reshape(-1) / 100.0
