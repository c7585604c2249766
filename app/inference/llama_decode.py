"""One-token decode steps for SmolVLM2's Llama decoder in NumPy, on the CPU.

Prefill (the image and the prompt) stays in transformers; generating each further token is a
chain of matrix-vector products over the decoder's weights, where transformers spends much
of the time in per-layer Python and dispatch overhead. This step does the same arithmetic
with NumPy on the *same* weight memory (views, no copies), continuing from transformers' KV
cache: RMSNorm, rotary positions (the default Llama rope), grouped-query attention, SwiGLU.
It is used only where it applies exactly (Llama decoder, default rope, fp32 on the CPU, no
attention bias), and tests check its logits against transformers' step by step.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def supports(model: Any) -> bool:
    """Whether this decoder reproduces `model`'s text decoder exactly."""
    try:
        text = model.model.text_model
        cfg = text.config
        rope = getattr(cfg, "rope_parameters", None) or {"rope_type": "default"}
        layer = text.layers[0]
        return (
            cfg.model_type == "llama"
            and rope.get("rope_type", "default") == "default"
            and getattr(cfg, "hidden_act", "silu") == "silu"
            and layer.self_attn.q_proj.bias is None
            and layer.mlp.gate_proj.bias is None
            and text.embed_tokens.weight.dtype.is_floating_point
            and str(text.embed_tokens.weight.dtype) == "torch.float32"
            and text.embed_tokens.weight.device.type == "cpu"
        )
    except AttributeError:
        return False


def _t(linear: Any) -> np.ndarray:
    """A linear layer's weight, transposed, as a NumPy view (x @ W.T without copying)."""
    return np.asarray(linear.weight.detach().numpy()).T


class NumpyLlamaDecoder:
    """Decode one token at a time from a transformers prefill cache."""

    def __init__(self, model: Any) -> None:
        text = model.model.text_model
        cfg = text.config
        self.heads = cfg.num_attention_heads
        self.kv_heads = cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.heads
        self.eps = float(cfg.rms_norm_eps)
        self.embed = text.embed_tokens.weight.detach().numpy()
        self.inv_freq = text.rotary_emb.inv_freq.detach().float().numpy().astype(np.float64)
        self.scaling = float(getattr(text.rotary_emb, "attention_scaling", 1.0))
        self.layers = []
        for layer in text.layers:
            a, m = layer.self_attn, layer.mlp
            self.layers.append(
                (
                    layer.input_layernorm.weight.detach().numpy(),
                    _t(a.q_proj),
                    _t(a.k_proj),
                    _t(a.v_proj),
                    _t(a.o_proj),
                    layer.post_attention_layernorm.weight.detach().numpy(),
                    _t(m.gate_proj),
                    _t(m.up_proj),
                    _t(m.down_proj),
                )
            )
        self.norm = text.norm.weight.detach().numpy()
        self.head = _t(model.lm_head)
        self.keys: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.length = 0

    def start(self, cache: Any, length: int, max_new: int) -> None:
        """Copy the prefill cache (length tokens) into buffers with room for `max_new` more."""
        self.keys, self.values = [], []
        for layer in cache.layers:
            k = layer.keys[0].detach().numpy()  # (kv_heads, length, head_dim), rope applied
            v = layer.values[0].detach().numpy()
            kb = np.empty((self.kv_heads, length + max_new, self.head_dim), np.float32)
            vb = np.empty_like(kb)
            kb[:, :length], vb[:, :length] = k[:, :length], v[:, :length]
            self.keys.append(kb)
            self.values.append(vb)
        self.length = length

    def _rms(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        normed: np.ndarray = (x / np.sqrt(np.mean(x * x) + self.eps)).astype(np.float32) * weight
        return normed

    def _rotate(self, x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
        half = self.head_dim // 2
        rotated = np.concatenate([-x[:, half:], x[:, :half]], axis=1)
        out: np.ndarray = (x * cos + rotated * sin).astype(np.float32)
        return out

    def step(self, token: int) -> np.ndarray:
        """Feed `token` at the next position; return the next-token logits (float32)."""
        pos = self.length
        angles = pos * self.inv_freq
        emb = np.concatenate([angles, angles])
        cos = (np.cos(emb) * self.scaling).astype(np.float32)
        sin = (np.sin(emb) * self.scaling).astype(np.float32)
        group = self.heads // self.kv_heads
        scale = np.float32(1.0 / np.sqrt(self.head_dim))
        x = self.embed[token].astype(np.float32)
        for i, (ln1, wq, wk, wv, wo, ln2, wg, wu, wd) in enumerate(self.layers):
            r = self._rms(x, ln1)
            q = self._rotate((r @ wq).reshape(self.heads, self.head_dim), cos, sin)
            k = self._rotate((r @ wk).reshape(self.kv_heads, self.head_dim), cos, sin)
            self.keys[i][:, pos] = k
            self.values[i][:, pos] = (r @ wv).reshape(self.kv_heads, self.head_dim)
            keys = self.keys[i][:, : pos + 1]
            values = self.values[i][:, : pos + 1]
            qg = q.reshape(self.kv_heads, group, self.head_dim)
            scores = np.matmul(qg, keys.transpose(0, 2, 1)) * scale  # (kv, group, T)
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            attended = np.matmul(probs, values).reshape(-1)  # (heads * head_dim,)
            x = x + attended @ wo
            r = self._rms(x, ln2)
            g = r @ wg
            x = x + ((g / (1.0 + np.exp(-g))) * (r @ wu)) @ wd
        self.length = pos + 1
        return np.asarray(self._rms(x, self.norm) @ self.head, dtype=np.float32)
