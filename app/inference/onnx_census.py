"""What an ONNX file holds, read without the `onnx` package: opsets, operators, inputs and outputs.

`smolsight check-model` prints this for each graph of a downloaded model, for bug reports and as
a manifest the test fixtures can be held against. The default install has no `onnx` package, so
the file's protocol buffer is walked here: only the few fields named below are read (ONNX's
`onnx.proto`), and the weights (initializers) are skipped by their length, never decoded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["GraphCensus", "Port", "UnreadableGraph", "census"]


class UnreadableGraph(ValueError):
    """The file is not a whole ONNX graph (cut short, or not ONNX at all); the message says where."""


# TensorProto.DataType names (onnx.proto)
ELEMENT_TYPES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    4: "uint16",
    5: "int16",
    6: "int32",
    7: "int64",
    8: "string",
    9: "bool",
    10: "float16",
    11: "float64",
    12: "uint32",
    13: "uint64",
    16: "bfloat16",
}


@dataclass(frozen=True)
class Port:
    """A graph input or output: its name, element type and shape (numbers and named dimensions)."""

    name: str
    type: str
    shape: tuple[str, ...]


@dataclass
class GraphCensus:
    """One ONNX graph's opsets, operator counts (by domain and type), inputs and outputs."""

    opsets: dict[str, int] = field(default_factory=dict)
    operators: Counter[str] = field(default_factory=Counter)
    inputs: list[Port] = field(default_factory=list)
    outputs: list[Port] = field(default_factory=list)
    producer: str = ""


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise UnreadableGraph(f"it ends in the middle of a field, after {len(data)} bytes")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(data: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value) of one message: varints as ints, length-delimited as views."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            yield number, value
        elif wire in (1, 2, 5):
            size = 8 if wire == 1 else 4 if wire == 5 else None
            if size is None:
                size, at = _varint(data, at)
            if at + size > len(data):
                raise UnreadableGraph(
                    f"it ends after {len(data)} bytes, in the middle of a part {at + size - len(data)} bytes "
                    "longer: the file is incomplete"
                )
            if wire == 2:
                yield number, data[at : at + size]
            at += size
        else:
            raise UnreadableGraph(f"it is not an ONNX file (wire type {wire} at byte {at})")


def _text(value: int | memoryview) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, memoryview) else str(value)


def _port(info: memoryview) -> Port:
    name, kind, dims = "", "?", []
    for number, value in _fields(info):
        if number == 1:
            name = _text(value)
        elif number == 2 and isinstance(value, memoryview):  # TypeProto
            for n, tensor in _fields(value):
                if n != 1 or not isinstance(tensor, memoryview):  # tensor_type only
                    continue
                for m, part in _fields(tensor):
                    if m == 1 and isinstance(part, int):
                        kind = ELEMENT_TYPES.get(part, str(part))
                    elif m == 2 and isinstance(part, memoryview):  # TensorShapeProto
                        for d, dim in _fields(part):
                            if d == 1 and isinstance(dim, memoryview):
                                said = [_text(v) for k, v in _fields(dim) if k in (1, 2)]
                                dims.append(said[0] if said else "?")
    return Port(name, kind, tuple(dims))


def census(path: Path) -> GraphCensus:
    """Read `path`'s opsets, operators, inputs and outputs (external weight files are not opened)."""
    found = GraphCensus()
    data = memoryview(path.read_bytes())
    for number, value in _fields(data):
        if number == 2:
            found.producer = _text(value)
        elif number == 8 and isinstance(value, memoryview):  # opset_import
            opset = dict(_fields(value))
            domain = _text(opset[1]) if 1 in opset else ""
            found.opsets[domain or "ai.onnx"] = int(opset.get(2, 0))  # type: ignore[arg-type]
        elif number == 7 and isinstance(value, memoryview):  # the graph
            for part, item in _fields(value):
                if not isinstance(item, memoryview):
                    continue
                if part == 1:  # a node: its domain and operator type
                    node = {k: _text(v) for k, v in _fields(item) if k in (4, 7)}
                    domain = node.get(7, "")
                    found.operators[f"{domain}.{node.get(4, '')}" if domain else node.get(4, "")] += 1
                elif part == 11:
                    found.inputs.append(_port(item))
                elif part == 12:
                    found.outputs.append(_port(item))
    return found
