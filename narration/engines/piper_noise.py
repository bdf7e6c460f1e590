"""Seeded noise for Piper: the same text, voice and seed give the same samples.

A Piper (VITS) voice draws its noise inside the ONNX graph, from `RandomNormalLike` nodes (one
for the stochastic duration predictor, one for the flow's prior). onnxruntime seeds such a
node's generator once, when the session is created, and every run advances it: a segment's
audio then depends on what its worker rendered before, and `onnxruntime.set_seed` after
loading changes nothing.

So the graph is rewritten once per worker, in memory: each `RandomNormalLike` becomes a graph
input (`noise_0`, `noise_1`: time-major, [1, frames, channels]) sliced to the shape the node
would have drawn, and each node's wanted shape becomes a graph output. `SeededSession` stands
in for the onnxruntime session that piper's `PiperVoice` runs: per call it draws the noise
from a generator seeded by the segment (seed, text, sentence index), so a segment's audio does
not depend on its batch neighbours or its worker. The number of frames is known only inside
the graph (it follows the predicted durations); the noise is drawn for a generous estimate,
and in the rare case that falls short the call is run again with exactly the frames wanted.
Time-major noise makes that rerun equal to a first run with the right size: the first T rows
of a generator's stream do not depend on how many rows were asked for.

The rewrite reads and writes the model as protobuf records (narration.engines.onnx_records).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from narration.engines.onnx_records import (
    ATTR_INT,
    ATTR_INTS,
    FLOAT,
    GRAPH_NODE,
    INT64,
    MODEL_GRAPH,
    messages,
    opset,
    record,
    records,
    with_graph,
)

_MIN_OPSET = 11  # Pad and Slice with their bounds as inputs
# Frames per phoneme id above this are rare; an underestimate only costs a rerun.
_FRAMES_PER_ID = 4.0
_FRAMES_MARGIN = 64

_CONSTANTS = {
    "noise_zero1": [0],
    "noise_zero3": [0, 0, 0],
    "noise_zero4": [0, 0, 0, 0],
    "noise_axis1": [1],
    "noise_axis2": [2],
    "noise_axis3": [3],
}


def seeded_model(model_bytes: bytes) -> tuple[bytes, int]:
    """The model with each RandomNormalLike node fed from a graph input (see the module's
    docstring), and how many there were; (the model unchanged, 0) when it has none or its
    opset is too old for the rewrite.

    The model is edited as protobuf records, not parsed whole: its nodes are kept as they are
    except the ones replaced, the new inputs, outputs and constants go in as one more graph
    record (protobuf appends repeated fields met again), and the 60 MB of weights are copied
    once instead of being parsed and serialised (0.4 s less per worker)."""
    classes = messages()
    model = records(model_bytes, 0, len(model_bytes))
    graphs = [r for r in model if r[0] == MODEL_GRAPH]
    if opset(model_bytes, model) < _MIN_OPSET or len(graphs) != 1:
        return model_bytes, 0
    _, graph_start, payload_start, graph_end = graphs[0]
    added = classes["Graph"]()  # inputs, outputs and constants of the replacements
    pieces: list[bytes | memoryview] = []
    view, count = memoryview(model_bytes), 0  # slices of a memoryview copy nothing
    for field, start, payload, end in records(model_bytes, payload_start, graph_end):
        if field == GRAPH_NODE and model_bytes.find(b"RandomNormalLike", payload, end) >= 0:
            node = classes["Node"].FromString(model_bytes[payload:end])
            if node.op_type == "RandomNormalLike" and not node.domain:
                # in its node's place, so the nodes stay in topological order
                for made in _noise_nodes(classes, added, count, node.input[0], node.output[0]):
                    pieces.append(record(GRAPH_NODE, made.SerializeToString()))
                count += 1
                continue
        pieces.append(view[start:end])
    if not count:
        return model_bytes, 0
    for name, values in _CONSTANTS.items():
        tensor = classes["Tensor"](name=name, dims=[len(values)], data_type=INT64)
        tensor.int64_data.extend(values)
        added.initializer.append(tensor.SerializeToString())
    pieces.append(added.SerializeToString())
    return with_graph(view, graph_start, graph_end, pieces), count


def _noise_nodes(classes: dict[str, Any], graph: Any, index: int, like: str, out: str) -> list:
    """noise_i ([1, T, C], time-major) zero-padded up to the drawn node's [1, C, T], transposed,
    sliced to exactly that shape; the wanted shape is output as noise_i_shape."""
    source, shape = f"noise_{index}", f"noise_{index}_shape"
    tensor = graph.input.add(name=source).type.tensor_type
    tensor.elem_type = FLOAT
    for dim in ("1", f"noise_{index}_frames", f"noise_{index}_channels"):
        tensor.shape.dim.add(**({"dim_value": 1} if dim == "1" else {"dim_param": dim}))
    wanted = graph.output.add(name=shape).type.tensor_type
    wanted.elem_type = INT64
    wanted.shape.dim.add(dim_value=3)
    p = f"/narration_noise_{index}/"
    node = classes["Node"]

    def op(op_type: str, inputs: list[str], output: str, **attributes: int | list[int]) -> Any:
        made = node(op_type=op_type, input=inputs, output=[output], name=p + output)
        for name, value in attributes.items():
            if isinstance(value, int):
                made.attribute.add(name=name, i=value, type=ATTR_INT)
            else:
                made.attribute.add(name=name, ints=value, type=ATTR_INTS)
        return made

    return [
        op("Shape", [like], shape),  # [1, C, T]
        op("Shape", [source], p + "have"),  # [1, T', C']
        op("Slice", [shape, "noise_axis2", "noise_axis3"], p + "want_t"),
        op("Slice", [shape, "noise_axis1", "noise_axis2"], p + "want_c"),
        op("Slice", [p + "have", "noise_axis1", "noise_axis2"], p + "have_t"),
        op("Slice", [p + "have", "noise_axis2", "noise_axis3"], p + "have_c"),
        op("Sub", [p + "want_t", p + "have_t"], p + "short_t"),
        op("Sub", [p + "want_c", p + "have_c"], p + "short_c"),
        op("Max", [p + "short_t", "noise_zero1"], p + "pad_t"),
        op("Max", [p + "short_c", "noise_zero1"], p + "pad_c"),
        op("Concat", ["noise_zero4", p + "pad_t", p + "pad_c"], p + "pads", axis=0),
        op("Pad", [source, p + "pads"], p + "padded"),
        op("Transpose", [p + "padded"], p + "channels_first", perm=[0, 2, 1]),
        op("Slice", [p + "channels_first", "noise_zero3", shape], out),
    ]


class SeededSession:
    """Stands in for the onnxruntime session of a rewritten voice (see `seeded_model`): runs
    it with noise drawn from a generator seeded per segment and sentence. `begin(seed, text)`
    before each segment; piper then calls `run` once per sentence it finds in the text."""

    def __init__(self, session: Any, noise_inputs: int) -> None:
        self.session = session
        self._noise = [f"noise_{i}" for i in range(noise_inputs)]
        self._shapes = [f"{name}_shape" for name in self._noise]
        self._outputs = [o.name for o in session.get_outputs() if o.name not in self._shapes]
        self._material = b""
        self._sentence = 0
        self._channels = self._probe_channels()

    def _probe_channels(self) -> list[int]:
        """Each noise's channel count, from one tiny run (it is fixed by the model)."""
        feed = {"input": np.array([[1, 0, 2]], np.int64), "input_lengths": np.array([3])}
        feed["scales"] = np.array([0.667, 1.0, 0.8], np.float32)
        if "sid" in {i.name for i in self.session.get_inputs()}:
            feed["sid"] = np.array([0], np.int64)
        for name in self._noise:
            feed[name] = np.zeros((1, 1, 1), np.float32)
        shapes = self.session.run(self._shapes, feed)
        return [int(shape[1]) for shape in shapes]

    def begin(self, seed: int, text: str) -> None:
        self._material = f"{seed}\0{text}".encode()
        self._sentence = 0

    def get_inputs(self) -> list:
        return [i for i in self.session.get_inputs() if i.name not in self._noise]

    def get_outputs(self) -> list:
        return [o for o in self.session.get_outputs() if o.name in self._outputs]

    def run(self, output_names: Sequence[str] | None, feed: dict[str, Any]) -> list:
        digest = hashlib.sha256(self._material + b"\0%d" % self._sentence).digest()
        self._sentence += 1
        seeds = np.random.SeedSequence(int.from_bytes(digest[:16], "little"))
        children = seeds.spawn(len(self._noise))
        ids = int(feed["input"].shape[-1])
        length_scale = float(feed["scales"][1]) if "scales" in feed else 1.0
        frames = [int(ids * _FRAMES_PER_ID * max(length_scale, 0.1)) + _FRAMES_MARGIN] * len(
            self._noise
        )
        wanted = list(output_names) if output_names else self._outputs
        while True:
            for name, child, count, channels in zip(
                self._noise, children, frames, self._channels, strict=True
            ):
                rng = np.random.Generator(np.random.PCG64(child))
                feed[name] = rng.standard_normal((1, count, channels), dtype=np.float32)
            results = self.session.run(wanted + self._shapes, feed)
            shapes = results[len(wanted) :]
            needed = [int(shape[2]) for shape in shapes]
            if all(n <= f for n, f in zip(needed, frames, strict=True)):
                return results[: len(wanted)]
            # Drawn too few frames: run again with exactly as many (the same first rows).
            frames = [max(n, f) for n, f in zip(needed, frames, strict=True)]
