"""`smolsight bench` runs end to end (on the tiny model here; figures come from the real size)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.commands.bench_floors import (
    ModelShape,
    decode_bytes_per_token,
    text_flops,
    text_flops_split,
    vision_flops,
    vision_flops_split,
)


@pytest.mark.slow  # real benchmark processes (about 20 s here)
def test_bench_prints_the_table_ratio_and_floors(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--model", str(tiny_model), "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "the naive way" in out and "compute floor" in out and "bandwidth floor" in out
    data = json.loads(out_json.read_text())
    rows = {b["backend"]: b for b in data["backends"]}
    # side by side, one run; the tiny model has no ONNX files, so the CPU engine is converted
    assert set(rows) == {"openvino/converted", "transformers"}
    live, naive = rows["transformers"]["live"], rows["transformers"]["naive"]
    assert naive["prompt_tokens"] > 10 * live["prompt_tokens"] / 2  # tiling multiplies the image tokens
    assert rows["openvino/converted"]["live"]["prompt_tokens"] == live["prompt_tokens"]  # the same prompt
    assert all(b["peak_rss_bytes"] > 0 for b in data["backends"])  # each measured in its own process
    assert data["floors"]["openvino/converted"]["ttft_floor_s"] > 0 and data["naive_over_fastest_live"] > 1
    # where the time goes, and a follow-up question about the same picture
    assert rows["openvino/converted"]["ask"]["time_to_first_token_s"] > 0
    assert "openvino/converted live: vision " in out and "(its image features reused)" in out


def test_floor_arithmetic_for_the_real_500m_architecture(tmp_path: Path) -> None:
    from app.devtools.model_builder import REAL_500M, write_config

    config = ModelShape.from_folder(write_config(tmp_path, REAL_500M))
    # SigLIP-B/16 at 512 px: ~86 M weights seen by 1024 patches, ≈ 0.2 TFLOP per tile.
    assert 180e9 < vision_flops(config, 1) < 240e9
    # ~360 M decoder weights: ≈ 2 × 360 M FLOPs per prompt token.
    assert 55e9 < text_flops(config, 90) < 80e9
    # The first token's floor counts weight products and attention at their own rates: at 1024
    # patches attention is about a fifth of the encoder; at 167 prompt tokens, 2 % of the prefill.
    products, attention = vision_flops_split(config, 1)
    assert products + attention == vision_flops(config, 1) and 0.15 < attention / products < 0.3
    products, attention = text_flops_split(config, 167)
    assert products + attention == text_flops(config, 167) and attention / products < 0.03
    # fp32 decode reads ~1.6 GB of weights per token (decoder + untied output head).
    assert 1.4e9 < decode_bytes_per_token(config, 4) < 1.8e9


def test_all_backends_means_every_fast_one_here() -> None:
    import sys

    from app.commands.bench import backends_to_run
    from app.inference.mlx_backend import mlx_available

    chosen, notes = backends_to_run("all")
    assert chosen[:2] == ["openvino", "transformers"]
    if sys.platform == "linux" and mlx_available():
        assert chosen == ["openvino", "transformers"] and "MLX skipped" in notes[0]
    assert backends_to_run("mlx") == (["mlx"], [])
