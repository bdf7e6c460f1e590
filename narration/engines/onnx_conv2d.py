"""1-D convolutions rewritten as 2-D ones of height 1, for onnxruntime's faster 2-D kernels.

onnxruntime's CPU provider turns 2-D `Conv` nodes into its blocked-channel ("NCHWc") kernels,
vectorised for the machine's SIMD width, and keeps the activations in that layout across the
elementwise nodes between convolutions; 1-D convolutions get neither and run through im2col
and a matrix product. A VITS voice's HiFi-GAN decoder is nothing but 1-D convolutions, 70% of
a worker's time. Run as [N, C, 1, L] with [O, I, 1, K] kernels, the bundled voice's decoder
took 18% less worker CPU on the first 80 segments of Pride and Prejudice (25.6 s instead of
31.3 s for 333 s of speech) and its samples differed by at most 2.3e-6. Where onnxruntime has
no blocked kernels for the CPU, a height-1 2-D convolution runs the same im2col path as the
1-D one.

A region is made 2-D: each rewritable `Conv`/`ConvTranspose`, and every elementwise node that
reads only region tensors and scalar constants (a per-channel constant would broadcast along
the wrong axis in 4-D). A `Reshape` to [N, C, 1, L] goes where a tensor enters the region and
one back to [N, C, L], under the tensor's own name, where a node outside it or a graph output
reads it, so the rest of the graph is untouched. The model is edited as protobuf records
(narration.engines.onnx_records): the weights are copied once, never parsed.
"""

from __future__ import annotations

import math
from typing import Any

from narration.engines.onnx_records import (
    GRAPH_INITIALIZER,
    GRAPH_NODE,
    GRAPH_OUTPUT,
    GRAPH_VALUE_INFO,
    INT64,
    MODEL_GRAPH,
    messages,
    opset,
    record,
    record_header,
    records,
    tensor_name,
    with_graph,
)

_MIN_OPSET = 5  # Reshape with its shape as an input
_CONVS = {"Conv", "ConvTranspose"}
# Nodes whose output has its inputs' layout: they stay inside the region.
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "LeakyRelu", "Relu", "Tanh", "Sigmoid"}
_TENSOR_DIMS = 1  # TensorProto's field number
_SUBGRAPHS = {5, 10}  # AttributeProto.AttributeType GRAPH, GRAPHS
_SUFFIX = "/narration_2d"
_TO_2D, _TO_1D = "narration_shape_2d", "narration_shape_1d"


def convs_as_2d(model_bytes: bytes) -> bytes:
    """The model with its 1-D convolutions run as 2-D ones (see the module's docstring); the
    model unchanged when it has none that can be, or is not one graph at opset 5 or later."""
    classes = messages()
    model = records(model_bytes, 0, len(model_bytes))
    graphs = [r for r in model if r[0] == MODEL_GRAPH]
    if opset(model_bytes, model) < _MIN_OPSET or len(graphs) != 1:
        return model_bytes
    _, graph_start, payload_start, graph_end = graphs[0]
    graph = records(model_bytes, payload_start, graph_end)
    node_class = classes["Node"]
    nodes = {
        r: node_class.FromString(model_bytes[r[2] : r[3]]) for r in graph if r[0] == GRAPH_NODE
    }
    if any(a.type in _SUBGRAPHS for node in nodes.values() for a in node.attribute):
        return model_bytes  # a subgraph may read a tensor by name from inside the region
    initializers = {
        tensor_name(model_bytes, r[2], r[3]): r for r in graph if r[0] == GRAPH_INITIALIZER
    }
    dims = {name: _dims(model_bytes, r) for name, r in initializers.items()}
    reads: dict[str, int] = {}
    for node in nodes.values():
        for name in node.input:
            reads[name] = reads.get(name, 0) + 1
    scalars = {name for name, shape in dims.items() if math.prod(shape) == 1}
    scalars |= {
        node.output[0]
        for node in nodes.values()
        if node.op_type == "Constant" and _constant_size(node) == 1
    }
    view = memoryview(model_bytes)  # slices of a memoryview copy nothing
    region: set[str] = set()  # tensors made 2-D: `name + _SUFFIX` holds them
    entered: set[str] = set()  # 1-D tensors given a 2-D copy
    left: set[str] = set()  # region tensors given back their 1-D form
    kernels: set[str] = set()  # weights reshaped to [O, I, 1, K]
    pieces: list[bytes | memoryview] = []

    def as_2d(name: str) -> str:
        if name not in region and name not in entered:
            entered.add(name)
            made = node_class(op_type="Reshape", input=[name, _TO_2D], output=[name + _SUFFIX])
            made.name = name + _SUFFIX
            pieces.append(record(GRAPH_NODE, made.SerializeToString()))
        return name + _SUFFIX

    def as_1d(name: str) -> None:
        if name in region and name not in left:
            left.add(name)
            made = node_class(op_type="Reshape", input=[name + _SUFFIX, _TO_1D], output=[name])
            made.name = name + "/narration_1d"
            pieces.append(record(GRAPH_NODE, made.SerializeToString()))

    for r in graph:
        node = nodes.get(r)
        if node is None:
            if r[0] not in (GRAPH_INITIALIZER, GRAPH_VALUE_INFO):  # both rewritten below
                pieces.append(view[r[1] : r[3]])
            continue
        if _rewritable(node, dims, reads):
            kernels.add(node.input[1])
            node.input[0] = as_2d(node.input[0])
            _widen_attributes(node)
        elif node.op_type in _ELEMENTWISE and not node.domain and _joins(node, region, scalars):
            node.input[:] = [i + _SUFFIX if i in region else i for i in node.input]
        else:
            for name in node.input:
                as_1d(name)
            pieces.append(view[r[1] : r[3]])
            continue
        region.add(node.output[0])
        node.output[0] += _SUFFIX
        pieces.append(record(GRAPH_NODE, node.SerializeToString()))
    if not kernels:
        return model_bytes
    for r in graph:
        if r[0] == GRAPH_OUTPUT:
            as_1d(classes["ValueInfo"].FromString(model_bytes[r[2] : r[3]]).name)
        elif (
            r[0] == GRAPH_VALUE_INFO
            # A region tensor's declared 3-D shape would now be wrong: onnxruntime infers it.
            and classes["ValueInfo"].FromString(model_bytes[r[2] : r[3]]).name not in region
        ):
            pieces.append(view[r[1] : r[3]])
    for name, r in initializers.items():
        if name in kernels:
            pieces += _height_1_kernel(view, r, dims[name])
        else:
            pieces.append(view[r[1] : r[3]])
    for name, shape in ((_TO_2D, [0, 0, 1, -1]), (_TO_1D, [0, 0, -1])):
        tensor = classes["Tensor"](name=name, dims=[len(shape)], data_type=INT64)
        tensor.int64_data.extend(shape)
        pieces.append(record(GRAPH_INITIALIZER, tensor.SerializeToString()))
    return with_graph(view, graph_start, graph_end, pieces)


def _dims(data: bytes, initializer: tuple[int, int, int, int]) -> list[int]:
    """An initializer's shape, read from its dims records alone (its data is not parsed)."""
    kept = [
        data[start:end]
        for field, start, _, end in records(data, initializer[2], initializer[3])
        if field == _TENSOR_DIMS
    ]
    return list(messages()["Tensor"].FromString(b"".join(kept)).dims)


def _constant_size(node: Any) -> int | None:
    for attribute in node.attribute:
        if attribute.name == "value" and attribute.HasField("t"):
            return math.prod(attribute.t.dims)
    return None


def _rewritable(node: Any, dims: dict[str, list[int]], reads: dict[str, int]) -> bool:
    """A 1-D convolution whose kernel is a weight only it reads, with nothing but explicit
    attributes that have a 2-D form."""
    if node.op_type not in _CONVS or node.domain or len(node.input) < 2:
        return False
    kernel = node.input[1]
    if len(dims.get(kernel, ())) != 3 or reads.get(kernel) != 1:
        return False
    for attribute in node.attribute:
        if attribute.name == "output_shape":
            return False
        if attribute.name == "auto_pad" and attribute.s not in (b"", b"NOTSET"):
            return False
    return True


def _widen_attributes(node: Any) -> None:
    """Each per-axis attribute given a leading height axis of size 1 and no padding."""
    for attribute in node.attribute:
        values = list(attribute.ints)
        if attribute.name in ("kernel_shape", "dilations", "strides", "output_padding"):
            attribute.ints[:] = [0 if attribute.name == "output_padding" else 1, *values]
        elif attribute.name == "pads":  # [begin, end] -> [top, begin, bottom, end]
            attribute.ints[:] = [0, values[0], 0, values[1]]


def _joins(node: Any, region: set[str], scalars: set[str]) -> bool:
    """Whether an elementwise node reads a region tensor and otherwise only scalars."""
    inputs = [name for name in node.input if name]
    return any(i in region for i in inputs) and all(i in region or i in scalars for i in inputs)


def _height_1_kernel(
    view: memoryview, initializer: tuple[int, int, int, int], shape: list[int]
) -> list[bytes | memoryview]:
    """The weight record with its dims [O, I, K] made [O, I, 1, K]; its data (the same bytes
    in the same order) left in place, to be copied once with the rest of the model."""
    kept = [
        view[start:end]
        for field, start, _, end in records(view, initializer[2], initializer[3])
        if field != _TENSOR_DIMS
    ]
    new_dims = messages()["Tensor"](dims=[shape[0], shape[1], 1, shape[2]]).SerializeToString()
    length = len(new_dims) + sum(len(k) for k in kept)
    return [record_header(GRAPH_INITIALIZER, length), new_dims, *kept]
