"""The 2020 paper's Keras models, from weight files on the user's disk (TensorFlow runs them,
on the GPU when TensorFlow sees one):

- ``keras/nsfw-mobilenet-v2``: NSFW-MobileNet-V2 (GantMan's nsfw_model, full model .h5),
  5 classes drawings/hentai/neutral/porn/sexy; nsfw_score = hentai + porn + sexy, all five
  probabilities kept. Input 224x224 RGB / 255.
- ``keras/resnet50``: ResNet50 ImageNet weights (keras.applications file), caffe-style
  preprocessing (BGR, ImageNet means).
- ``keras/nasnetmobile``: NASNetMobile ImageNet weights, preprocessing x / 127.5 - 1.

Images are resized to 224x224 (bilinear), as ``keras.utils.load_img(target_size=...)`` does
up to its interpolation; fp32 throughout, so results do not depend on the device beyond
float rounding.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..core.config import TENSORFLOW_ENV, set_env_defaults
from ..core.errors import ModelUnavailable
from ..core.rows import NsfwRow, PredictionRow, nsfw_row
from ..images.decode import Decoded
from .base import Model, WeightFile, hdf5_problem
from .imagenet import top5_rows

NSFW_CLASSES = ("drawings", "hentai", "neutral", "porn", "sexy")
UNSAFE = ("hentai", "porn", "sexy")


def _resize(rgb: np.ndarray, size: int = 224) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR), dtype=np.float32)


def _tensorflow():
    try:
        set_env_defaults(TENSORFLOW_ENV)
        import tensorflow as tf
    except ImportError as error:
        raise ModelUnavailable(
            "The Keras models need TensorFlow: pip install -e '.[paper]' (tensorflow-cpu, or "
            "tensorflow with a GPU)."
        ) from error
    return tf


class KerasModel(Model):
    """Shared loading, threading and batching for the Keras models."""

    file_name = ""
    wanted_side = 448

    def __init__(self, device: str = "cpu", models_dir: Path | None = None) -> None:
        super().__init__(device, models_dir)
        self._net = None

    @property
    def path(self) -> Path:
        return (self.models_dir or Path("models_dir_not_set")) / self.file_name

    def weight_files(self) -> list[WeightFile]:
        return [WeightFile(self.annotator, self.path, 100_000,
                           "Place the file there, or pass --models-dir / set CENSUS_MODELS.", hdf5_problem)]

    def build(self, tf):
        raise NotImplementedError

    def load(self) -> None:
        self.check()
        tf = _tensorflow()
        from .runtime import cpu_threads

        # RuntimeError: TensorFlow was already initialised by another Keras model in this process
        with contextlib.suppress(RuntimeError):
            if self.device == "cpu":
                tf.config.set_visible_devices([], "GPU")
            tf.config.threading.set_intra_op_parallelism_threads(cpu_threads())
        try:
            self._net = self.build(tf)
        except Exception as error:  # noqa: BLE001
            raise ModelUnavailable(f"{self.annotator}: {self.path} could not be loaded as the expected "
                                   f"network: {error}") from error

    def _predict(self, prepared: list[np.ndarray]) -> np.ndarray:
        if self._net is None:
            self.load()
        return np.asarray(self._net(np.stack(prepared), training=False))


class NsfwMobileNetV2(KerasModel):
    stage = "nsfw"
    annotator = "keras/nsfw-mobilenet-v2"
    file_name = "nsfw_mobilenet2.224x224.h5"

    def params(self) -> dict[str, Any]:
        return {"classes": list(NSFW_CLASSES), "score": "hentai + porn + sexy", "input": "224x224 RGB / 255"}

    def build(self, tf):
        net = tf.keras.models.load_model(str(self.path), compile=False)
        if tuple(net.output_shape[1:]) != (5,):
            raise ValueError(f"expected 5 outputs ({', '.join(NSFW_CLASSES)}), found {net.output_shape}")
        return net

    def prepare(self, image: Decoded) -> np.ndarray:
        return _resize(image.rgb) / 255.0

    def infer(self, prepared: list[np.ndarray]) -> list[NsfwRow]:
        if not prepared:
            return []
        rows = []
        for p in self._predict(prepared).astype(np.float64):
            probs = dict(zip(NSFW_CLASSES, map(float, p), strict=True))
            score = sum(probs[c] for c in UNSAFE)
            rows.append(nsfw_row(float(np.clip(score, 0, 1)), probs))
        return rows


class KerasImageNet(KerasModel):
    stage = "classify"
    application = ""

    def params(self) -> dict[str, Any]:
        return {"input": "224x224 bilinear", "top_k": 5, "application": self.application}

    def build(self, tf):
        constructor = getattr(tf.keras.applications, self.application)
        net = constructor(weights=str(self.path), input_shape=(224, 224, 3))
        if tuple(net.output_shape[1:]) != (1000,):
            raise ValueError(f"expected 1000 ImageNet classes, found {net.output_shape}")
        return net

    def infer(self, prepared: list[np.ndarray]) -> list[list[PredictionRow]]:
        if not prepared:
            return []
        return [top5_rows(p) for p in self._predict(prepared).astype(np.float64)]


class KerasResNet50(KerasImageNet):
    annotator = "keras/resnet50"
    file_name = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    application = "ResNet50"

    def prepare(self, image: Decoded) -> np.ndarray:
        array = _resize(image.rgb)[:, :, ::-1]  # caffe mode: BGR minus ImageNet means
        return array - np.array([103.939, 116.779, 123.68], dtype=np.float32)


class KerasNASNetMobile(KerasImageNet):
    annotator = "keras/nasnetmobile"
    file_name = "NASNet-mobile.h5"
    application = "NASNetMobile"

    def prepare(self, image: Decoded) -> np.ndarray:
        return _resize(image.rgb) / 127.5 - 1.0
