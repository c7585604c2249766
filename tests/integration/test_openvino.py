"""The OpenVINO CPU engine, tiny model: transformers' inputs and greedy tokens, one conversion, fallback."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from app.capture.frames import Frame
from app.config import EngineSettings
from app.inference.agreement import cosine
from app.inference.answer import collect
from app.inference.backend import BackendError
from app.inference.chat_format import render_prompt
from app.inference.factory import FallbackBackend, create_backend
from app.inference.model_thread import ModelThread
from app.inference.openvino.backend import (
    ConversionFailed,
    OpenVINOBackend,
    Weights,
    convert_in_subprocess,
)
from app.inference.published_onnx import Variant
from app.inference.smolvlm_inputs import SmolVLMInputs
from app.inference.transformers_backend import TransformersBackend, load_processor
from app.inference.types import ChatTurn, GenerationRequest, LoadProgress, LoadProgressCallback
from tests.media import photo
from tests.openvino_probe import products_per_input

pytestmark = pytest.mark.slow  # converts the tiny model once per precision (a few seconds each)


class CountingConverter:
    """The real converter, counting how often it runs (and on which threads)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, Weights]] = []
        self.threads: list[int] = []

    def __call__(
        self,
        folder: Path,
        out: Path,
        weights: Weights,
        source: Variant | None,
        progress: LoadProgressCallback | None,
    ) -> None:
        self.calls.append((folder, weights))
        self.threads.append(threading.get_ident())
        convert_in_subprocess(folder, out, weights, source, progress)


@pytest.fixture(scope="module")
def ov_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ov-cache")


def image_request(**kwargs: object) -> GenerationRequest:
    return GenerationRequest("Describe what is in front of the camera.", frames=(Frame(photo()),), **kwargs)  # type: ignore[arg-type]


def clip_request(**kwargs: object) -> GenerationRequest:
    frames = tuple(Frame(np.roll(photo(), 40 * t, axis=1), float(t)) for t in range(3))
    return GenerationRequest("What happens?", frames=frames, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "request_",
    [
        image_request(),
        clip_request(),
        image_request(split_images=True),
        GenerationRequest(
            "And the colour?",
            frames=(Frame(photo()),),
            system="Be brief.",
            history=(ChatTurn("user", "What is it?"), ChatTurn("assistant", "A mug.")),
        ),
        GenerationRequest("No picture at all."),
    ],
    ids=["image", "clip", "split-image", "history", "text-only"],
)
def test_torch_free_inputs_equal_the_processors(tiny_model: Path, request_: GenerationRequest) -> None:
    from PIL import Image

    from app.inference.images import ImageSettings, prepare_image

    limit = ImageSettings.from_folder(tiny_model).limit(split=request_.split_images)
    ours = SmolVLMInputs(tiny_model).encode(request_)
    processor = load_processor(tiny_model)
    kwargs: dict[str, object] = {"text": [render_prompt(request_)], "return_tensors": "np"}
    if request_.frames:
        kwargs["images"] = [[prepare_image(f, limit) for f in request_.frames]]
        kwargs["do_image_splitting"] = request_.split_images
    theirs = processor(**kwargs)
    assert ours.input_ids.tolist() == theirs["input_ids"].tolist()
    if request_.frames:
        assert ours.pixel_values is not None
        expected = theirs["pixel_values"][0]
        assert ours.pixel_values.shape == expected.shape
        assert np.abs(ours.pixel_values - expected).max() < 1e-5
    else:
        assert ours.pixel_values is None
    _ = Image  # PIL is what both use for resizing


def test_full_precision_gives_transformers_greedy_tokens(tiny_model: Path, ov_cache: Path) -> None:
    reference = TransformersBackend(model=str(tiny_model), dtype="float32")
    reference.load()
    ours = OpenVINOBackend(model=str(tiny_model), dtype="float32", cache_dir=ov_cache)
    ours.load()
    assert ours.info.dtype == "fp32/fp32"
    for request in (image_request(max_tokens=16), clip_request(max_tokens=16)):
        a, b = collect(reference.stream(request)), collect(ours.stream(request))
        assert a.stats.generated_tokens == b.stats.generated_tokens == 16  # no early stop: all 16 compared
        assert a.text == b.text
        assert a.stats.prompt_tokens == b.stats.prompt_tokens == ours.count_prompt_tokens(request)
    reference.close()
    ours.close()


def test_int8_runs_end_to_end_streams_and_cancels(tiny_model: Path, ov_cache: Path) -> None:
    backend = OpenVINOBackend(model=str(tiny_model), cache_dir=ov_cache)
    backend.load()
    assert backend.info.backend == "openvino" and backend.info.dtype.startswith("int8/")
    out = collect(backend.stream(image_request(max_tokens=8)))
    assert out.stats.generated_tokens == 8 and out.stats.time_to_first_token_s is not None
    assert out.stats.finish_reason == "length"
    from app.inference.types import CancelToken

    cancel = CancelToken()
    chunks = []
    for chunk in backend.stream(image_request(max_tokens=50), cancel):
        chunks.append(chunk)
        cancel.cancel()
    assert chunks[-1].stats.finish_reason == "cancelled" and chunks[-1].stats.generated_tokens <= 2
    sampled = [collect(backend.stream(image_request(max_tokens=6, temperature=0.8))).text for _ in range(2)]
    assert sampled[0] == sampled[1]  # sampling is seeded: the same request gives the same answer


def test_int8_decoding_reads_each_layer_in_four_products_and_agrees_with_full_precision(
    tiny_model: Path, ov_cache: Path
) -> None:
    backend = OpenVINOBackend(model=str(tiny_model), cache_dir=ov_cache, prepare_from="pytorch")
    backend.load()
    assert backend.ir_folder is not None
    layers = json.loads((tiny_model / "config.json").read_text())["text_config"]["num_hidden_layers"]
    # q/k/v as one product, gate/up as one, then o and down; and the output head
    assert products_per_input(backend.ir_folder / "decoder.xml") == [1] * (4 * layers + 1)
    full = OpenVINOBackend(model=str(tiny_model), dtype="float32", cache_dir=ov_cache, prepare_from="pytorch")
    full.load()
    asked = GenerationRequest("What is in front of me?", frames=(Frame(photo(), 0.0),))
    assert cosine(backend.first_token_logits(asked), full.first_token_logits(asked)) > 0.999


def test_the_conversion_runs_once_and_is_reused_offline(tiny_model: Path, tmp_path: Path) -> None:
    convert = CountingConverter()
    stages: list[LoadProgress] = []
    first = OpenVINOBackend(model=str(tiny_model), cache_dir=tmp_path, converter=convert)
    first.load(stages.append)
    assert first.converted and len(convert.calls) == 1
    converting = [p for p in stages if p.stage == "convert"]
    assert converting and all(p.fraction is not None for p in converting)
    assert "first run only" in converting[0].message
    second = OpenVINOBackend(
        model=str(tiny_model), cache_dir=tmp_path, converter=convert, allow_download=False
    )
    second.load()
    assert not second.converted and len(convert.calls) == 1  # the cache serves the second start
    assert second.ir_folder == first.ir_folder


def test_a_failed_conversion_is_one_clear_sentence(tiny_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(ConversionFailed) as caught:
        OpenVINOBackend(model=str(broken), cache_dir=tmp_path / "cache").load()
    message = str(caught.value)
    assert message.startswith("The model could not be converted for the fast CPU engine (")
    assert "\n" not in message and "Traceback" not in message


def test_a_conversion_failure_falls_back_to_transformers_and_says_so(
    tiny_model: Path, tmp_path: Path
) -> None:
    def failing(
        _folder: Path,
        _out: Path,
        _weights: Weights,
        _source: Variant | None,
        _progress: LoadProgressCallback | None,
    ) -> None:
        raise ConversionFailed("The model could not be converted for the fast CPU engine (disk full).")

    primary = OpenVINOBackend(model=str(tiny_model), cache_dir=tmp_path, converter=failing)
    model_thread = ModelThread(
        lambda: FallbackBackend(primary, lambda: TransformersBackend(model=str(tiny_model)))
    )
    try:
        info = model_thread.wait_ready(timeout=120)
        assert info.backend == "transformers"
        assert "could not be prepared" in info.note and "disk full" in info.note and "PyTorch" in info.note
        assert model_thread.submit(image_request(max_tokens=4)).result(timeout=60).text is not None
    finally:
        assert model_thread.shutdown()


def test_preprocessing_that_disagrees_with_the_reference_is_refused(
    tiny_model: Path, ov_cache: Path, tmp_path: Path
) -> None:
    backend = OpenVINOBackend(model=str(tiny_model), cache_dir=ov_cache)
    backend.load()
    assert backend.ir_folder is not None
    copy = tmp_path / "cache"
    shutil.copytree(backend.ir_folder, copy / backend.ir_folder.name)
    reference = copy / backend.ir_folder.name / "reference.json"
    data = json.loads(reference.read_text())
    data["input_ids"] = [*data["input_ids"], 0]  # as if the real processor added a token we don't
    reference.write_text(json.dumps(data))
    with pytest.raises(ConversionFailed, match="preprocessing"):
        OpenVINOBackend(model=str(tiny_model), cache_dir=copy).load()


def test_settings_choose_openvino_and_its_precision(tiny_model: Path) -> None:
    auto = create_backend(EngineSettings(model=str(tiny_model), device="cpu"))
    assert isinstance(auto, FallbackBackend | OpenVINOBackend | TransformersBackend)
    exact = create_backend(EngineSettings(backend="openvino", model=str(tiny_model), dtype="float32"))
    assert isinstance(exact, OpenVINOBackend)
    with pytest.raises(BackendError, match="openvino backend"):
        create_backend(EngineSettings(backend="transformers", model=str(tiny_model), dtype="int8"))


def test_eval_vqa_and_describe_run_on_the_cpu_engine(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    from app.cli import main

    assert main(["eval", "vqa", "--backend", "openvino", "--model", str(tiny_model)]) == 0
    assert "VQA accuracy" in capsys.readouterr().out
    picture = tmp_path / "photo.png"
    Image.fromarray(photo()).save(picture)
    args = [
        "describe",
        str(picture),
        "--backend",
        "openvino",
        "--dtype",
        "float32",
        "--model",
        str(tiny_model),
    ]
    assert main([*args, "--stats"]) == 0
    assert "[openvino CPU fp32/fp32]" in capsys.readouterr().err


def test_a_picture_seen_moments_ago_is_not_encoded_again(tiny_model: Path, ov_cache: Path) -> None:
    backend = OpenVINOBackend(model=str(tiny_model), cache_dir=ov_cache)
    backend.load()
    first = collect(backend.stream(image_request(max_tokens=6)))
    again = collect(backend.stream(image_request(max_tokens=6)))  # describe again: a still scene
    follow_up = collect(
        backend.stream(GenerationRequest("What colour is it?", frames=(Frame(photo()),), max_tokens=6))
    )
    moved = collect(
        backend.stream(
            GenerationRequest("And now?", frames=(Frame(np.roll(photo(), 1, axis=1)),), max_tokens=6)
        )
    )
    assert first.stats.vision_s is not None and first.stats.vision_s > 0
    assert again.stats.vision_s == 0 and follow_up.stats.vision_s == 0  # its features were kept
    assert again.text == first.text  # and they are the same features
    assert moved.stats.vision_s is not None and moved.stats.vision_s > 0  # one pixel over: a new picture
