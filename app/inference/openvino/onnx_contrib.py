"""ONNX Runtime's attention operators, as onnxruntime-genai's model builder writes them, in OpenVINO's terms.

The published decoders of SmolVLM2 were most likely built by onnxruntime-genai's builder
(docs/cpu-engine.md): besides standard ONNX they hold `com.microsoft` operators that ONNX Runtime
defines: `MultiHeadAttention` or `GroupQueryAttention`, `RotaryEmbedding`,
`SkipSimplifiedLayerNormalization` (and `SimplifiedLayerNormalization` in the default domain).
OpenVINO's ONNX reader converts the rotary embeddings and the normalizations right, into forms its
CPU plugin fuses (RoPE and RMS kernels). The attention it got wrong: with a `MultiHeadAttention`
decoder the builder's attention bias (a causal mask plus the padding, built from
`attention_mask` in a subgraph of its own) came out of OpenVINO 2026.4's CPU plugin as all zeros,
so every token saw the ones after it (logits cosine 0.55 to the model's on a long prompt).

So `register` gives the reader our own converter for both attention operators, written from ONNX
Runtime's operator documentation and checked against ONNX Runtime and transformers on files the
builder made (tests/integration/test_genai_decoders.py): one `ScaledDotProductAttention` whose mask is made
here from the query length, the total length and `attention_mask`, and whose keys and values come
straight from the cache (`Concat(past, new)`, repeated to the query heads by unsqueeze, broadcast,
reshape): the form in which the CPU plugin keeps the cache inside its attention kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from openvino import Core, Output

__all__ = ["CONTRIB_OPS", "register"]

_NEG = np.float32(-3.4028234663852886e38)  # the builders' own "masked" value (float32's lowest)


def _present(node: Any, index: int) -> bool:
    """Whether optional input `index` is given (ONNX leaves absent ones empty)."""
    return bool(
        index < node.get_input_size() and node.get_input(index).get_node().get_type_name() != "NullNode"
    )


def _i64(values: list[int]) -> Any:
    from openvino import opset13 as ops

    return ops.constant(np.array(values, dtype=np.int64))


def _dim(tensor: Any, axis: int) -> Any:
    """One dimension of `tensor` as a 1-element int64 tensor."""
    from openvino import opset13 as ops

    return ops.gather(ops.shape_of(tensor, output_type="i64"), _i64([axis]), ops.constant(np.int64(0)))


def _heads_first(x: Any, heads: int) -> Any:
    """(B, S, N·H) → (B, N, S, H); a 4-D (B, N, S, H) tensor as it is."""
    from openvino import opset13 as ops

    if x.get_partial_shape().rank.get_length() == 4:
        return x
    split = ops.reshape(x, _i64([0, 0, heads, -1]), special_zero=True)
    return ops.transpose(split, _i64([0, 2, 1, 3])).output(0)


def _cache_before_repeat(x: Any) -> Any | None:
    """The (B, kv heads, T, H) cache a repeat-heads subgraph read, if `x` is one's output.

    onnxruntime-genai's builder feeds `MultiHeadAttention` keys and values that it repeated
    from the cache's fewer heads (Reshape, Expand, Reshape, Transpose, Reshape after the
    `Concat(past, new)` whose output is `present`). Taking that `Concat` instead lets the
    attention repeat the heads the way OpenVINO's fusions expect.
    """
    node = x.get_node()
    for _ in range(8):
        kind = node.get_type_name()
        if kind == "Concat" and node.get_output_partial_shape(0).rank.get_length() == 4:
            past = node.input_value(0).get_node()  # the cache input itself, joined along the sequence
            is_cache = past.get_type_name() == "Parameter" and any(
                name.startswith("past_key_values.") for name in past.output(0).get_names()
            )
            return node.output(0) if is_cache and node.get_attributes().get("axis") in (2, -2) else None
        if kind not in ("Reshape", "Transpose", "Broadcast", "Unsqueeze", "Squeeze"):
            return None
        node = node.input_value(0).get_node()
    return None


def _repeat_heads(kv: Any, groups: int, heads: int) -> Any:
    """(B, kv heads, T, H) → (B, heads, T, H): each kv head shared by `groups` query heads.

    Spelled Unsqueeze → bidirectional Broadcast by a constant → Reshape, with no shape read
    from the cache: OpenVINO's CPU plugin keeps the cache inside its attention kernel only when
    the cache's `Concat` feeds nothing but the attention and the state (StatefulSDPAFusion).
    """
    from openvino import opset13 as ops

    if groups == 1:
        return kv
    wide = ops.unsqueeze(kv, _i64([2]))
    spread = ops.broadcast(wide, _i64([1, 1, groups, 1, 1]), broadcast_spec="BIDIRECTIONAL")
    head = kv.get_partial_shape()[3]
    return ops.reshape(
        spread, _i64([0, heads, -1, head.get_length() if head.is_static else -1]), special_zero=True
    )


def _attention(q: Any, k: Any, v: Any, mask: Any, scale: float, heads: int) -> Any:
    """softmax(q·kᵀ·scale + mask)·v, with q (B, N, S, H), k and v (B, kv heads, T, H) → (B, S, N·H)."""
    from openvino import opset13 as ops

    kv_heads = k.get_partial_shape()[1]
    groups = heads // kv_heads.get_length() if kv_heads.is_static else 1
    k, v = _repeat_heads(k, groups, heads), _repeat_heads(v, groups, heads)
    kind = q.get_element_type()
    factor = (
        ops.constant(np.float32(scale)) if kind.get_type_name() == "f32" else ops.constant(scale, dtype=kind)
    )
    mask = ops.convert(mask, kind) if mask.get_element_type() != kind else mask
    out = ops.scaled_dot_product_attention(q, k, v, mask, factor, causal=False)
    together = ops.transpose(out, _i64([0, 2, 1, 3]))
    return ops.reshape(together, _i64([0, 0, -1]), special_zero=True)


def _causal_mask(query: Any, total: Any) -> Any:
    """(1, 1, S, T) additive mask: query i (at position T − S + i) sees keys 0 … T − S + i.

    S is read from the queries and T (a scalar) is given: reading it from the cache would give
    the cache's `Concat` a third reader and keep the CPU plugin from fusing it (see above).
    """
    from openvino import opset13 as ops

    one = ops.constant(np.int64(1))
    zero = ops.constant(np.int64(0))
    s = _length(query, 2)
    rows = ops.add(ops.range(zero, s, one, "i64"), ops.subtract(total, s))
    cols = ops.range(zero, total, one, "i64")
    allowed = ops.less_equal(ops.unsqueeze(cols, _i64([0])), ops.unsqueeze(rows, _i64([1])))
    blocked = ops.select(allowed, ops.constant(np.float32(0.0)), ops.constant(_NEG))
    return ops.unsqueeze(blocked, _i64([0, 1]))


def _length(tensor: Any, axis: int) -> Any:
    """One dimension of `tensor` as an int64 scalar."""
    from openvino import opset13 as ops

    return ops.squeeze(_dim(tensor, axis), _i64([0]))


def _model_input(output: Any, name: str, limit: int = 1000) -> Any | None:
    """The model input called `name` that `output` is computed from, if any (looked for upwards)."""
    seen: set[str] = set()
    todo = [output.get_node()]
    while todo and len(seen) < limit:
        node = todo.pop()
        if node.get_name() in seen:  # unique per operation (Python's wrappers are not)
            continue
        seen.add(node.get_name())
        if node.get_type_name() == "Parameter" and name in node.output(0).get_names():
            return node.output(0)
        todo.extend(value.get_node() for value in node.input_values())
    return None


def _padding_mask(attention_mask: Any) -> Any:
    """(B, 1, 1, T) additive mask from a (B, T) attention mask of ones and zeros."""
    from openvino import opset13 as ops

    keep = ops.not_equal(attention_mask, ops.constant(0, dtype=attention_mask.get_element_type()))
    blocked = ops.select(keep, ops.constant(np.float32(0.0)), ops.constant(_NEG))
    return ops.unsqueeze(blocked, _i64([1, 2]))


def _multi_head_attention(node: Any) -> list[Output]:
    """MultiHeadAttention(q, k, v, bias, key_padding_mask, attention_bias, past_key, past_value).

    q is (B, S, N·H); k and v (B, T, N·H) or already (B, N, T, H); past keys and values, when
    given, come first along the sequence and the outputs say the whole cache. Bias and key
    padding masks are not used by the builder and refused rather than ignored.
    """
    from openvino import opset13 as ops

    heads = node.get_attribute("num_heads")
    if _present(node, 3) or _present(node, 4):
        raise NotImplementedError("MultiHeadAttention with a bias or key padding mask")
    q = _heads_first(node.get_input(0), heads)
    keys = [node.get_input(1), node.get_input(2)]
    caches = [_cache_before_repeat(t) for t in keys]
    if all(c is not None for c in caches) and not _present(node, 6):
        k, v = caches  # the cache's own heads: the attention repeats them itself
    else:
        k, v = (_heads_first(t, heads) for t in keys)
    presents = []
    if _present(node, 6):
        k = ops.concat([node.get_input(6), k], 2).output(0)
        v = ops.concat([node.get_input(7), v], 2).output(0)
        presents = [k, v]
    head = q.get_partial_shape()[3]
    scale = node.get_attribute("scale", 0.0) or 1.0 / float(np.sqrt(head.get_length()))
    mask = node.get_input(5) if _present(node, 5) else None
    padding = _model_input(mask, "attention_mask") if mask is not None else None
    if padding is not None:
        # The builder's bias is a causal mask plus the padding, from `attention_mask`; OpenVINO
        # 2026.4's CPU plugin computed that subgraph as all zeros (every token saw the ones
        # after it). The same mask is made here from the shapes and `attention_mask` itself.
        mask = ops.add(_causal_mask(q, _length(padding, 1)), _padding_mask(padding))
    elif node.get_attribute("unidirectional", 0) or mask is None:
        causal = _causal_mask(q, _length(k, 2))
        mask = causal if mask is None else ops.add(ops.convert(mask, "f32"), causal)
    out = _attention(q, k, v, mask, scale, heads)
    return [out.output(0), *presents]


def _group_query_attention(node: Any) -> list[Output]:
    """GroupQueryAttention(q, k, v, past_key, past_value, seqlens_k, total_sequence_length).

    q is (B, S, N·H), k and v (B, S, kv heads · H); the cache (B, kv heads, P, H) grows by
    the new keys and values (the outputs), and each query sees the keys up to its own position.
    `seqlens_k` (each sequence's length, for batches padded on the right) is not applied: the
    engine runs one sequence at a time, unpadded, and the prepared model is checked before use.
    Rotary embeddings inside the operator and a packed q/k/v input are refused: the published
    decoder applies `RotaryEmbedding` apart.
    """
    from openvino import opset13 as ops

    if node.get_attribute("do_rotary", 0) or not _present(node, 1):
        raise NotImplementedError("GroupQueryAttention with rotary embeddings inside or packed q, k, v")
    heads = node.get_attribute("num_heads")
    kv_heads = node.get_attribute("kv_num_heads")
    q = _heads_first(node.get_input(0), heads)
    k = _heads_first(node.get_input(1), kv_heads)
    v = _heads_first(node.get_input(2), kv_heads)
    if _present(node, 3):
        k = ops.concat([node.get_input(3), k], 2).output(0)
        v = ops.concat([node.get_input(4), v], 2).output(0)
    head = q.get_partial_shape()[3]
    scale = node.get_attribute("scale", 0.0) or 1.0 / float(np.sqrt(head.get_length()))
    total = node.get_input(6)  # total_sequence_length: past + new, a scalar or one-element int32
    if total.get_partial_shape().rank.get_length():
        total = ops.squeeze(total, _i64([0]))
    total = ops.convert(total, "i64")
    out = _attention(q, k, v, _causal_mask(q, total), scale, heads)
    return [out.output(0), k, v]


def _rotary_embedding(node: Any) -> list[Output]:
    """RotaryEmbedding(input, position_ids, cos_cache, sin_cache), written as transformers computes it.

    `input` is (B, S, N·H) or (B, N, S, H); `position_ids` (B, S), or one offset for positions
    offset … offset + S − 1; the caches (positions, rotary size / 2). The result is
    `x·cos + rotate_half(x)·sin` with cos and sin repeated to the full rotary size (Llama's
    form, interleaved pairs turned into halves first), the form OpenVINO's CPU plugin fuses into
    its RoPE kernel from a traced PyTorch model. OpenVINO's own converter writes the half-size
    form, whose fused kernel computes wrong numbers once its compiled form is saved and loaded
    again (`CACHE_DIR`; 2026.3.1 and 2026.4.1): docs/cpu-engine.md.
    """
    from openvino import opset13 as ops

    x, positions, cos_cache, sin_cache = (node.get_input(i) for i in range(4))
    if float(node.get_attribute("scale", 1.0)) != 1.0 or node.get_attribute("is_packed_batching", 0):
        raise NotImplementedError("RotaryEmbedding with a scale or packed batches")
    half = cos_cache.get_partial_shape()[1].get_length()
    rotary = int(node.get_attribute("rotary_embedding_dim", 0)) or 2 * half
    three_d = x.get_partial_shape().rank.get_length() == 3
    if three_d:
        heads = int(node.get_attribute("num_heads", 0))  # needed when only part of a head turns
        shape = [0, 0, heads, -1] if heads else [0, 0, -1, rotary]
        split = ops.reshape(x, _i64(shape), special_zero=True)
        x4 = ops.transpose(split, _i64([0, 2, 1, 3])).output(0)
    else:
        x4 = x
    if positions.get_partial_shape().rank.get_length() < 2:  # one offset: positions offset … offset + S − 1
        length = _length(x4, 2)
        start = ops.convert(ops.squeeze(ops.reshape(positions, _i64([1]), False), _i64([0])), "i64")
        positions = ops.unsqueeze(
            ops.range(start, ops.add(start, length), ops.constant(np.int64(1)), "i64"), _i64([0])
        )

    def table(cache: Any) -> Any:
        rows = ops.gather(cache, positions, ops.constant(np.int64(0)))  # (B, S, half)
        full = ops.concat([rows, rows], -1)  # (B, S, rotary)
        return ops.unsqueeze(full, _i64([1]))  # (B, 1, S, rotary)

    cos, sin = table(cos_cache), table(sin_cache)
    head_size = x4.get_partial_shape()[3]
    rotated, rest = x4, None
    if head_size.is_static and head_size.get_length() > rotary:
        parts = ops.variadic_split(
            x4, ops.constant(np.int64(-1)), _i64([rotary, head_size.get_length() - rotary])
        )
        rotated, rest = parts.output(0), parts.output(1)
    interleaved = bool(node.get_attribute("interleaved", 0))
    if interleaved:  # pairs (x0, x1), (x2, x3) … → halves (x0, x2 …), (x1, x3 …)
        pairs = ops.reshape(rotated, _i64([0, 0, 0, half, 2]), special_zero=True)
        rotated = ops.reshape(
            ops.transpose(pairs, _i64([0, 1, 2, 4, 3])), _i64([0, 0, 0, rotary]), special_zero=True
        )
    step, axis, end = _i64([1]), _i64([3]), _i64([np.iinfo(np.int64).max])
    middle = ops.divide(_dim(rotated, 3), _i64([2]))
    first = ops.slice(rotated, _i64([0]), middle, step, axis)
    second = ops.slice(rotated, middle, end, step, axis)
    minus = ops.constant(-1.0, dtype=x.get_element_type())  # the same type as x (fp16 decoders)
    turned = ops.concat([ops.multiply(second, minus), first], -1)
    out = ops.add(ops.multiply(rotated, cos), ops.multiply(turned, sin))
    if interleaved:
        halves = ops.reshape(out, _i64([0, 0, 0, 2, half]), special_zero=True)
        out = ops.reshape(
            ops.transpose(halves, _i64([0, 1, 2, 4, 3])), _i64([0, 0, 0, rotary]), special_zero=True
        )
    if rest is not None:
        out = ops.concat([out, rest], -1)
    if three_d:
        out = ops.reshape(ops.transpose(out, _i64([0, 2, 1, 3])), ops.shape_of(x, output_type="i64"), False)
    return [out.output(0)]


# (domain, operator) → converter
CONTRIB_OPS = {
    ("com.microsoft", "MultiHeadAttention"): _multi_head_attention,
    ("com.microsoft", "GroupQueryAttention"): _group_query_attention,
    ("com.microsoft", "RotaryEmbedding"): _rotary_embedding,
}


def register(core: Core, *, own_rotary: bool = True) -> None:
    """Read ONNX Runtime's operators with the converters above.

    `own_rotary=False` leaves `RotaryEmbedding` to OpenVINO's own converter: only to show what
    goes wrong with it (tests, docs/openvino-rope-cache.py).
    """
    from openvino.frontend.onnx import ConversionExtension

    for (domain, op), convert in CONTRIB_OPS.items():
        if op == "RotaryEmbedding" and not own_rotary:
            continue
        core.add_extension(ConversionExtension(op, domain, convert))
