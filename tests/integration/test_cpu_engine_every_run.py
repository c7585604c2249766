"""The CPU engine answers the tenth time as it did the first: every decoder form, every precision.

Each test runs the engine in several fresh processes sharing one cache folder
(`tests/probes/cpu_engine_answers.py`): the first prepares and compiles, the later ones load
OpenVINO's compiled cache, which once computed decoders from onnxruntime-genai's builder wrongly
after a reload (docs/cpu-engine.md, "The compiled cache"). Every run is compared with ONNX
Runtime on the same files (`tests/onnx_runtime.py`, an independent reference: it defines the
contrib operators) and with transformers on the model's own weights.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.inference.agreement import cosine
from app.inference.answer import collect
from app.inference.published_onnx import METADATA_PATTERNS, Variant, file_names
from app.inference.transformers_backend import TransformersBackend
from tests.onnx_runtime import OnnxRuntimeModel
from tests.probes.cpu_engine_answers import REQUESTS

pytestmark = pytest.mark.slow  # builds decoders with onnxruntime-genai's builder; many engine loads

ROOT = Path(__file__).resolve().parents[2]
FORMS = ("export", "genai-mha", "genai-gqa")  # our exporter's; the builder's two attention forms
VARIANTS: tuple[Variant, ...] = ("fp32", "fp16", "int8", "uint8", "q8")  # what the engine takes
FULL = ("fp32", "fp16")


@pytest.fixture(scope="module")
def forms(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny model in the published layout, every precision, by how its decoder was made."""
    from app.devtools.onnx_layout import write_onnx_layout

    folders = {}
    for form in FORMS:
        folder = tmp_path_factory.mktemp(form) / "tiny-onnx"
        shutil.copytree(tiny_model, folder)
        write_onnx_layout(folder, VARIANTS, decoder=form)  # type: ignore[arg-type]
        folders[form] = folder
    return folders


def one_precision(folder: Path, variant: Variant, root: Path) -> Path:
    """A copy of `folder` with only `variant`'s graphs, as a download of that precision holds."""
    copy = root / f"{folder.parent.name}-{variant}"
    (copy / "onnx").mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file() and path.name in METADATA_PATTERNS:
            shutil.copyfile(path, copy / path.name)
    for name in file_names(variant).values():
        shutil.copyfile(folder / name, copy / name)
    return copy


def engine_runs(cache: Path, items: list[str], times: int, *extra: str) -> list[tuple[dict[str, dict], str]]:
    """Run the engine `times` times in fresh processes on one cache: each run's answers by folder, its log."""
    runs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(times):
        done = subprocess.run(
            [sys.executable, "-m", "tests.probes.cpu_engine_answers", str(cache), *extra, *items],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"folder"')]
        runs.append(({line["folder"]: line for line in lines}, done.stderr))
    return runs


def test_every_form_and_precision_answers_alike_in_three_processes_sharing_one_cache(
    forms: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    folders = {
        (form, variant): one_precision(forms[form], variant, tmp_path / form)
        for form in FORMS
        for variant in VARIANTS
    }
    items = [f"{path}:{'float32' if v in FULL else 'int8'}" for (_, v), path in folders.items()]
    runs = engine_runs(tmp_path / "cache", items, times=3)

    transformers = TransformersBackend(model=str(tiny_model), device="cpu", dtype="float32")
    transformers.load()
    said = {name: collect(transformers.stream(request)).text for name, request in REQUESTS.items()}
    for (form, variant), folder in folders.items():
        onnx_runtime = OnnxRuntimeModel(folder, variant)
        reference = {name: onnx_runtime.answer(request) for name, request in REQUESTS.items()}
        first = runs[0][0][str(folder)]
        assert not first["from_cache"], (form, variant)
        for number, (answers, _log) in enumerate(runs, start=1):
            got = answers[str(folder)]
            assert got["from_cache"] == (number > 1), (form, variant, number)  # the cache was really used
            for name, want in reference.items():
                where = (form, variant, name, f"run {number}")
                mine = np.asarray(got["answers"][name]["logits"], dtype=np.float32)
                assert np.array_equal(mine, np.asarray(first["answers"][name]["logits"], np.float32)), where
                if variant in FULL:
                    assert cosine(mine, want.logits) > 0.9999, where
                    assert got["answers"][name]["text"] == want.text == said[name], where
                else:  # 8-bit: ONNX Runtime quantizes the activations too, the engine keeps them float
                    assert cosine(mine, want.logits) > 0.998, where
                    if name == "picture":
                        assert got["answers"][name]["text"] == said[name], where
    transformers.close()


def test_the_load_probe_catches_a_compiled_cache_that_computes_wrongly_and_recovers(
    forms: dict[str, Path], tmp_path: Path
) -> None:
    """OpenVINO's own RotaryEmbedding converter (the fix off): its reloaded form computes wrongly."""
    folder = one_precision(forms["genai-mha"], "int8", tmp_path)
    runs = engine_runs(tmp_path / "cache", [f"{folder}:int8"], 3, "--openvino-rotary")
    onnx_runtime = OnnxRuntimeModel(folder, "int8")
    for answers, _log in runs:
        got = answers[str(folder)]
        assert not got["from_cache"]  # the first compiled fresh; the later ones refused the faulty cache
        for name, request in REQUESTS.items():
            mine = np.asarray(got["answers"][name]["logits"], dtype=np.float32)
            assert cosine(mine, onnx_runtime.answer(request).logits) > 0.998, name
    logs = [log for _answers, log in runs]
    caught = "gave a decoder that disagrees with its first compile"
    assert caught not in logs[0] and caught in logs[1] and caught not in logs[2]  # said once
    (marker,) = (tmp_path / "cache").glob("*/uncached-*.json")
    assert float(json.loads(marker.read_text())["difference"]) > 1e-6  # the cached decoder was wrong
