"""Looking inside the CPU engine's prepared decoder: which products read which input."""

from __future__ import annotations

from pathlib import Path


def products_per_input(decoder_xml: Path) -> list[int]:
    """For each tensor the decoder's 8-bit weight products read, how many products read it."""
    import openvino as ov

    readers: dict[tuple[str, int], int] = {}
    for op in ov.Core().read_model(decoder_xml).get_ordered_ops():
        if op.get_type_name() != "MatMul":
            continue
        stored = op.input_value(1).get_node()
        while stored.get_type_name() in ("Convert", "Multiply", "Subtract"):
            stored = stored.input_value(0).get_node()
        eight_bit = stored.get_output_element_type(0).get_type_name() in ("i8", "u8")
        if stored.get_type_name() == "Constant" and eight_bit:
            source = op.input_value(0)
            key = (source.get_node().get_name(), source.get_index())
            readers[key] = readers.get(key, 0) + 1
    return list(readers.values())
