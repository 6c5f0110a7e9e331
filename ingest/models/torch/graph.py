"""Run an ONNX graph with PyTorch ops: ``OnnxGraphModule(model)`` is a ``torch.nn.Module`` whose
forward executes the graph's nodes in order, so the networks we ship as ONNX (RetinaFace, open_nsfw,
the age and gender networks) run on CUDA in fp32 or fp16 beside the native PyTorch ones.

Why not onnx2torch: it imports torchvision at import time, and torchvision for the pinned CPU
torch does not load here; and a graph this small needs only the ops its four graphs use. Any
other op is refused when the module is built (ValueError naming the op and the graph).

Where values live: float initializers and float Constant nodes are registered buffers, so
``.to(device, dtype)`` moves and casts them (the module's float dtype is theirs; inputs and
casts to a float type follow it, so fp16 runs stay fp16 inside). Integer values are shape data
(pads, axes, shapes, indices): they stay CPU tensors, and nodes computing only from them are
evaluated once when the module is built, so shape arithmetic (open_nsfw's dynamic 'SAME'
padding, RetinaFace's upsampling sizes) never waits on the device.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

#: onnx.TensorProto data types -> torch dtypes; float types map to the module's float dtype
_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_INT_TYPES = {2: torch.uint8, 3: torch.int8, 5: torch.int16, 6: torch.int32, 7: torch.int64, 9: torch.bool}


def _load(model) -> object:
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes | bytearray):
        return onnx.load_from_string(bytes(model))
    return onnx.load(str(Path(model)))


def _attributes(node) -> dict:
    import onnx
    from onnx import numpy_helper

    values = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        if isinstance(value, onnx.TensorProto):
            value = torch.from_numpy(numpy_helper.to_array(value).copy())
        elif isinstance(value, bytes):
            value = value.decode()
        values[attribute.name] = value
    return values


def _ints(value: Tensor | None) -> list[int]:
    return [] if value is None else [int(v) for v in value.reshape(-1).tolist()]


class OnnxGraphModule(torch.nn.Module):
    """An ONNX graph (ModelProto, serialized bytes or a path) as a torch module. forward takes
    the graph's inputs in order and returns its output, or a tuple when it has several."""

    def __init__(self, model, name: str | None = None) -> None:
        super().__init__()
        model = _load(model)
        graph = model.graph
        self.graph_name = name or graph.name or "onnx graph"
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        unsupported = sorted({n.op_type for n in graph.node if n.op_type not in _OPS})
        if unsupported:
            raise ValueError(f"{self.graph_name}: unsupported ONNX op(s) {', '.join(unsupported)}")
        self.run_dtype, self.run_device = torch.float32, torch.device("cpu")  # set again by each forward
        self._buffer_of: dict[str, str] = {}   # ONNX value name -> buffer name (float constants)
        self._host: dict[str, Tensor] = {}     # ONNX value name -> CPU integer constant
        from onnx import numpy_helper

        for init in graph.initializer:
            self._constant(init.name, torch.from_numpy(numpy_helper.to_array(init).copy()))
        known = {init.name for init in graph.initializer}
        self.inputs = [i.name for i in graph.input if i.name not in known]
        self.outputs = [o.name for o in graph.output]
        self._nodes = [(n.op_type, list(n.input), list(n.output), _attributes(n)) for n in graph.node]
        self._fold()

    def _constant(self, name: str, value: Tensor) -> None:
        if value.is_floating_point():
            buffer = f"c{len(self._buffer_of)}"
            self.register_buffer(buffer, value.float())
            self._buffer_of[name] = buffer
        else:
            self._host[name] = value

    def _fold(self) -> None:
        """Evaluate now the nodes that read only integer constants (shape arithmetic on constants)."""
        kept = []
        for node in self._nodes:
            op, inputs, outputs, attrs = node
            if op == "Constant":
                self._constant(outputs[0], attrs["value"])
                continue
            if op != "Shape" and all(not i or i in self._host for i in inputs):
                values = _OPS[op](self, [self._host.get(i) for i in inputs], attrs)
                if all(not v.is_floating_point() for v in values):
                    self._host.update(zip(outputs, values, strict=True))
                    continue
            kept.append(node)
        self._nodes = kept

    @property
    def float_dtype(self) -> torch.dtype:
        buffer = next(self.buffers(), None)
        return torch.float32 if buffer is None else buffer.dtype

    @property
    def device(self) -> torch.device:
        buffer = next(self.buffers(), None)
        return torch.device("cpu") if buffer is None else buffer.device

    def forward(self, *inputs: Tensor) -> Tensor | tuple[Tensor, ...]:
        dtype = self.run_dtype = self.float_dtype
        self.run_device = self.device
        values: dict[str, Tensor] = {name: getattr(self, buffer) for name, buffer in self._buffer_of.items()}
        values.update(self._host)
        for name, value in zip(self.inputs, inputs, strict=True):
            values[name] = value.to(dtype) if value.is_floating_point() else value
        for op, names, outputs, attrs in self._nodes:
            results = _OPS[op](self, [values[n] if n else None for n in names], attrs)
            values.update(zip(outputs, results, strict=True))
        found = tuple(values[name] for name in self.outputs)
        return found[0] if len(found) == 1 else found


# -- ops: (module, inputs (None for an omitted optional one), attributes) -> outputs ----------

_Op = Callable[[OnnxGraphModule, list, dict], list[Tensor]]


def _same_device(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """A CPU integer constant meeting a device tensor moves there (a copy, never a sync)."""
    if a.device != b.device:
        if a.device.type == "cpu":
            a = a.to(b.device)
        else:
            b = b.to(a.device)
    return a, b


def _binary(fn: Callable[[Tensor, Tensor], Tensor]) -> _Op:
    return lambda m, x, a: [fn(*_same_device(x[0], x[1]))]


def _div(a: Tensor, b: Tensor) -> Tensor:
    if a.is_floating_point() or b.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode="trunc")  # ONNX integer division truncates


def _spatial_padding(pads: list[int], rank: int, graph: str, op: str) -> list[int]:
    """Symmetric ONNX pads (begin..., end...) as torch's per-dimension padding."""
    pads = pads or [0] * (2 * rank)
    begin, end = pads[:rank], pads[rank:]
    if begin != end:
        raise ValueError(f"{graph}: {op} with asymmetric pads {pads} is not supported")
    return begin


def _check_auto_pad(m: OnnxGraphModule, op: str, a: dict) -> None:
    if a.get("auto_pad", "NOTSET") != "NOTSET":
        raise ValueError(f"{m.graph_name}: {op} with auto_pad={a['auto_pad']} is not supported")


def _conv(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    _check_auto_pad(m, "Conv", a)
    data, weight, bias = x[0], x[1], x[2] if len(x) > 2 else None
    rank = weight.dim() - 2
    conv = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
    padding = _spatial_padding(a.get("pads"), rank, m.graph_name, "Conv")
    return [conv(data, weight, bias, a.get("strides", 1), padding, a.get("dilations", 1), a.get("group", 1))]


def _pool(kind: str) -> _Op:
    def pool(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
        _check_auto_pad(m, kind, a)
        rank = len(a["kernel_shape"])
        padding = _spatial_padding(a.get("pads"), rank, m.graph_name, kind)
        strides = a.get("strides", [1] * rank)
        ceil = bool(a.get("ceil_mode", 0))
        if kind == "MaxPool":
            fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[rank - 1]
            return [fn(x[0], a["kernel_shape"], strides, padding, a.get("dilations", 1), ceil)]
        fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[rank - 1]
        return [fn(x[0], a["kernel_shape"], strides, padding, ceil, bool(a.get("count_include_pad", 0)))]
    return pool


def _pad(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    data = x[0]
    pads = _ints(x[1]) if len(x) > 1 and x[1] is not None else list(a.get("pads", []))
    rank = data.dim()
    if len(x) > 3 and x[3] is not None:  # axes input (opset 18): pads only for those axes
        full = [0] * (2 * rank)
        axes = [v % rank for v in _ints(x[3])]
        for k, axis in enumerate(axes):
            full[axis], full[rank + axis] = pads[k], pads[len(axes) + k]
        pads = full
    mode = a.get("mode", "constant")
    padded = [d for d in range(rank) if pads[d] or pads[rank + d]]
    if not padded:
        return [data]
    first = 0 if mode == "constant" else padded[0]
    if mode != "constant" and (first < 2 or mode not in ("edge", "reflect")):
        raise ValueError(f"{m.graph_name}: Pad mode {mode!r} on dimension {first} is not supported")
    torch_pads = []
    for d in reversed(range(first, rank)):
        torch_pads += [pads[d], pads[rank + d]]
    if mode == "constant":
        given = len(x) > 2 and x[2] is not None and x[2].numel()
        value = float(x[2].reshape(-1)[0]) if given else float(a.get("value", 0.0))
        return [F.pad(data, torch_pads, value=value)]
    return [F.pad(data, torch_pads, mode="replicate" if mode == "edge" else "reflect")]


def _gemm(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    left = x[0].t() if a.get("transA", 0) else x[0]
    right = x[1].t() if a.get("transB", 0) else x[1]
    out = left @ right
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if alpha != 1.0:
        out = out * alpha
    if len(x) > 2 and x[2] is not None:
        out = out + (x[2] * beta if beta != 1.0 else x[2])
    return [out]


def _softmax(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    data = x[0]
    if m.opset >= 13:
        return [torch.softmax(data, a.get("axis", -1))]
    axis = a.get("axis", 1) % data.dim()  # before opset 13: over all dimensions from axis on
    flat = data.reshape(*data.shape[:axis], -1)
    return [torch.softmax(flat, -1).reshape(data.shape)]


def _reduce_mean(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    axes = _ints(x[1]) if len(x) > 1 and x[1] is not None else list(a.get("axes", []))
    keep = bool(a.get("keepdims", 1))
    if not axes:
        if a.get("noop_with_empty_axes", 0):
            return [x[0]]
        axes = list(range(x[0].dim()))
    return [x[0].mean(dim=axes, keepdim=keep)]


def _flatten(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    axis = a.get("axis", 1)
    axis = axis + x[0].dim() if axis < 0 else axis
    outer = 1
    for size in x[0].shape[:axis]:
        outer *= size
    return [x[0].reshape(outer, -1)]


def _transpose(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    return [x[0].permute(a.get("perm", list(reversed(range(x[0].dim())))))]


def _reshape(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    shape = _ints(x[1])
    if not a.get("allowzero", 0):
        shape = [x[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return [x[0].reshape(shape)]


def _concat(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    tensors = [t for t in x if t is not None]
    device = next((t.device for t in tensors if t.device.type != "cpu"), tensors[0].device)
    return [torch.cat([t.to(device) for t in tensors], dim=a["axis"])]


def _shape(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    dims = list(x[0].shape)[a.get("start", 0):a.get("end")]
    return [torch.tensor(dims, dtype=torch.int64)]


def _gather(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    data, index = x[0], x[1]
    axis = a.get("axis", 0) % data.dim()
    index = torch.where(index < 0, index + data.shape[axis], index).to(data.device)
    picked = data.index_select(axis, index.reshape(-1))
    return [picked.reshape((*data.shape[:axis], *index.shape, *data.shape[axis + 1:]))]


def _unsqueeze(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    axes = _ints(x[1]) if len(x) > 1 and x[1] is not None else list(a["axes"])
    rank = x[0].dim() + len(axes)
    out = x[0]
    for axis in sorted(v % rank for v in axes):
        out = out.unsqueeze(axis)
    return [out]


def _slice(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    data = x[0]
    if len(x) > 1:
        starts, ends = _ints(x[1]), _ints(x[2])
        axes = _ints(x[3]) if len(x) > 3 and x[3] is not None else list(range(len(starts)))
        steps = _ints(x[4]) if len(x) > 4 and x[4] is not None else [1] * len(starts)
    else:  # before opset 10: attributes
        starts, ends = list(a["starts"]), list(a["ends"])
        axes, steps = list(a.get("axes", range(len(starts)))), [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis %= data.dim()
        # Python's slice clamping is ONNX's (negatives count from the end; out of range clamps)
        picked = range(*slice(start, end, step).indices(data.shape[axis]))
        if step > 0:
            data = data.narrow(axis, picked.start, len(picked))[(slice(None),) * axis + (slice(None, None, step),)]
        else:
            data = data.index_select(axis, torch.tensor(list(picked), dtype=torch.int64, device=data.device))
    return [data]


def _cast(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    to = a["to"]
    if to in _FLOAT_TYPES:
        return [x[0].to(m.run_dtype)]
    if to not in _INT_TYPES:
        raise ValueError(f"{m.graph_name}: Cast to ONNX type {to} is not supported")
    return [x[0].to(_INT_TYPES[to])]


def _constant_of_shape(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    value = a.get("value", torch.zeros(1))
    shape = _ints(x[0])
    if value.is_floating_point():
        return [torch.full(shape, float(value.reshape(-1)[0]), dtype=m.run_dtype, device=m.run_device)]
    return [torch.full(shape, int(value.reshape(-1)[0]), dtype=value.dtype)]


def _resize(m: OnnxGraphModule, x: list, a: dict) -> list[Tensor]:
    wanted = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    for key, value in wanted.items():
        if a.get(key, {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                       "nearest_mode": "round_prefer_floor"}[key]) != value:
            raise ValueError(f"{m.graph_name}: Resize with {key}={a.get(key)!r} is not supported")
    data = x[0]
    sizes = _ints(x[3]) if len(x) > 3 and x[3] is not None else []
    scales = []
    if not sizes:  # scales are read only without sizes (they may sit on the device)
        scales = [float(s) for s in x[2].reshape(-1).tolist()]
        sizes = [int(n * s) for n, s in zip(data.shape, scales, strict=True)]
    out = data
    for axis, (before, after) in enumerate(zip(data.shape, sizes, strict=True)):
        if before == after and not scales:
            continue
        # asymmetric + floor: output i reads input floor(i / scale)
        positions = torch.arange(after, device=data.device)
        index = (positions * before) // after if not scales else (positions / scales[axis]).floor().long()
        out = out.index_select(axis, index.clamp_(max=before - 1))
    return [out]


_OPS: dict[str, _Op] = {
    "Conv": _conv,
    "Relu": lambda m, x, a: [F.relu(x[0])],
    "LeakyRelu": lambda m, x, a: [F.leaky_relu(x[0], a.get("alpha", 0.01))],
    "Add": _binary(torch.add),
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "Div": _binary(_div),
    "Pad": _pad,
    "MaxPool": _pool("MaxPool"),
    "AveragePool": _pool("AveragePool"),
    "GlobalAveragePool": lambda m, x, a: [x[0].mean(dim=tuple(range(2, x[0].dim())), keepdim=True)],
    "ReduceMean": _reduce_mean,
    "Flatten": _flatten,
    "Gemm": _gemm,
    "MatMul": _binary(torch.matmul),
    "Softmax": _softmax,
    "Transpose": _transpose,
    "Reshape": _reshape,
    "Concat": _concat,
    "Shape": _shape,
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Slice": _slice,
    "Cast": _cast,
    "Constant": lambda m, x, a: [a["value"]],
    "ConstantOfShape": _constant_of_shape,
    "Identity": lambda m, x, a: [x[0]],
    "Resize": _resize,
}
