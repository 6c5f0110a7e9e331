"""Whether a detected face is a real human face, and why: the verification step of the
verified face annotator. Every detection keeps its row; the verifier adds a verdict and the
evidence behind it, and the census keeps the faces whose verdict is ``human``.

The rule, in order (each threshold chosen on the development half of the hand-labelled
ImageNet sample, BENCHMARKS.md section 1d):

1. ``below_threshold``: the detector's probability is under ``candidate_score`` (0.7).
2. ``too_small``: the box is under ``min_width`` (8) pixels wide in the original image: no
   face that small can be seen as one (the reference labels count faces from about 12 px).
3. ``animal``: the ImageNet classifier the run already has, on a square crop twice the box's
   size around it scaled to 96 px, puts ``animal_mass`` >= 0.9 of its probability on the 398
   animal classes (WordNet animal.n.01: ILSVRC-2012 indices 0-397). Dog, monkey and cat faces
   end here (dog faces score >= 0.99; at 96 px the check costs ~3 ms a face, 12 at 224).
4. ``human``: the detector is all but certain (det_score >= ``trusted_score``, 0.995: on the
   development half no object past the animal check scores that high), or a second,
   independent detector agrees: YuNet (libfacedetection), run on the
   square of three times the box around it scaled so the box is 64 px (every face seen at one
   size, and a few milliseconds instead of a whole image), has a face at IoU >= 0.3 with
   confidence >= 0.6; or NudeNet, on the whole image, has a FACE_FEMALE/FACE_MALE box at
   IoU >= 0.3 with score >= 0.3. A face at least ``sure_width`` (24) pixels wide that the
   detector scores under ``sure_score`` (0.9) needs NudeNet: at that size (48 px and more in
   the upscaled image) RetinaFace is sure of real faces, and the face-pattern detectors agree
   on its doubtful ones (a motorcycle's gauges) where the person detector does not.
5. ``unconfirmed``: neither second detector sees a face there (objects, fur, food).

The second detectors run only for faces that got past steps 1-3 (NudeNet only for those YuNet
did not confirm), so photos without a candidate cost nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ..core.classes import imagenet_wnids
from .face_nudenet import NudeNetFaces
from .face_yunet import YuNet
from .faces_retinaface import box_iou

#: ILSVRC-2012 class indices below this are animals (WordNet animal.n.01)
N_ANIMAL_CLASSES = 398


@dataclass(frozen=True)
class VerifierRule:
    candidate_score: float = 0.7
    min_width: float = 8.0
    crop_context: float = 2.0
    crop_side: int = 96
    max_animal_mass: float = 0.9
    min_iou: float = 0.3
    yunet_context: float = 3.0
    yunet_face_px: float = 64.0
    min_yunet: float = 0.6
    min_nudenet: float = 0.3
    sure_width: float = 24.0
    sure_score: float = 0.9
    trusted_score: float = 0.995

    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def agreement(box: np.ndarray, found: tuple[np.ndarray, np.ndarray], min_iou: float) -> float:
    """The best score among ``found`` boxes overlapping ``box`` at IoU >= ``min_iou`` (0 if none)."""
    boxes, scores = found
    overlap = box_iou(box, boxes)
    matching = scores[overlap >= min_iou]
    return float(matching.max()) if matching.size else 0.0


def context_crop(rgb: np.ndarray, box: np.ndarray, context: float, side: int) -> np.ndarray:
    """A square of ``context`` times the box's longer side around its centre (black outside
    the image), resized to ``side`` px and normalised as the classifier's prepare."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, cy, square = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * context
    crop = Image.fromarray(rgb).crop((round(cx - square / 2), round(cy - square / 2),
                                      round(cx + square / 2), round(cy + square / 2)))
    array = np.asarray(crop.resize((side, side), Image.BICUBIC), dtype=np.float32)
    return np.ascontiguousarray(((array - 127.0) / 128.0).transpose(2, 0, 1))


@dataclass
class FaceVerifier:
    """Verdicts for the faces of one image; ``classifier`` is a loaded ImageNet classifier
    session for ``rule.crop_side`` px inputs (EfficientNet-Lite0's, input ``image``, 1,000 logits)."""

    classifier: Any
    device: str = "cpu"
    rule: VerifierRule = field(default_factory=VerifierRule)

    def __post_init__(self) -> None:
        self.yunet = YuNet(min_confidence=0.3)
        self.nudenet = NudeNetFaces(self.device)

    def load(self) -> None:
        self.yunet.load()
        self.nudenet.load()

    def verdicts(self, rgb: np.ndarray, boxes: list[np.ndarray], scores: list[float],
                 to_original: float) -> list[tuple[str, dict[str, Any]]]:
        """(verdict, evidence) per face; boxes in ``rgb``'s pixels, ``to_original`` scales them
        to the original image's."""
        rule = self.rule
        out: list[tuple[str, dict[str, Any]]] = []
        open_faces = []
        for index, (box, score) in enumerate(zip(boxes, scores, strict=True)):
            width = float(box[2] - box[0]) * to_original
            evidence: dict[str, Any] = {"det_score": round(float(score), 4), "width_px": round(width, 1)}
            if score < rule.candidate_score:
                out.append(("below_threshold", evidence))
                continue
            if width < rule.min_width:
                out.append(("too_small", evidence))
                continue
            probs = self._class_probs(rgb, box)
            evidence["animal_mass"] = round(float(probs[:N_ANIMAL_CLASSES].sum()), 4)
            evidence["crop_top1"] = imagenet_wnids()[int(probs.argmax())]
            if evidence["animal_mass"] >= rule.max_animal_mass:
                out.append(("animal", evidence))
                continue
            out.append(("unconfirmed", evidence))
            open_faces.append(index)
        if open_faces:
            self._second_opinions(rgb, boxes, open_faces, out)
        return out

    def _second_opinions(self, rgb: np.ndarray, boxes: list[np.ndarray], open_faces: list[int],
                         out: list[tuple[str, dict[str, Any]]]) -> None:
        rule = self.rule
        still_open = []
        for index in open_faces:
            evidence = out[index][1]
            if evidence["det_score"] >= rule.trusted_score:
                out[index] = ("human", evidence)
                continue
            if evidence["width_px"] >= rule.sure_width and evidence["det_score"] < rule.sure_score:
                still_open.append(index)  # doubtful at a size the detector should be sure of: NudeNet decides
                continue
            around = self.yunet.around(rgb, boxes[index], rule.yunet_context, rule.yunet_face_px)
            evidence["yunet"] = round(agreement(boxes[index], around, rule.min_iou), 4)
            if evidence["yunet"] >= rule.min_yunet:
                out[index] = ("human", evidence)
            else:
                still_open.append(index)
        if not still_open:
            return
        nudenet = self.nudenet.boxes(rgb)
        for index in still_open:
            evidence = out[index][1]
            evidence["nudenet"] = round(agreement(boxes[index], nudenet, rule.min_iou), 4)
            if evidence["nudenet"] >= rule.min_nudenet:
                out[index] = ("human", evidence)

    def _class_probs(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        from scipy.special import softmax

        batch = context_crop(rgb, box, self.rule.crop_context, self.rule.crop_side)[None]
        logits = self.classifier.run(None, {"image": batch})[0][0].astype(np.float64)
        return softmax(logits)
