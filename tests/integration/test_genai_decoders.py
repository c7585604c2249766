"""The CPU engine on decoders shaped like the published ones: built by onnxruntime-genai's model builder.

The hub's SmolVLM2 decoders were most likely built by onnxruntime-genai's builder rather than
exported from PyTorch (docs/cpu-engine.md). These tests build the tiny model's decoder that way
(`write_onnx_layout(…, decoder="genai-mha" | "genai-gqa")`: ONNX Runtime's `MultiHeadAttention`
or `GroupQueryAttention`, `RotaryEmbedding`, `SkipSimplifiedLayerNormalization`, `position_ids`
as an input, the fp16 file's cache in float16) and quantize it as transformers.js does (`_int8`
signed, `_uint8` and `_quantized` unsigned), then check that ONNX Runtime runs the files as
transformers computes (the fixtures are right) and that SmolSight's CPU engine, prepared from
them, answers as transformers does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app.capture.frames import Frame
from app.inference.agreement import cosine
from app.inference.answer import collect
from app.inference.openvino.backend import OpenVINOBackend
from app.inference.published_onnx import METADATA_PATTERNS, Variant, file_names
from app.inference.transformers_backend import TransformersBackend
from app.inference.types import GenerationRequest
from app.paths import resource_file
from tests.media import photo

pytestmark = pytest.mark.slow  # builds the tiny model's decoder with onnxruntime-genai's builder

MHA_VARIANTS: tuple[Variant, ...] = ("fp32", "int8", "uint8", "q8", "fp16")
GQA_VARIANTS: tuple[Variant, ...] = ("fp32", "int8")
PICTURE = GenerationRequest(
    "Describe what is in front of the camera.", frames=(Frame(photo(), 0.0),), max_tokens=8
)
TEXT_ONLY = GenerationRequest("No picture at all.", max_tokens=8)


@pytest.fixture(scope="module")
def genai_models(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny model in the published layout, its decoder built by onnxruntime-genai; by attention form."""
    from app.devtools.onnx_layout import write_onnx_layout

    folders = {}
    for form, variants in (("genai-mha", MHA_VARIANTS), ("genai-gqa", GQA_VARIANTS)):
        folder = tmp_path_factory.mktemp(form) / "tiny-onnx"
        shutil.copytree(tiny_model, folder)
        write_onnx_layout(folder, variants, decoder=form)  # type: ignore[arg-type]
        folders[form] = folder
    return folders


@pytest.fixture(scope="module")
def reference(tiny_model: Path) -> TransformersBackend:
    backend = TransformersBackend(model=str(tiny_model), device="cpu", dtype="float32")
    backend.load()
    return backend


def one_precision(folder: Path, variant: Variant, root: Path) -> Path:
    """A copy of `folder` holding only `variant`'s graphs (as a download of that precision would)."""
    copy = root / f"{folder.parent.name}-{variant}"
    (copy / "onnx").mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file() and path.name in METADATA_PATTERNS:
            shutil.copyfile(path, copy / path.name)
    for name in file_names(variant).values():
        shutil.copyfile(folder / name, copy / name)
    return copy


def census(path: Path) -> Counter[tuple[str, str]]:
    import onnx

    graph = onnx.load_model(path, load_external_data=False).graph
    return Counter((node.domain, node.op_type) for node in graph.node)


def test_the_fixtures_are_shaped_like_the_published_decoders(genai_models: dict[str, Path]) -> None:
    import onnx

    mha = genai_models["genai-mha"] / "onnx"
    ops = census(mha / "decoder_model_merged.onnx")
    assert {
        ("com.microsoft", "MultiHeadAttention"),
        ("com.microsoft", "RotaryEmbedding"),
        ("com.microsoft", "SkipSimplifiedLayerNormalization"),
        ("", "SimplifiedLayerNormalization"),
    } <= set(ops)
    gqa = census(genai_models["genai-gqa"] / "onnx" / "decoder_model_merged.onnx")
    assert ("com.microsoft", "GroupQueryAttention") in gqa and ("com.microsoft", "RotaryEmbedding") in gqa
    graph = onnx.load_model(mha / "decoder_model_merged_fp16.onnx").graph
    types = {i.name: i.type.tensor_type.elem_type for i in graph.input}
    assert {"inputs_embeds", "attention_mask", "position_ids", "past_key_values.0.key"} <= set(types)
    assert types["past_key_values.0.key"] == onnx.TensorProto.FLOAT16  # the builder's float16 cache
    for variant, signed in (("int8", True), ("uint8", False), ("q8", False)):  # transformers.js's choice
        graph = onnx.load_model(genai_models["genai-mha"] / file_names(variant)["decoder"]).graph
        weights = {t.name: t.data_type for t in graph.initializer}
        kinds = {
            weights[n.input[1]] for n in graph.node if n.op_type == "MatMulInteger" and n.input[1] in weights
        }
        assert kinds == {onnx.TensorProto.INT8 if signed else onnx.TensorProto.UINT8}, variant


def test_onnx_runtime_runs_the_built_decoders_as_transformers_computes(
    genai_models: dict[str, Path], tiny_model: Path
) -> None:
    """The fixtures are right: ONNX Runtime on them gives the tiny model's own logits."""
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_model, dtype=torch.float32).eval()
    text = model.config.text_config
    embeds = np.random.default_rng(0).standard_normal((1, 7, text.hidden_size)).astype(np.float32) * 0.5
    with torch.no_grad():
        want = model.lm_head(model.model.text_model(inputs_embeds=torch.from_numpy(embeds)).last_hidden_state)
    head = text.hidden_size // text.num_attention_heads
    for form in ("genai-mha", "genai-gqa"):
        session = ort.InferenceSession(str(genai_models[form] / "onnx" / "decoder_model_merged.onnx"))
        feeds = {
            "inputs_embeds": embeds,
            "attention_mask": np.ones((1, 7), np.int64),
            "position_ids": np.arange(7)[None],
        }
        for port in session.get_inputs():
            if port.name.startswith("past_key_values."):
                feeds[port.name] = np.zeros((1, text.num_key_value_heads, 0, head), np.float32)
        got = session.run(["logits"], feeds)[0]
        assert cosine(got.ravel(), want.numpy().ravel()) > 0.99999, form


@pytest.mark.parametrize(
    ("form", "variant"),
    [("genai-mha", v) for v in MHA_VARIANTS] + [("genai-gqa", v) for v in GQA_VARIANTS],
)
def test_the_cpu_engine_prepared_from_a_built_decoder_answers_as_transformers(
    genai_models: dict[str, Path], reference: TransformersBackend, form: str, variant: Variant, tmp_path: Path
) -> None:
    folder = one_precision(genai_models[form], variant, tmp_path)
    full = variant in ("fp32", "fp16")
    engine = OpenVINOBackend(
        model=str(folder), dtype="float32" if full else "int8", cache_dir=tmp_path / "cache"
    )
    engine.load()
    assert engine.source == variant
    for request in (PICTURE, TEXT_ONLY) if full else (PICTURE,):
        assert collect(engine.stream(request)).text == collect(reference.stream(request)).text, request.prompt
    exported = OpenVINOBackend(
        model=str(one_precision(genai_models[form], "fp32", tmp_path)),
        dtype="float32",
        cache_dir=tmp_path / "cache",
    )
    exported.load()
    for request in (PICTURE, TEXT_ONLY):  # the first token's logits: the 8-bit weights' error only
        assert cosine(engine.first_token_logits(request), exported.first_token_logits(request)) > 0.999


def test_describe_on_a_built_8_bit_decoder_says_what_transformers_says(
    genai_models: dict[str, Path], tmp_path: Path
) -> None:
    folder = genai_models["genai-mha"]  # the CPU engine takes its 8-bit files, transformers its weights
    env = {**os.environ, "SMOLSIGHT_CACHE_DIR": str(tmp_path / "cache")}
    said = {}
    for backend in ("openvino", "transformers"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "describe",
                str(resource_file("sample.jpg")),
                "--model",
                str(folder),
                "--backend",
                backend,
                "--max-tokens",
                "8",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        said[backend] = done.stdout
    assert said["openvino"] == said["transformers"] and said["openvino"].strip()


def test_preparation_refuses_a_decoder_that_disagrees_with_the_published_one(
    genai_models: dict[str, Path],
) -> None:
    import openvino as ov
    from openvino import opset13 as ops

    from app.inference.openvino.onnx_rewrite import onnx_core
    from app.inference.openvino.published import (
        PreparedDisagrees,
        _check_prepared_decoder,
        _published_decoder,
        _read_onnx,
    )

    core = onnx_core()
    files = {part: genai_models["genai-mha"] / name for part, name in file_names("int8").items()}
    embed = _read_onnx(core, files["embed"])
    prepared = _published_decoder(ov, _read_onnx(core, files["decoder"]))
    assert _check_prepared_decoder(ov, _read_onnx(core, files["decoder"]), prepared, embed) > 0.9999
    product = next(op for op in prepared.get_ordered_ops() if op.get_type_name() == "MatMul")
    flipped = ops.multiply(product.input_value(1), ops.constant(np.float32(-1.0)))  # a step gone wrong
    product.input(1).replace_source_output(flipped.output(0))
    with pytest.raises(PreparedDisagrees, match="does not compute what the published one does"):
        _check_prepared_decoder(ov, _read_onnx(core, files["decoder"]), prepared, embed)


def test_check_model_lists_files_hashes_and_each_graphs_census(
    genai_models: dict[str, Path], tmp_path: Path
) -> None:
    import hashlib
    import json

    import onnx

    folder = genai_models["genai-mha"]
    out = tmp_path / "manifest.json"
    done = subprocess.run(
        [sys.executable, "-m", "app", "check-model", str(folder), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "com.microsoft.MultiHeadAttention 2" in done.stdout and "(made by onnxruntime-genai)" in done.stdout
    )
    said = (
        "form: built by onnxruntime-genai's model builder, with MultiHeadAttention; the CPU engine prepares"
    )
    assert said in done.stdout
    manifest = json.loads(out.read_text())
    files = {f["path"]: f for f in manifest["files"]}
    name = "onnx/decoder_model_merged_int8.onnx"
    assert files[name]["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    model = onnx.load_model(folder / name, load_external_data=False)
    want = Counter(f"{n.domain}.{n.op_type}" if n.domain else n.op_type for n in model.graph.node)
    assert manifest["graphs"][name]["operators"] == dict(want)  # as the onnx package reads it
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    assert manifest["graphs"][name]["opsets"] == opsets
    inputs = {p["name"]: p for p in manifest["graphs"][name]["inputs"]}
    assert inputs["inputs_embeds"]["type"] == "float32" and inputs["position_ids"]["type"] == "int64"
    fp16 = {p["name"]: p for p in manifest["graphs"]["onnx/decoder_model_merged_fp16.onnx"]["inputs"]}
    assert fp16["past_key_values.0.key"]["type"] == "float16"
    assert manifest["graphs"][name]["form"] == "genai-mha" and manifest["graphs"][name]["cpu_engine_takes_it"]
    gqa = subprocess.run(
        [sys.executable, "-m", "app", "check-model", str(genai_models["genai-gqa"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "form: built by onnxruntime-genai's model builder, with GroupQueryAttention" in gqa.stdout


def test_a_decoder_cut_short_is_one_line_naming_it_in_check_model_and_describe(
    genai_models: dict[str, Path], tmp_path: Path
) -> None:
    folder = one_precision(genai_models["genai-mha"], "int8", tmp_path)
    decoder = folder / file_names("int8")["decoder"]
    decoder.write_bytes(decoder.read_bytes()[: decoder.stat().st_size // 3])  # a download cut short
    checked = subprocess.run(
        [sys.executable, "-m", "app", "check-model", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert "onnx/decoder_model_merged_int8.onnx can't be read: it ends after" in checked.stdout
    env = {**os.environ, "SMOLSIGHT_CACHE_DIR": str(tmp_path / "cache")}
    described = subprocess.run(
        [sys.executable, "-m", "app", "describe", str(resource_file("sample.jpg")), "--model", str(folder),
         "--backend", "openvino"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )  # fmt: skip
    last = described.stderr.strip().splitlines()[-1]
    assert described.returncode == 3 and last.startswith(
        f"smolsight: onnx/decoder_model_merged_int8.onnx in {folder} can't be read: it ends after"
    ), described.stderr
    assert "pip install" not in described.stderr  # nothing to install: the file is the trouble


def test_check_model_on_a_model_not_downloaded_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "check-model", "smolsight-test/not-downloaded"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        "smolsight: smolsight-test/not-downloaded has not been downloaded on this computer "
        "(smolsight download fetches it)."
    ]
