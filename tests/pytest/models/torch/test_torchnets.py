"""The torch networks (ingest/models/torch) in fp32 on the CPU give the onnxruntime path's outputs on
real prepared inputs: probabilities within 1e-4, logits and RetinaFace's outputs within 1e-3."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ingest.devtools.demo import source_path
from ingest.images.decode import Decoded

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from ingest.models.torch.graph import OnnxGraphModule  # noqa: E402
from ingest.models.torch.networks import NETWORKS, load_network  # noqa: E402


def _photo(package: str, name: str, width: int) -> np.ndarray:
    image = Image.open(source_path(package, name)).convert("RGB")
    return np.asarray(image.resize((width, round(image.height * width / image.width)), Image.BILINEAR))


@pytest.fixture(scope="module")
def photos() -> list[Decoded]:
    """Faces (t1.jpg), a cat, a cup and a person, at different sizes (odd ones included)."""
    picked = [_photo("insightface", "images/t1.jpg", 640), _photo("skimage", "chelsea.png", 451),
              _photo("skimage", "coffee.png", 300), _photo("skimage", "astronaut.png", 333)]
    return [Decoded(None, None, None, None, rgb) for rgb in picked]


def _torch(name: str, batch: np.ndarray):
    net = load_network(name)
    with torch.inference_mode():
        out = net(torch.from_numpy(np.ascontiguousarray(batch)))
    return tuple(t.numpy() for t in out) if isinstance(out, tuple) else out.numpy()


def test_open_nsfw_matches_onnxruntime(photos):
    from ingest.models.nsfw_opennsfw import OpenNsfw

    model = OpenNsfw()
    model.load()
    batch = np.stack([model.prepare(p) for p in photos])
    expected = model._session.run(None, {model._session.get_inputs()[0].name: batch})[0]
    got = _torch("open_nsfw", batch)
    assert got.dtype == np.float32 and got.shape == (len(photos), 2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_efficientnet_lite0_matches_onnxruntime(photos):
    from ingest.models.classify_efficientnet import EfficientNetLite0

    model = EfficientNetLite0()
    model.load()
    batch = np.stack([model.prepare(p) for p in photos])
    expected = model._session.run(None, {"image": batch})[0]
    got = _torch("efficientnet-lite0", batch)
    assert got.shape == (len(photos), 1000)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3)
    assert (got.argmax(1) == expected.argmax(1)).all()


@pytest.fixture(scope="module")
def retinaface():
    from ingest.models.faces_retinaface import RetinaFaceAgeGender

    model = RetinaFaceAgeGender()
    model.load()
    return model


def _detector_input(rgb: np.ndarray) -> np.ndarray:
    from ingest.models.faces_retinaface import MEAN_BGR

    return np.ascontiguousarray((rgb[None, :, :, ::-1].astype(np.float32) - MEAN_BGR).transpose(0, 3, 1, 2))


def test_retinaface_matches_onnxruntime_at_two_sizes(photos, retinaface):
    sizes = set()
    for photo in (photos[0], photos[3]):  # 640x427 and 333x333: different H and W, odd sizes
        batch = _detector_input(retinaface.prepare(photo)["rgb"])
        sizes.add(batch.shape[2:])
        expected = retinaface._detector.run(None, {retinaface._detector.get_inputs()[0].name: batch})
        got = _torch("retinaface", batch)
        assert [g.shape for g in got] == [e.shape for e in expected]
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=0, atol=1e-3)
        assert (got[1][0, :, 1] > 0.5).sum() == (expected[1][0, :, 1] > 0.5).sum()
    assert len(sizes) == 2


def test_age_and_gender_match_onnxruntime_on_found_faces(photos, retinaface):
    faces = retinaface.detect([retinaface.prepare(photos[0])])[0]
    assert len(faces) >= 4  # t1.jpg's faces
    for task, chip in (("age", "age_chip"), ("gender", "gender_chip")):
        batch = retinaface._batch(task, [face[chip] for face in faces])
        expected = retinaface._run(task, [face[chip] for face in faces])
        got = _torch(task, batch)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_fp16_stays_fp16_inside_and_returns_float32(photos, retinaface):
    faces = retinaface.detect([retinaface.prepare(photos[0])])[0]
    batch = torch.from_numpy(retinaface._batch("gender", [face["gender_chip"] for face in faces]))
    net = load_network("gender", dtype=torch.float16)
    with torch.inference_mode():
        assert net.inner(batch.half()).dtype == torch.float16
        out = net(batch)
    expected = retinaface._run("gender", [face["gender_chip"] for face in faces])
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=5e-3)


def test_unknown_network_and_unsupported_op_are_refused():
    from onnx import TensorProto, helper

    node = helper.make_node("Erf", ["x"], ["y"])
    graph = helper.make_graph([node], "tiny-erf", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    with pytest.raises(ValueError, match=r"tiny-erf.*Erf"):
        OnnxGraphModule(helper.make_model(graph))
    with pytest.raises(ValueError, match="Unknown network"):
        load_network("resnet")
    assert set(NETWORKS) == {"retinaface", "open_nsfw", "age", "gender", "efficientnet-lite0"}


def _graph(nodes, inputs, output_shape, initializers=(), opset=13):
    from onnx import TensorProto, helper

    graph = helper.make_graph(nodes, "ops", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
                              list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _ints(name, values):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _op_cases():
    from onnx import helper

    node = helper.make_node
    return {
        "avgpool-ceil-count-pad": _graph(
            [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                  ceil_mode=1, count_include_pad=1)], [("x", [2, 3, 8, 9])], None),
        "gemm-trans-alpha-beta": _graph(
            [node("Gemm", ["x", "w", "b"], ["y"], transA=1, transB=1, alpha=0.5, beta=2.0)],
            [("x", [4, 3]), ("w", [5, 4]), ("b", [5])], None),
        "pad-edge-slice-back": _graph(
            [node("Pad", ["x", "p"], ["q"], mode="edge"),
             node("Slice", ["q", "s", "e", "a", "k"], ["y"])],
            [("x", [1, 2, 5, 6])], None,
            [_ints("p", [0, 0, 1, 2, 0, 0, 3, 1]), _ints("s", [-1]), _ints("e", [-100]), _ints("a", [3]),
             _ints("k", [-2])]),
        "resize-nearest-floor-odd": _graph(
            [node("Resize", ["x", "", "", "z"], ["y"], mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor")], [("x", [1, 2, 5, 7])], None, [_ints("z", [1, 2, 9, 15])]),
    }


@pytest.mark.parametrize("case", ["avgpool-ceil-count-pad", "gemm-trans-alpha-beta", "pad-edge-slice-back",
                                  "resize-nearest-floor-odd"])
def test_ops_match_onnxruntime(case):
    model = _op_cases()[case]
    rng = np.random.default_rng(0)
    feeds = {i.name: rng.normal(size=[d.dim_value for d in i.type.tensor_type.shape.dim]).astype(np.float32)
             for i in model.graph.input}
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, feeds)[0]
    with torch.inference_mode():
        got = OnnxGraphModule(model)(*(torch.from_numpy(v) for v in feeds.values())).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
