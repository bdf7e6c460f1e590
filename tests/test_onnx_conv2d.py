"""1-D convolutions run as 2-D ones (issue 16, speed): the same outputs, on the bundled voice's
decoder and on a small model with the cases the rewrite must keep out of its 2-D region."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

from narration.engines.onnx_conv2d import convs_as_2d
from narration.engines.onnx_records import (
    FLOAT,
    GRAPH_INITIALIZER,
    GRAPH_NODE,
    MODEL_GRAPH,
    MODEL_OPSET,
    encode_varint,
    messages,
    record,
    records,
)
from narration.engines.piper_decoder import split_decoder
from narration.engines.piper_engine import PiperEngine
from narration.engines.piper_noise import seeded_model

_RAW_DATA = 9  # TensorProto.raw_data
_IR_VERSION = 1  # ModelProto.ir_version


def _session(model: bytes) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _nodes(model: bytes) -> list:
    graph = next(r for r in records(model, 0, len(model)) if r[0] == MODEL_GRAPH)
    node = messages()["Node"]
    return [
        node.FromString(model[r[2] : r[3]])
        for r in records(model, graph[2], graph[3])
        if r[0] == GRAPH_NODE
    ]


def _kernel_ranks(model: bytes) -> dict[str, int]:
    """Each convolution's kernel rank (3: 1-D, 4: 2-D), by node name, from its weight's dims."""
    graph = next(r for r in records(model, 0, len(model)) if r[0] == MODEL_GRAPH)
    tensor = messages()["Tensor"]
    ranks = {
        t.name: len(t.dims)
        for t in (
            tensor.FromString(model[r[2] : r[3]])
            for r in records(model, graph[2], graph[3])
            if r[0] == GRAPH_INITIALIZER
        )
    }
    return {n.name: ranks[n.input[1]] for n in _nodes(model) if n.op_type.startswith("Conv")}


def test_the_bundled_decoder_gives_the_same_samples_in_2d():
    model, _ = seeded_model(PiperEngine().model_path.read_bytes())
    decoder = split_decoder(model).decoder
    rewritten = convs_as_2d(decoder)
    ranks = _kernel_ranks(rewritten)
    assert len(ranks) == 23 and set(ranks.values()) == {4}
    # One reshape into the region (the decoder's input), one out (before the final Unsqueeze):
    # every elementwise node between the convolutions stayed 2-D.
    assert sum(n.op_type == "Reshape" for n in _nodes(rewritten)) == 2
    assert abs(len(rewritten) - len(decoder)) < 1000  # the weights copied once, not re-encoded
    whole, flat = _session(decoder), _session(rewritten)
    name = whole.get_inputs()[0].name
    frames = np.random.default_rng(1).standard_normal((1, 192, 120)).astype(np.float32)
    expected = whole.run(None, {name: frames})[0]
    got = flat.run(None, {name: frames})[0]
    assert got.shape == expected.shape == (1, 1, 1, 120 * 256)
    assert np.max(np.abs(got - expected)) < 1e-5


def _tensor(name: str, values: np.ndarray) -> bytes:
    tensor = messages()["Tensor"](name=name, dims=list(values.shape), data_type=FLOAT)
    data = np.ascontiguousarray(values, dtype="<f4").tobytes()
    return tensor.SerializeToString() + record(_RAW_DATA, data)


def _node(op_type: str, inputs: list[str], output: str, **ints: list[int]):
    node = messages()["Node"](op_type=op_type, input=inputs, output=[output], name=output)
    for attribute, values in ints.items():
        node.attribute.add(name=attribute, ints=values, type=7)
    return node


def _model(nodes: list, weights: dict[str, np.ndarray], outputs: list[str]) -> bytes:
    classes = messages()
    graph = classes["Graph"](node=nodes)
    graph.initializer.extend(_tensor(name, values) for name, values in weights.items())
    for kind, names in ((graph.input, ["x"]), (graph.output, outputs)):
        for name in names:
            kind.add(name=name).type.tensor_type.elem_type = FLOAT
    graph_bytes = graph.SerializeToString() + record(2, b"g")  # GraphProto.name
    opset = classes["OpSet"](domain="", version=17).SerializeToString()
    header = encode_varint(_IR_VERSION << 3) + encode_varint(8)
    return header + record(MODEL_OPSET, opset) + record(MODEL_GRAPH, graph_bytes)


def test_only_what_has_a_2d_form_joins_the_region():
    rng = np.random.default_rng(2)
    weights = {
        "w_pre": rng.standard_normal((6, 4, 5)),
        "b_pre": rng.standard_normal(6),
        "w_up": rng.standard_normal((6, 3, 4)),  # ConvTranspose: [in, out, k]
        "w_shared": rng.standard_normal((3, 3, 3)),  # read by two convolutions: left 1-D
        "half": np.array(0.5),
        "per_channel": rng.standard_normal((3, 1)),  # broadcasts wrongly in 4-D: left out
    }
    nodes = [
        _node("Conv", ["x", "w_pre", "b_pre"], "pre", pads=[2, 2], dilations=[1]),
        _node("LeakyRelu", ["pre"], "act"),
        _node("Mul", ["act", "half"], "scaled"),  # a scalar: joins
        _node("ConvTranspose", ["scaled", "w_up"], "up", strides=[2], output_padding=[1]),
        _node("Add", ["up", "per_channel"], "biased"),  # leaves the region
        _node("Conv", ["biased", "w_shared"], "s1", pads=[1, 1]),
        _node("Conv", ["s1", "w_shared"], "s2", pads=[2, 2], dilations=[2]),
        _node("Tanh", ["up"], "out_up"),  # a graph output read from inside the region
    ]
    model = _model(nodes, weights, ["s2", "out_up"])
    rewritten = convs_as_2d(model)
    assert _kernel_ranks(rewritten) == {"pre": 4, "up": 4, "s1": 3, "s2": 3}
    x = rng.standard_normal((1, 4, 37)).astype(np.float32)
    expected = _session(model).run(["s2", "out_up"], {"x": x})
    got = _session(rewritten).run(["s2", "out_up"], {"x": x})
    for a, b in zip(expected, got, strict=True):
        assert a.shape == b.shape and a.ndim == 3
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_a_model_without_1d_convolutions_is_returned_as_it_is():
    weights = {"w": np.ones((2, 1, 3, 3))}
    model = _model([_node("Conv", ["x", "w"], "y", pads=[1, 1, 1, 1])], weights, ["y"])
    assert convs_as_2d(model) is model
    assert convs_as_2d(b"") == b""


@pytest.mark.parametrize("pads", [[0, 0], [3, 1]])
def test_asymmetric_and_missing_attributes_keep_their_meaning(pads):
    rng = np.random.default_rng(3)
    weights = {"w": rng.standard_normal((2, 3, 4))}
    model = _model([_node("Conv", ["x", "w"], "y", pads=pads)], weights, ["y"])
    x = rng.standard_normal((2, 3, 19)).astype(np.float32)
    expected = _session(model).run(None, {"x": x})[0]
    np.testing.assert_allclose(_session(convs_as_2d(model)).run(None, {"x": x})[0], expected, 1e-5)


def test_a_model_with_subgraphs_is_returned_as_it_is():
    """A subgraph reads outer tensors by name: one inside the 2-D region would be missing."""
    branch = _node("If", ["flag"], "z")
    branch.attribute.add(name="then_branch", type=5)  # GRAPH
    conv = _node("Conv", ["x", "w"], "y", pads=[1, 1])
    model = _model([conv, branch], {"w": np.ones((2, 1, 3))}, ["y", "z"])
    assert convs_as_2d(model) is model
    alone = _model([conv], {"w": np.ones((2, 1, 3))}, ["y"])
    assert convs_as_2d(alone) is not alone  # the convolution alone is rewritten
