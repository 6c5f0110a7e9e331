"""int8 networks: ``--precision int8`` runs quantised versions of the default profile's ONNX
networks where they agree with fp32 (figures in BENCHMARKS.md, section "int8").

A quantised graph is made from the fp32 graph with onnxruntime's static quantisation (QDQ,
int8 weights per channel, uint8 activations, MinMax calibration) on calibration images made
from photos the packages ship (scikit-image's sample photos and insightface's sample photos:
random crops, scales and flips; ``calibration_images``), through the model's own
preprocessing. It is made once per fp32 graph and settings and cached under
``$CENSUS_CACHE`` (default ``~/.cache/census-warehouse``)/int8 (graph_cache.py); when that folder cannot be
written it is kept in memory for the process. Nothing quantised is ever committed.

An int8 model is another annotator: its name gets ``@int8`` (``yahoo/open_nsfw@int8``), so
marts keyed by annotator never mix its rows with fp32 rows, and ``raw.runs.params.precision``
says which networks ran in int8.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .graph_cache import cached_graph

PRECISIONS = ("fp32", "int8")
#: bump when the calibration images or the quantisation recipe change (new cache entries)
RECIPE_VERSION = 1
#: only these run in int8 (the convolutions and matrix products hold the time); the rest,
#: e.g. the age network's per-channel affine Mul/Add, stays fp32 between them
QUANTISED_OPS = ("Conv", "MatMul", "Gemm")
CALIBRATION_PHOTOS = [("skimage", name) for name in (
    "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "hubble_deep_field.jpg",
    "retina.jpg", "grass.png", "brick.png", "gravel.png", "color.png", "ihc.png")] + [
    ("insightface", f"images/{name}") for name in ("t1.jpg", "Tom_Hanks_54745.png", "mask_blue.jpg")]


def calibration_images(count: int = 64, seed: int = 0, side: int = 500) -> list[np.ndarray]:
    """RGB arrays from the packaged photos: random crops (30-100% of each side), scaled so the
    longest side is about ``side`` px, half of them mirrored."""
    from PIL import Image

    from ..core.config import source_path

    photos = []
    for package, name in CALIBRATION_PHOTOS:
        with contextlib.suppress(OSError, ImportError):
            photos.append(Image.open(source_path(package, name)).convert("RGB"))
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        photo = photos[i % len(photos)]
        w, h = photo.size
        cw, ch = int(w * rng.uniform(0.3, 1.0)), int(h * rng.uniform(0.3, 1.0))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = photo.crop((x, y, x + cw, y + ch))
        ratio = side * rng.uniform(0.7, 1.0) / max(crop.size)
        crop = crop.resize((max(16, round(cw * ratio)), max(16, round(ch * ratio))), Image.BILINEAR)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        out.append(np.ascontiguousarray(np.asarray(crop)))
    return out


def _key(graph: bytes, settings: dict) -> str:
    digest = hashlib.sha256(graph)
    digest.update(json.dumps({**settings, "recipe": RECIPE_VERSION}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def int8_graph(name: str, graph: bytes | Path, calibration: Callable[[], Iterable[np.ndarray]],
               per_channel: bool = True) -> bytes:
    """The int8 version of an fp32 ONNX graph (bytes or a file), from the cache or made now.
    ``calibration`` yields the network's input batches (float32, as ``infer`` feeds it)."""
    data = graph.read_bytes() if isinstance(graph, Path) else graph
    settings = {"method": "static", "format": "QDQ", "per_channel": per_channel, "weights": "int8",
                "activations": "uint8", "calibrate": "minmax", "ops": list(QUANTISED_OPS)}
    key = f"{name.replace('/', '_')}-{_key(data, settings)}"
    return cached_graph("int8", key, lambda: _quantise(data, calibration, per_channel))


def _quantise(data: bytes, calibration: Callable[[], Iterable[np.ndarray]], per_channel: bool) -> bytes:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    input_name = onnx.load_from_string(data).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(calibration())

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {input_name: np.ascontiguousarray(batch, dtype=np.float32)}

    with tempfile.TemporaryDirectory(prefix="census-int8-") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(data)
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # "consider pre-processing"
        quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=list(QUANTISED_OPS))
        result = target.read_bytes()
    ort.InferenceSession(result, providers=["CPUExecutionProvider"])  # fails here, not cached
    return result
