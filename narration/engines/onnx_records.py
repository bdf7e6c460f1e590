"""ONNX models read and written as protobuf records, without parsing them whole.

A voice model is mostly weights (60 MB for a Piper voice); rewriting it through the `onnx`
package would parse and re-serialise all of them. Here a model is a list of records (field
number and byte span), read from their wire types alone; the few records a rewrite needs are
parsed with a message schema declaring only the ONNX fields it touches (field numbers as in
onnx.proto; every other field is carried through as it was, as protobuf keeps unknown fields),
and the rest are copied as byte slices.
"""

from __future__ import annotations

from functools import cache
from typing import Any

INT64, FLOAT = 7, 1  # TensorProto.DataType
ATTR_INT, ATTR_INTS = 2, 7  # AttributeProto.AttributeType
# Field numbers of ModelProto and GraphProto.
MODEL_GRAPH, MODEL_OPSET = 7, 8
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO = 1, 5, 11, 12, 13
TENSOR_NAME = 8

SCHEMA: dict[str, list[tuple[str, int, str, str]]] = {
    # message: (field, number, label, type: a scalar name or a message name)
    "OpSet": [("domain", 1, "optional", "string"), ("version", 2, "optional", "int64")],
    "Graph": [
        ("node", 1, "repeated", "Node"),
        # Kept as bytes (the same wire form as a message): the weights are not parsed at all.
        ("initializer", 5, "repeated", "bytes"),
        ("input", 11, "repeated", "ValueInfo"),
        ("output", 12, "repeated", "ValueInfo"),
    ],
    "Node": [
        ("input", 1, "repeated", "string"),
        ("output", 2, "repeated", "string"),
        ("name", 3, "optional", "string"),
        ("op_type", 4, "optional", "string"),
        ("attribute", 5, "repeated", "Attribute"),
        ("domain", 7, "optional", "string"),
    ],
    "Attribute": [
        ("name", 1, "optional", "string"),
        ("i", 3, "optional", "int64"),
        ("s", 4, "optional", "bytes"),
        ("t", 5, "optional", "Tensor"),
        ("ints", 8, "repeated", "int64"),
        ("type", 20, "optional", "int32"),
    ],
    "Tensor": [
        ("dims", 1, "repeated", "int64"),
        ("data_type", 2, "optional", "int32"),
        ("int64_data", 7, "repeated", "int64"),
        ("name", 8, "optional", "string"),
    ],
    "ValueInfo": [("name", 1, "optional", "string"), ("type", 2, "optional", "Type")],
    "Type": [("tensor_type", 1, "optional", "TensorType")],
    "TensorType": [("elem_type", 1, "optional", "int32"), ("shape", 2, "optional", "Shape")],
    "Shape": [("dim", 1, "repeated", "Dim")],
    "Dim": [("dim_value", 1, "optional", "int64"), ("dim_param", 2, "optional", "string")],
}


@cache
def messages() -> dict[str, Any]:
    """Message classes for the schema above, in a private descriptor pool (no clash with the
    `onnx` package's own, where that is installed)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    scalars = {
        "string": field.TYPE_STRING,
        "bytes": field.TYPE_BYTES,
        "int64": field.TYPE_INT64,
        "int32": field.TYPE_INT32,
    }
    labels = {"optional": field.LABEL_OPTIONAL, "repeated": field.LABEL_REPEATED}
    package = "narration_onnx_subset"
    proto = descriptor_pb2.FileDescriptorProto(name=f"{package}.proto", package=package)
    for message, fields in SCHEMA.items():
        described = proto.message_type.add(name=message)
        for name, number, label, kind in fields:
            declared = described.field.add(name=name, number=number, label=labels[label])
            if kind in scalars:
                declared.type = scalars[kind]
            else:
                declared.type = field.TYPE_MESSAGE
                declared.type_name = f".{package}.{kind}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
        for name in SCHEMA
    }


def records(data: bytes | memoryview, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The protobuf records of data[start:end]: (field number, record start, payload start,
    record end), read from their wire types alone."""
    records = []
    position = start
    while position < end:
        key, cursor = varint(data, position)
        kind = key & 7
        if kind == 0:
            _, cursor = varint(data, cursor)
            payload = cursor
        elif kind == 1:
            payload, cursor = cursor, cursor + 8
        elif kind == 2:
            length, payload = varint(data, cursor)
            cursor = payload + length
        elif kind == 5:
            payload, cursor = cursor, cursor + 4
        else:
            raise ValueError(f"unexpected protobuf wire type {kind} at byte {position}")
        records.append((key >> 3, position, payload, cursor))
        position = cursor
    if position != end:
        raise ValueError("protobuf record overruns its message")
    return records


def varint(data: bytes | memoryview, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def record(field: int, payload: bytes) -> bytes:
    """A length-delimited record (wire type 2): an embedded message."""
    return record_header(field, len(payload)) + payload


def record_header(field: int, length: int) -> bytes:
    """The key and length of a length-delimited record whose payload goes in separate pieces
    (joined once, later, instead of copied into each enclosing record)."""
    return encode_varint(field << 3 | 2) + encode_varint(length)


def opset(model_bytes: bytes, model: list[tuple[int, int, int, int]]) -> int:
    """The model's default-domain opset version (0 when it declares none)."""
    opsets = [
        messages()["OpSet"].FromString(model_bytes[a:b])
        for field, _, a, b in model
        if field == MODEL_OPSET
    ]
    return max((o.version for o in opsets if o.domain in ("", "ai.onnx")), default=0)


def tensor_name(data: bytes, payload: int, end: int) -> str:
    """An initializer's name, read without parsing (or copying) its weights."""
    for field, _, start, stop in records(data, payload, end):
        if field == TENSOR_NAME:
            return data[start:stop].decode()
    return ""


def with_graph(
    model: memoryview, graph_start: int, graph_end: int, pieces: list[bytes | memoryview]
) -> bytes:
    """The model with its graph record (model[graph_start:graph_end]) replaced by one made of
    `pieces` (graph records): one join, one copy of the weights."""
    header = record_header(MODEL_GRAPH, sum(len(p) for p in pieces))
    return b"".join([model[:graph_start], header, *pieces, model[graph_end:]])
