"""Models that see pictures differently from the 500M: the CPU engine reads the geometry from the config.

Two layouts besides the 500M's 512 px tiles / 16 px patches / scale 4 (64 tokens a tile):
64 px tiles with scale factor 2 (4 tokens a tile), and SmolVLM2-2.2B's 384 px tiles, 14 px
patches and scale factor 3 (81 tokens a tile). Each is a real, tiny model built here; the
torch-free inputs must equal transformers' processor, and the OpenVINO engine must give
transformers' greedy tokens.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.capture.frames import Frame
from app.cli import main
from app.devtools.model_builder import GEOMETRIES, build_model
from app.inference.answer import collect
from app.inference.chat_format import render_prompt
from app.inference.images import ImageSettings, prepare_image
from app.inference.openvino.backend import OpenVINOBackend
from app.inference.smolvlm_inputs import SmolVLMInputs
from app.inference.transformers_backend import TransformersBackend, load_processor
from app.inference.types import GenerationRequest
from tests.media import photo

pytestmark = pytest.mark.slow  # two conversions (a few seconds each)

SAMPLE_PICTURE = Path(__file__).resolve().parents[2] / "resources" / "sample.jpg"


@pytest.fixture(scope="module", params=["64px", "2.2b"])
def model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    name = str(request.param)
    # Random weights stop at random places; with this seed none of the requests below ends
    # before its 16th token on either layout, so every comparison covers all 16.
    return build_model(tmp_path_factory.mktemp("geometry") / f"smolvlm2-{name}", geometry=name, seed=2)


def geometry_of(folder: Path) -> str:
    return folder.name.removeprefix("smolvlm2-")


def requests() -> list[GenerationRequest]:
    picture = (Frame(photo()),)
    clip = tuple(Frame(np.roll(photo(), 40 * t, axis=1), float(t)) for t in range(3))
    return [
        GenerationRequest("Describe what is in front of the camera.", frames=picture, max_tokens=16),
        GenerationRequest("Read the small print.", frames=picture, split_images=True, max_tokens=16),
        GenerationRequest("What happens?", frames=clip, max_tokens=16),
    ]


def test_the_torch_free_inputs_follow_the_models_geometry(model: Path) -> None:
    geometry = GEOMETRIES[geometry_of(model)]
    settings = ImageSettings.from_folder(model)
    assert settings.tile == geometry.tile
    ours = SmolVLMInputs(model)
    assert ours.seq_len == geometry.image_tokens
    processor = load_processor(model)
    for request in requests():
        encoded = ours.encode(request)
        limit = settings.limit(split=request.split_images)
        theirs = processor(
            text=[render_prompt(request)],
            images=[[prepare_image(f, limit) for f in request.frames]],
            do_image_splitting=request.split_images,
            return_tensors="np",
        )
        assert encoded.input_ids.tolist() == theirs["input_ids"].tolist()
        assert encoded.pixel_values is not None
        expected = theirs["pixel_values"][0]
        assert encoded.pixel_values.shape == expected.shape
        assert encoded.pixel_values.shape[-2:] == (geometry.tile, geometry.tile)
        assert np.abs(encoded.pixel_values - expected).max() < 1e-5
        tiles = encoded.pixel_values.shape[0]
        assert int((encoded.input_ids == ours.image_token_id).sum()) == tiles * geometry.image_tokens


def test_openvino_gives_transformers_greedy_tokens(model: Path, tmp_path: Path) -> None:
    reference = TransformersBackend(model=str(model), dtype="float32")
    reference.load()
    ours = OpenVINOBackend(model=str(model), dtype="float32", cache_dir=tmp_path)
    ours.load()
    try:
        for request in requests():
            a, b = collect(reference.stream(request)), collect(ours.stream(request))
            assert a.stats.generated_tokens == b.stats.generated_tokens == 16  # all 16 compared
            assert a.text == b.text
            assert a.stats.prompt_tokens == b.stats.prompt_tokens == ours.count_prompt_tokens(request)
    finally:
        reference.close()
        ours.close()


def test_describe_runs_on_the_cpu_engine(model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["describe", str(SAMPLE_PICTURE), "--model", str(model), "--max-tokens", "12", "--stats"]
    assert main([*args, "--backend", "openvino"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() and "[openvino CPU int8/" in err
    assert main([*args, "--backend", "openvino", "--dtype", "float32"]) == 0
    exact = capsys.readouterr().out
    assert main([*args, "--backend", "transformers", "--dtype", "float32"]) == 0
    assert capsys.readouterr().out == exact  # greedy: the same words as the reference


def test_the_real_size_models_tokenizer_knows_every_id_it_can_emit() -> None:
    """A random 500M model greedily repeats some id; its answer must be text, not nothing."""
    from app.devtools.model_builder import REAL_500M, model_tokenizer

    tokenizer = model_tokenizer(REAL_500M.vocab_size)
    assert len(tokenizer) == REAL_500M.vocab_size == 49280
    assert tokenizer.decode([20663, 20663, 49279]).split() == ["w20663", "w20663", "w49279"]
    assert (
        tokenizer.decode(tokenizer("A red mug.")["input_ids"]) == "A red mug."
    )  # the trained part unchanged
