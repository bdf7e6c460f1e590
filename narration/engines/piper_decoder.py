"""Piper's decoder in windows: a sentence's memory no longer grows with its length.

A Piper (VITS) voice turns phonemes into latent frames (about 86 a second) and its HiFi-GAN
decoder turns the frames into samples. The decoder's activations are at the sample rate:
22-35 MB per second of speech, 435 MB for one 400-character sentence, and onnxruntime's arena
keeps that high-water mark (and fragments around it) for the rest of the worker's life: two
workers grew past 1.6 GB on Pride and Prejudice.

The decoder is convolutional, so an output sample depends only on the frames near it (its
receptive field, measured on the decoder itself at the first sentence). The model is split
once per worker, at the decoder's input, into two graphs; the decoder then runs on windows of
`WINDOW_SAMPLES` worth of frames plus the receptive field on each side, and the samples made
from the borrowed frames are cut off. The samples equal the whole graph's (to float rounding,
5e-7 on the bundled voice) and a worker's memory is the same after a 20-second sentence as
after a 3-second one. The overlap (the receptive field, decoded twice) is the price of smaller
windows: see WINDOW_SAMPLES.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from narration.engines.onnx_records import (
    FLOAT,
    GRAPH_INITIALIZER,
    GRAPH_INPUT,
    GRAPH_NODE,
    GRAPH_OUTPUT,
    GRAPH_VALUE_INFO,
    MODEL_GRAPH,
    messages,
    record,
    records,
    tensor_name,
    with_graph,
)

# torch.onnx names a module's nodes by its path: VITS's decoder is the module `dec`.
_DECODER_PREFIX = "/dec/"
# About 1.5 s a window at 22.05 kHz: onnxruntime's arena keeps the decoder's largest window's
# transients. Measured on 120 P&P segments in one worker (2-D decoder, narration.engines.
# onnx_conv2d): 1 << 16 samples a window ended at 278 MB RSS, 1 << 15 at 242 MB for ~4% more
# CPU (22 context frames on 128 instead of 256), 1 << 14 at 236 MB for ~15% more.
WINDOW_SAMPLES = 1 << 15
_PROBE_FRAMES = 64  # each side of the perturbed frame when measuring the receptive field
_GRAPH_LISTS = {GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO}


@dataclass(frozen=True)
class DecoderSplit:
    front: bytes  # phonemes -> frames (and every output not made by the decoder)
    decoder: bytes  # frames -> samples
    frames_input: str  # the decoder's input along whose last axis the frames run
    outputs: tuple[str, ...]  # the whole model's outputs, in its order


def split_decoder(model_bytes: bytes) -> DecoderSplit | None:
    """The model cut at its decoder's input, or None for a model without a `dec` module whose
    decoder makes exactly one output."""
    classes = messages()
    graphs = [r for r in records(model_bytes, 0, len(model_bytes)) if r[0] == MODEL_GRAPH]
    if len(graphs) != 1:
        return None
    _, graph_start, payload_start, graph_end = graphs[0]
    graph = records(model_bytes, payload_start, graph_end)
    nodes = [
        (r, classes["Node"].FromString(model_bytes[r[2] : r[3]]))
        for r in graph
        if r[0] == GRAPH_NODE
    ]
    first = next((n for _, n in nodes if n.name.startswith(_DECODER_PREFIX)), None)
    if first is None or not first.input:
        return None
    # The decoder: its own nodes and every node downstream of them (nodes are in topological
    # order). Constants it reads are copied into it rather than handed over.
    made: set[str] = set()
    in_decoder: list[bool] = []
    for _, node in nodes:
        inside = node.name.startswith(_DECODER_PREFIX) or any(i in made for i in node.input)
        if inside:
            made.update(node.output)
        in_decoder.append(inside)
    needed = {i for (_, n), d in zip(nodes, in_decoder, strict=True) if d for i in n.input if i}
    copied = [
        k
        for k, ((_, n), d) in enumerate(zip(nodes, in_decoder, strict=True))
        if not d and n.op_type == "Constant" and not n.input and set(n.output) & needed
    ]
    initializers = {
        tensor_name(model_bytes, r[2], r[3]): r for r in graph if r[0] == GRAPH_INITIALIZER
    }
    for k in copied:
        made.update(nodes[k][1].output)
    handed = sorted(needed - made - set(initializers))  # what the front hands the decoder
    named = {
        r: classes["ValueInfo"].FromString(model_bytes[r[2] : r[3]]).name
        for r in graph
        if r[0] in (GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO)
    }
    outputs = [(r, name) for r, name in named.items() if r[0] == GRAPH_OUTPUT]
    decoded = [r for r, name in outputs if name in made]
    if first.input[0] not in handed or len(decoded) != 1:
        return None
    described = {name: r for r, name in named.items() if r[0] == GRAPH_VALUE_INFO}
    view = memoryview(model_bytes)  # slices of a memoryview copy nothing
    shared = [view[r[1] : r[3]] for r in graph if r[0] not in _GRAPH_LISTS]

    def part(indices: list[int], inputs: list, outputs: list) -> bytes:
        used = {i for k in indices for i in nodes[k][1].input}
        produced = {o for k in indices for o in nodes[k][1].output}
        pieces = [*shared, *(view[nodes[k][0][1] : nodes[k][0][3]] for k in indices)]
        pieces += [view[r[1] : r[3]] for name, r in initializers.items() if name in used]
        pieces += inputs + outputs
        pieces += [view[r[1] : r[3]] for name, r in described.items() if name in produced]
        return with_graph(view, graph_start, graph_end, pieces)

    def value_info(field: int, name: str) -> bytes | memoryview:
        """`name` declared as a graph input or output, typed as the model describes it."""
        known = described.get(name)
        body = (
            view[known[2] : known[3]]
            if known
            else _float_value_info(classes, name).SerializeToString()
        )
        return record(field, bytes(body))

    front_nodes = [k for k, d in enumerate(in_decoder) if not d]
    decoder_nodes = sorted(copied + [k for k, d in enumerate(in_decoder) if d])
    graph_inputs = {name for r, name in named.items() if r[0] == GRAPH_INPUT}
    front = part(
        front_nodes,
        [view[r[1] : r[3]] for r, _ in named.items() if r[0] == GRAPH_INPUT],
        [view[r[1] : r[3]] for r, name in outputs if name not in made]
        + [value_info(GRAPH_OUTPUT, name) for name in handed if name not in graph_inputs],
    )
    decoder = part(
        decoder_nodes,
        [value_info(GRAPH_INPUT, name) for name in handed],
        [view[decoded[0][1] : decoded[0][3]]],
    )
    return DecoderSplit(front, decoder, first.input[0], tuple(name for _, name in outputs))


def _float_value_info(classes: dict[str, Any], name: str) -> Any:
    info = classes["ValueInfo"](name=name)
    info.type.tensor_type.elem_type = FLOAT
    return info


class WindowedSession:
    """Stands in for a voice's onnxruntime session (`run`, `get_inputs`, `get_outputs`, as
    piper and SeededSession call them): runs the front, then the decoder window by window."""

    def __init__(self, front: Any, decoder: Any, split: DecoderSplit) -> None:
        self.front, self.decoder = front, decoder
        self._frames = split.frames_input
        self._handed = [i.name for i in decoder.get_inputs()]
        self._decoded = decoder.get_outputs()[0].name
        args = {a.name: a for a in [*front.get_outputs(), *decoder.get_outputs()]}
        self._outputs = [args[name] for name in split.outputs]
        self._front_made = {a.name for a in front.get_outputs()}
        self.hop = 0  # samples per frame, and the receptive field in frames each side:
        self.context = 0  # both measured at the first decode
        self.window = 0  # frames per window; 0: whole sentences (not measurable)

    def get_inputs(self) -> list:
        return self.front.get_inputs()

    def get_outputs(self) -> list:
        return list(self._outputs)

    def run(self, output_names: Sequence[str] | None, feed: dict[str, Any]) -> list:
        wanted = list(output_names) if output_names else [a.name for a in self._outputs]
        from_front = [n for n in wanted if n != self._decoded]
        if self._decoded in wanted:
            from_front += [n for n in self._handed if n in self._front_made]
        results = dict(zip(from_front, self.front.run(from_front, feed), strict=True))
        if self._decoded in wanted:
            inputs = {n: results[n] if n in results else feed[n] for n in self._handed}
            results[self._decoded] = self._decode(inputs)
        return [results[n] for n in wanted]

    def _decode(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        frames = inputs[self._frames]
        if not self.hop:
            self._measure(inputs)
        total = frames.shape[-1]
        if not self.window or total <= self.window + 2 * self.context:
            return self.decoder.run([self._decoded], inputs)[0]
        pieces = []
        for start in range(0, total, self.window):
            low, high = max(0, start - self.context), min(total, start + self.window + self.context)
            window = {**inputs, self._frames: np.ascontiguousarray(frames[..., low:high])}
            samples = self.decoder.run([self._decoded], window)[0]
            keep = (start - low) * self.hop
            pieces.append(samples[..., keep : keep + min(self.window, total - start) * self.hop])
        return np.concatenate(pieces, axis=-1)

    def _measure(self, inputs: dict[str, np.ndarray]) -> None:
        """Samples per frame and the receptive field, from the decoder itself: which samples
        change when one frame in the middle of random frames changes."""
        channels = inputs[self._frames].shape[1]
        count = 2 * _PROBE_FRAMES + 1
        frames = np.random.default_rng(0).standard_normal((1, channels, count), np.float32)
        base = self.decoder.run([self._decoded], {**inputs, self._frames: frames})[0]
        self.hop = max(1, base.shape[-1] // count)
        if base.shape[-1] != self.hop * count:
            return  # not a fixed number of samples per frame: decode whole sentences
        frames[..., _PROBE_FRAMES] += 1.0
        moved = self.decoder.run([self._decoded], {**inputs, self._frames: frames})[0]
        changed = np.flatnonzero((moved != base).reshape(-1, base.shape[-1]).any(axis=0))
        if not changed.size or changed[0] == 0 or changed[-1] == base.shape[-1] - 1:
            return  # reaches past the probe: decode whole sentences
        first, last = _PROBE_FRAMES * self.hop, (_PROBE_FRAMES + 1) * self.hop - 1
        reach = max(first - changed[0], changed[-1] - last)
        # No margin: the probe sees every sample the frame moves, bit for bit, so a frame past
        # `reach` moves none (on P&P sentences, context 11 and 13 give the same samples).
        self.context = math.ceil(reach / self.hop)
        self.window = max(1, WINDOW_SAMPLES // self.hop)
