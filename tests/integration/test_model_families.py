"""The two models beside the default: Qwen3.5 on OpenVINO GenAI, SmolVLM2-256M on the ONNX path.

Each is a real, tiny, random-weight model built here in the layout of its real download
(`smolsight build-test-model --family …`). The CPU engine must give transformers' greedy tokens
on the same weights, and transformers' own `generate()` is the referee for Qwen's loop.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pytest

from app.capture.frames import Frame
from app.inference.answer import collect
from app.inference.chat_format import render_qwen_prompt
from app.inference.openvino.backend import OpenVINOBackend
from app.inference.openvino.genai import GenAIBackend
from app.inference.qwen_inputs import QwenVision, budget, fit_pixels
from app.inference.transformers_backend import TransformersBackend
from app.inference.types import CancelToken, ChatTurn, GenerationRequest
from tests.conftest import needs_mlx
from tests.media import photo

pytestmark = pytest.mark.slow  # builds and exports two models (about a minute, more the first time)


def requests() -> list[GenerationRequest]:
    picture = (Frame(photo()),)
    clip = tuple(Frame(np.roll(photo(), 40 * t, axis=1), float(t)) for t in range(3))
    return [
        GenerationRequest("Describe what is in front of the camera.", frames=picture, max_tokens=12),
        GenerationRequest("Read the small print.", frames=picture, split_images=True, max_tokens=12),
        GenerationRequest("What happens?", frames=clip, max_tokens=12),
        GenerationRequest(
            "And the colour?",
            frames=picture,
            system="You describe scenes for a blind person.",
            history=(ChatTurn("user", "What is this?"), ChatTurn("assistant", "A mug on a table.")),
            max_tokens=12,
        ),
        GenerationRequest("No picture at all.", max_tokens=12),
    ]


def token_ids(backend: GenAIBackend | TransformersBackend, request: GenerationRequest) -> list[int]:
    stream = backend.prepare(request)
    ids = list(itertools.islice(stream.ids, request.max_tokens))
    stream.ids.close()  # type: ignore[attr-defined]
    return ids


@pytest.fixture(scope="module")
def qwen_engines(qwen_model: Path) -> tuple[GenAIBackend, TransformersBackend]:
    genai = GenAIBackend(model=str(qwen_model), dtype="float32")
    genai.load()
    reference = TransformersBackend(model=str(qwen_model), device="cpu", dtype="float32")
    reference.load()
    return genai, reference


def test_qwen_on_openvino_genai_gives_transformers_greedy_tokens(
    qwen_engines: tuple[GenAIBackend, TransformersBackend],
) -> None:
    genai, reference = qwen_engines
    assert genai.info.backend == "openvino" and genai.info.dtype == "fp32/fp32"
    for request in requests():
        ours = token_ids(genai, request)
        assert len(ours) == request.max_tokens, request.prompt  # none ends early: every token compared
        assert ours == token_ids(reference, request), request.prompt
        assert collect(genai.stream(request)).text == collect(reference.stream(request)).text


def test_transformers_own_generate_agrees_with_the_shared_loop(
    qwen_model: Path, qwen_engines: tuple[GenAIBackend, TransformersBackend]
) -> None:
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    request = requests()[0]
    processor = AutoProcessor.from_pretrained(qwen_model)
    model = AutoModelForImageTextToText.from_pretrained(qwen_model, dtype=torch.float32)
    picture = Image.fromarray(fit_pixels(request.frames[0], budget(split=False)))
    inputs = processor(text=[render_qwen_prompt(request)], images=[picture], return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=request.max_tokens, do_sample=False)
    expected = out[0, inputs["input_ids"].shape[1] :].tolist()
    assert token_ids(qwen_engines[0], request) == expected


def test_qwen_prompt_length_is_counted_as_the_processor_counts_it(
    qwen_engines: tuple[GenAIBackend, TransformersBackend],
) -> None:
    genai, reference = qwen_engines
    for request in requests():
        assert genai.count_prompt_tokens(request) == reference.count_prompt_tokens(request), request.prompt


def test_a_picture_is_handed_over_within_the_budget_shape_kept() -> None:
    wide = Frame(np.zeros((1080, 1920, 3), dtype=np.uint8))
    live = fit_pixels(wide, budget(split=False))
    assert live.shape[0] * live.shape[1] <= budget(split=False)
    assert abs(live.shape[1] / live.shape[0] - 1920 / 1080) < 0.01
    vision = QwenVision()
    assert vision.image_tokens(*live.shape[:2]) <= 210  # about 200 tokens for a live description
    assert vision.resized(10, 10) == (256, 256)  # the smallest picture the processor makes


def test_cancel_and_stop_strings_end_the_pipeline_at_once(
    qwen_engines: tuple[GenAIBackend, TransformersBackend],
) -> None:
    genai, _ = qwen_engines
    cancel = CancelToken()
    request = GenerationRequest("Describe.", frames=(Frame(photo()),), max_tokens=200)
    pieces = []
    at_cancel = 0
    for chunk in genai.stream(request, cancel):
        pieces.append(chunk)
        if len(pieces) == 2:
            at_cancel = chunk.stats.generated_tokens
            cancel.cancel()
    assert pieces[-1].stats.finish_reason == "cancelled"
    assert pieces[-1].stats.generated_tokens == at_cancel  # not one token more
    assert not [t for t in threading.enumerate() if t.name == "smolsight-genai"]
    full = collect(genai.stream(GenerationRequest("Describe.", frames=(Frame(photo()),), max_tokens=8)))
    stop = full.text[2:4]
    assert stop.strip()
    stopped = collect(
        genai.stream(GenerationRequest("Describe.", frames=(Frame(photo()),), max_tokens=8, stop=(stop,)))
    )
    assert stopped.stats.finish_reason == "stop" and stopped.text == full.text[: full.text.index(stop)]


def test_a_folder_without_the_openvino_export_is_one_clear_line(tmp_path: Path, qwen_model: Path) -> None:
    import shutil

    from app.inference.model_files import ModelUnavailable

    pytorch_only = tmp_path / "qwen-pytorch"
    shutil.copytree(qwen_model, pytorch_only, ignore=shutil.ignore_patterns("openvino_*"))
    with pytest.raises(ModelUnavailable, match=r"has no OpenVINO export .* qwen3\.5-0\.8b"):
        GenAIBackend(model=str(pytorch_only)).load()


def test_smolvlm2_256m_on_the_onnx_path_gives_transformers_greedy_tokens(
    small_onnx_model: Path, tmp_path: Path
) -> None:
    import json

    text = json.loads((small_onnx_model / "config.json").read_text())["text_config"]
    assert (text["hidden_size"], text["num_attention_heads"], text["num_key_value_heads"]) == (48, 3, 1)
    reference = TransformersBackend(model=str(small_onnx_model), device="cpu", dtype="float32")
    reference.load()
    backend = OpenVINOBackend(model=str(small_onnx_model), dtype="float32", cache_dir=tmp_path)
    backend.load()
    assert backend.source == "fp32"
    for request in requests():
        expected = collect(reference.stream(request)).text
        assert collect(backend.stream(request)).text == expected, request.prompt


@needs_mlx
def test_qwen_on_mlx_gives_transformers_text(
    qwen_model: Path, qwen_engines: tuple[GenAIBackend, TransformersBackend]
) -> None:
    from app.inference.mlx_backend import MLXBackend

    backend = MLXBackend(model=str(qwen_model))
    backend.load()  # this thread loads and streams: MLX's streams are thread-bound
    assert backend.family == "qwen3_5"
    for request in requests()[:3]:
        expected = collect(qwen_engines[1].stream(request)).text
        assert collect(backend.stream(request)).text == expected, request.prompt
