"""Fabricated weight files with the exact signatures of the paper2020 models, so the real
loading code (insightface's model-zoo routing, Keras applications) runs without the real
weights: small ONNX graphs for SCRFD det_10g and genderage, and Keras networks with the real
architectures and random weights (weights=None) saved as .h5."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _onnx():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    return onnx, TensorProto, helper, numpy_helper


def scrfd_det_10g(path: Path, seed: int = 0) -> Path:
    """9 outputs: scores, boxes, keypoints at strides 8/16/32, two anchors per cell; input
    'input.1' [1, 3, ?, ?] as in det_10g. Scores are high at stride 32 so faces are found."""
    onnx, TensorProto, helper, numpy_helper = _onnx()
    rng = np.random.default_rng(seed)
    nodes, inits, outputs = [], [], {"score": [], "bbox": [], "kps": []}
    for stride in (8, 16, 32):
        for kind, channels, width in (("score", 2, 1), ("bbox", 8, 4), ("kps", 20, 10)):
            name = f"{kind}_{stride}"
            weight = (rng.normal(0, 0.001, (channels, 3, stride, stride))).astype(np.float32)
            bias = np.zeros(channels, dtype=np.float32)
            if kind == "score":
                bias[:] = 2.0 if stride == 32 else -6.0
            elif kind == "bbox":
                bias[:] = 1.0
            inits += [numpy_helper.from_array(weight, f"{name}_w"), numpy_helper.from_array(bias, f"{name}_b"),
                      numpy_helper.from_array(np.array([-1, width], dtype=np.int64), f"{name}_shape")]
            nodes.append(helper.make_node("Conv", ["input.1", f"{name}_w", f"{name}_b"], [f"{name}_conv"],
                                          strides=[stride, stride], kernel_shape=[stride, stride]))
            last = f"{name}_conv"
            if kind == "score":
                nodes.append(helper.make_node("Sigmoid", [last], [f"{name}_sig"]))
                last = f"{name}_sig"
            nodes.append(helper.make_node("Transpose", [last], [f"{name}_t"], perm=[0, 2, 3, 1]))
            nodes.append(helper.make_node("Reshape", [f"{name}_t", f"{name}_shape"], [name]))
            outputs[kind].append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", width]))
    graph = helper.make_graph(
        nodes, "scrfd_fabricated",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "h", "w"])],
        outputs["score"] + outputs["bbox"] + outputs["kps"], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def genderage(path: Path, seed: int = 1) -> Path:
    """Input 'data' [N, 3, 96, 96] -> 'fc1' [N, 3] (two gender logits and age / 100)."""
    onnx, TensorProto, helper, numpy_helper = _onnx()
    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 1e-5, (3, 3 * 96 * 96)).astype(np.float32)
    bias = np.array([0.2, -0.1, 0.31], dtype=np.float32)
    nodes = [helper.make_node("Flatten", ["data"], ["flat"], axis=1),
             helper.make_node("Gemm", ["flat", "w", "b"], ["fc1"], transB=1)]
    graph = helper.make_graph(
        nodes, "genderage_fabricated",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 96, 96])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _legacy_h5_weights(model, path: Path) -> None:
    """Save in the Keras 2 .h5 weight format that keras.applications files use."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)


def keras_models(folder: Path) -> Path:
    """ResNet50, NASNetMobile (random weights, legacy .h5 weight files) and a MobileNetV2
    with a 5-way softmax head saved as a full .h5 model, under the expected file names."""
    import tensorflow as tf

    folder.mkdir(parents=True, exist_ok=True)
    tf.keras.utils.set_random_seed(0)
    resnet = tf.keras.applications.ResNet50(weights=None)
    _legacy_h5_weights(resnet, folder / "resnet50_weights_tf_dim_ordering_tf_kernels.h5")
    nasnet = tf.keras.applications.NASNetMobile(weights=None, input_shape=(224, 224, 3))
    _legacy_h5_weights(nasnet, folder / "NASNet-mobile.h5")
    base = tf.keras.applications.MobileNetV2(weights=None, include_top=False, pooling="avg",
                                             input_shape=(224, 224, 3))
    head = tf.keras.layers.Dense(5, activation="softmax")(base.output)
    tf.keras.Model(base.input, head).save(folder / "nsfw_mobilenet2.224x224.h5")
    return folder


def paper2020_models_dir(folder: Path) -> Path:
    scrfd_det_10g(folder / "buffalo_l" / "det_10g.onnx")
    genderage(folder / "buffalo_l" / "genderage.onnx")
    keras_models(folder)
    return folder
