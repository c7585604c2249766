"""The CPU engine from the model repository's ONNX export: no PyTorch, a small checked download.

The tiny model is written in the published layout (`app.devtools.onnx_layout`: the file names,
graph inputs and outputs, and 8-bit quantization transformers.js's scripts use); the fake hub
serves it over real HTTP on 127.0.0.1 to real SmolSight processes, some of which cannot import
PyTorch at all (as in the lean install).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.capture.frames import Frame
from app.exit_codes import ExitCode
from app.inference.agreement import cosine
from app.inference.answer import collect
from app.inference.openvino.backend import OpenVINOBackend
from app.inference.published_onnx import download_patterns, file_names, find_onnx
from app.inference.transformers_backend import TransformersBackend
from app.inference.types import GenerationRequest
from app.paths import resource_file
from tests.cleanup import scratch_folder
from tests.commands import smolsight as run_smolsight
from tests.desktop import app_env, close, find_window, launch, linux_only, log_text, wait_for
from tests.fake_hub import Hub, serving
from tests.media import photo
from tests.openvino_probe import products_per_input

pytestmark = pytest.mark.slow  # exports the tiny model to ONNX once, and starts real processes

REPO = "smolsight-test/tiny-onnx"
SAMPLE = str(resource_file("sample.jpg"))


@pytest.fixture(scope="module")
def published_repo(onnx_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the hub repository holds: the PyTorch weights, the processor files, the ONNX export."""
    repo = tmp_path_factory.mktemp("repo") / "tiny-onnx"
    shutil.copytree(onnx_model, repo)
    return repo


def request(**kwargs: object) -> GenerationRequest:
    return GenerationRequest("Describe what is in front of the camera.", frames=(Frame(photo()),), **kwargs)  # type: ignore[arg-type]


def smolsight(
    *args: str, env: dict[str, str], torch: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`smolsight ARGS` without PyTorch (as in the default install) unless `torch`."""
    return run_smolsight(*args, env=env, without_torch=not torch, timeout=timeout)


def errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines a command printed (progress bars aside)."""
    return [line[line.index("smolsight:") :] for line in done.stderr.splitlines() if "smolsight:" in line]


def hub_env(tmp_path: Path, hub: Hub | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(HF_HUB_CACHE=str(tmp_path / "hf"), SMOLSIGHT_CACHE_DIR=str(tmp_path / "cache"))
    env["HF_ENDPOINT"] = hub.url if hub is not None else "http://127.0.0.1:9"
    return env


def describe_from_hub(hub: Hub, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`describe` of the hub's repository with the CPU engine; the files it downloaded."""
    with serving(hub):
        done = smolsight(
            "describe",
            SAMPLE,
            "--model",
            REPO,
            "--backend",
            "openvino",
            "--max-tokens",
            "4",
            env=hub_env(tmp_path, hub),
        )
    fetched = {
        p.split("/resolve/", 1)[1].split("/", 1)[1]
        for m, p, _ in hub.requests
        if m == "GET" and "/resolve/" in p
    }
    return done, fetched


def test_the_layout_is_the_published_one(onnx_model: Path) -> None:
    assert file_names("int8") == {
        "vision": "onnx/vision_encoder_int8.onnx",
        "embed": "onnx/embed_tokens_int8.onnx",
        "decoder": "onnx/decoder_model_merged_int8.onnx",
    }
    assert file_names("q8")["decoder"] == "onnx/decoder_model_merged_quantized.onnx"
    assert file_names("fp32")["vision"] == "onnx/vision_encoder.onnx"
    import onnx

    graphs = {
        part: onnx.load_model(path, load_external_data=False)
        for part, path in find_onnx(onnx_model, "int8").items()
    }  # type: ignore[union-attr]
    inputs = {part: [i.name for i in g.graph.input] for part, g in graphs.items()}
    assert inputs["vision"] == ["pixel_values", "pixel_attention_mask"]
    assert inputs["embed"] == ["input_ids"]
    assert inputs["decoder"][:3] == ["inputs_embeds", "attention_mask", "position_ids"]
    assert inputs["decoder"][3:5] == ["past_key_values.0.key", "past_key_values.0.value"]
    assert [o.name for o in graphs["decoder"].graph.output][:2] == ["logits", "present.0.key"]
    ops = {n.op_type for n in graphs["decoder"].graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops  # quantized as transformers.js quantizes


def test_the_vision_encoder_computes_the_models_image_feature_path(onnx_model: Path) -> None:
    """Padding images dropped and the patch mask honoured, as `get_image_features` does them."""
    import onnxruntime
    import torch
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(onnx_model, dtype=torch.float32).eval()
    tile = model.config.vision_config.image_size
    pixels = np.random.default_rng(5).uniform(-1, 1, (1, 3, 3, tile, tile)).astype(np.float32)
    mask = np.ones((1, 3, tile, tile), dtype=bool)
    pixels[0, 1, :, :, tile // 2 :] = 0  # a tile half padded, its mask saying so
    mask[0, 1, :, tile // 2 :] = False
    pixels[0, 2], mask[0, 2] = 0, False  # a padding image
    with torch.no_grad():
        features = model.get_image_features(torch.from_numpy(pixels), torch.from_numpy(mask)).pooler_output
    expected = torch.cat(features).numpy()
    session = onnxruntime.InferenceSession(onnx_model / "onnx" / "vision_encoder.onnx")
    (got,) = session.run(None, {"pixel_values": pixels, "pixel_attention_mask": mask})
    assert got.shape[0] == 2  # the padding image gives no features
    assert np.abs(got.reshape(expected.shape) - expected).max() < 1e-4
    # The half-padded tile's features are its own, not those of the same pixels taken whole.
    whole = session.run(
        None, {"pixel_values": pixels[:, 1:2], "pixel_attention_mask": np.ones_like(mask[:, 1:2])}
    )
    assert np.abs(whole[0][0] - got[1]).max() > 1e-3


def test_full_precision_onnx_gives_transformers_greedy_tokens(onnx_model: Path, tmp_path: Path) -> None:
    reference = TransformersBackend(model=str(onnx_model), device="cpu", dtype="float32")
    reference.load()
    backend = OpenVINOBackend(model=str(onnx_model), dtype="float32", cache_dir=tmp_path)
    backend.load()
    assert backend.source == "fp32"
    for req in (request(max_tokens=8), GenerationRequest("No picture at all.", max_tokens=8)):
        assert collect(backend.stream(req)).text == collect(reference.stream(req)).text


def test_eight_bit_onnx_keeps_its_weights_and_stays_close(onnx_model: Path, tmp_path: Path) -> None:
    import openvino as ov

    backend = OpenVINOBackend(model=str(onnx_model), cache_dir=tmp_path)
    backend.load()
    assert backend.source == "int8" and backend.info.dtype.startswith("int8/")
    assert backend.ir_folder is not None
    decoder = ov.Core().read_model(backend.ir_folder / "decoder.xml")
    weight_types = {
        op.get_output_element_type(0).get_type_name()
        for op in decoder.get_ops()
        if op.get_type_name() == "Constant"
        and len(op.get_output_shape(0)) == 2
        and op.get_output_shape(0)[0] >= 64
    }
    assert weight_types == {"i8"}  # the published 8-bit weights, not unpacked to floats
    layers = json.loads((onnx_model / "config.json").read_text())["text_config"]["num_hidden_layers"]
    attention = [op for op in decoder.get_ops() if op.get_type_name() == "ScaledDotProductAttention"]
    assert (
        len(attention) == layers
    )  # one fused attention per layer: what makes it as fast as the converted one
    assert {op.get_type_name() for op in decoder.get_ops()}.isdisjoint(
        {"Round", "Clamp"}
    )  # no run-time quantizing
    # Each layer's q/k/v products, and its gate/up products, read their input as one product
    # (one pass over the weights while decoding); the other products read their own input.
    assert products_per_input(backend.ir_folder / "decoder.xml") == [1] * (4 * layers + 1)
    # The encoder's attention is fused too: its guards against fully-masked rows are gone.
    vision = ov.Core().read_model(backend.ir_folder / "vision.xml")
    vision_layers = json.loads((onnx_model / "config.json").read_text())["vision_config"]["num_hidden_layers"]
    vision_ops = [op.get_type_name() for op in vision.get_ops()]
    assert vision_ops.count("ScaledDotProductAttention") == vision_layers and "IsNaN" not in vision_ops
    full = OpenVINOBackend(model=str(onnx_model), dtype="float32", cache_dir=tmp_path)
    full.load()
    pixels = np.random.default_rng(2).uniform(-1, 1, (2, 3, 512, 512)).astype(np.float32)
    assert backend._compiled is not None and full._compiled is not None
    assert cosine(backend._compiled.vision(pixels)[0], full._compiled.vision(pixels)[0]) > 0.999
    asked = GenerationRequest("What is in front of me?", frames=(Frame(photo(), 0.0),))
    assert cosine(backend.first_token_logits(asked), full.first_token_logits(asked)) > 0.999
    answer = collect(backend.stream(request(max_tokens=6)))
    assert answer.stats.generated_tokens > 0 and answer.stats.finish_reason in ("length", "stop")


def test_without_pytorch_a_published_model_describes_a_photo(onnx_model: Path, tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    done = smolsight(
        "describe", SAMPLE, "--model", str(onnx_model), "--backend", "openvino", "--max-tokens", "6", env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "Preparing the fast CPU engine" in done.stderr


def test_without_pytorch_a_safetensors_only_folder_is_one_clear_line(
    tiny_model: Path, tmp_path: Path
) -> None:
    done = smolsight("describe", SAMPLE, "--model", str(tiny_model), env=hub_env(tmp_path))
    assert done.returncode != 0
    lines = errors(done)
    assert len(lines) == 1, done.stderr
    assert (
        "pip install 'smolsight[torch]'" in lines[0]
        and "onnx/" in lines[0]
        and "Traceback" not in done.stderr
    )


def test_a_download_fetches_one_precision_checked_and_then_works_offline(
    published_repo: Path, tmp_path: Path
) -> None:
    hub = Hub(REPO, published_repo)
    done, fetched = describe_from_hub(hub, tmp_path)
    assert done.returncode == 0, done.stderr
    assert set(file_names("int8").values()) <= fetched
    assert not any(name.endswith(".safetensors") for name in fetched)  # no PyTorch weights
    assert not set(file_names("fp32").values()) & fetched  # no other precision
    assert all(any(Path(name).match(p) for p in download_patterns("int8")) for name in fetched)
    assert any("/tree/" in p for _, p, _ in hub.requests)  # the hashes were asked for
    offline = smolsight(
        "describe", SAMPLE, "--model", REPO, "--offline", "--max-tokens", "4", env=hub_env(tmp_path)
    )
    assert offline.returncode == 0, offline.stderr


def test_a_repository_without_int8_files_gets_the_next_precision_it_lists(
    tiny_model: Path, tmp_path: Path
) -> None:
    from app.devtools.onnx_layout import write_onnx_layout

    repo = tmp_path / "repo"
    shutil.copytree(tiny_model, repo)
    write_onnx_layout(repo, ("uint8", "q8"))  # as SmolVLM2-500M-Video-Instruct was seen: no _int8
    done, fetched = describe_from_hub(Hub(REPO, repo), tmp_path)
    assert done.returncode == 0, done.stderr
    assert set(file_names("q8").values()) <= fetched  # the best precision the repository has
    assert not set(file_names("uint8").values()) & fetched  # and only that one
    assert done.stdout.strip()
    again = smolsight(  # offline: the downloaded precision is found in the cache
        "describe", SAMPLE, "--model", REPO, "--offline", "--max-tokens", "4", env=hub_env(tmp_path)
    )
    assert again.returncode == 0, again.stderr


def test_a_failure_inside_the_model_thread_is_one_line_and_the_traceback_goes_to_the_log(
    onnx_model: Path, tmp_path: Path
) -> None:
    env = {**hub_env(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    prepare_then_break(onnx_model, tmp_path, env)
    args = ("describe", SAMPLE, "--model", str(onnx_model), "--backend", "openvino", "--max-tokens", "4")
    done = smolsight(*args, env=env)
    assert done.returncode == ExitCode.MODEL
    assert "Traceback" not in done.stderr
    said = errors(done)
    assert len(said) == 1, done.stderr  # OpenVINO's own words, in one line: the line it ends with
    failed = "smolsight: The model failed on this request (RuntimeError: Can't set the input tensor"
    assert said[0].startswith(failed)
    assert said[0].endswith("); the details are in SmolSight's log.")
    log = (tmp_path / "state" / "SmolSight" / "log" / "smolsight.log").read_text()
    assert "a generation failed on the model thread" in log and "Traceback" in log


def prepare_then_break(onnx_model: Path, tmp_path: Path, env: dict[str, str]) -> None:
    """Prepare the CPU engine once, then give it a vision encoder that loads and fails on the first picture.

    (A broken decoder no longer gets that far: the compiled-cache check runs it at every load.)
    """
    args = ("describe", SAMPLE, "--model", str(onnx_model), "--backend", "openvino", "--max-tokens", "4")
    assert smolsight(*args, env=env).returncode == 0
    prepared = next((tmp_path / "cache" / "openvino").iterdir())
    for ext in ("xml", "bin"):
        shutil.copyfile(prepared / f"embed.{ext}", prepared / f"vision.{ext}")


@linux_only
def test_a_failure_inside_the_model_thread_reaches_the_window_without_a_traceback(
    onnx_model: Path, tmp_path: Path, x_display: str
) -> None:
    prepare_then_break(onnx_model, tmp_path, hub_env(tmp_path))
    settings = {"model": str(onnx_model), "backend": "openvino", "output": "text"}
    (tmp_path / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    env = app_env(tmp_path, DISPLAY=x_display, SMOLSIGHT_CACHE_DIR=str(tmp_path / "cache"))
    app = launch(env)
    try:
        find_window("^SmolSight$", env, 30, process=app)
        # the model thread's warm-up (one short generation) fails; the window says so
        wait_for(lambda: "the model failed to load" in log_text(tmp_path), "the failure", app)
    finally:
        out, err = close(app)
    assert "Traceback" in log_text(tmp_path)  # the details are in the log …
    assert "Traceback" not in out + err and err.strip() == ""  # … and nowhere else


def test_a_download_cut_off_midway_is_completed_and_checked(published_repo: Path, tmp_path: Path) -> None:
    decoder = file_names("int8")["decoder"]
    hub = Hub(REPO, published_repo, drop={decoder})  # the network goes away halfway through
    blobs = tmp_path / "hf" / f"models--{REPO.replace('/', '--')}" / "blobs"
    blobs.mkdir(parents=True)
    leftover = blobs / "0123abcd.5678ef90.incomplete"  # what a download stopped a day ago left
    leftover.write_bytes(b"x" * 1000)
    os.utime(leftover, (time.time() - 86400, time.time() - 86400))
    with serving(hub):
        env = hub_env(tmp_path, hub)
        done = smolsight("download", REPO, "--backend", "openvino", env=env)
        assert hub.gets(decoder) == 2  # asked again after the cut
        describe = smolsight("describe", SAMPLE, "--model", REPO, "--offline", "--max-tokens", "4", env=env)
    assert done.returncode == 0, done.stderr
    assert describe.returncode == 0, describe.stderr
    assert not leftover.exists()  # its space is given back


def test_a_file_that_fails_its_checksum_is_refused_and_fetched_again(
    published_repo: Path, tmp_path: Path
) -> None:
    decoder = file_names("int8")["decoder"]
    hub = Hub(REPO, published_repo, corrupt={decoder})
    args = ("download", REPO, "--backend", "openvino")
    with serving(hub):
        env = hub_env(tmp_path, hub)
        refused = smolsight(*args, env=env)
        hub.corrupt.clear()
        again = smolsight(*args, env=env)
    assert refused.returncode != 0
    lines = errors(refused)
    assert (
        len(lines) == 1
        and "checksum" in lines[0]
        and decoder in lines[0]
        and "Traceback" not in refused.stderr
    )
    assert again.returncode == 0, again.stderr


def test_a_repository_without_the_onnx_export_is_one_clear_line(tiny_model: Path, tmp_path: Path) -> None:
    hub = Hub(REPO, tiny_model)  # PyTorch weights only
    with serving(hub):
        done = smolsight("download", REPO, "--backend", "openvino", env=hub_env(tmp_path, hub))
    assert done.returncode != 0
    lines = errors(done)
    assert (
        len(lines) == 1
        and "smolsight[torch]" in lines[0]
        and REPO in lines[0]
        and "SmolVLM2-500M-Video-Instruct" in lines[0]
    )
    assert "Traceback" not in done.stderr


def test_the_bench_sets_the_onnx_prepared_engine_beside_the_converted_one(
    onnx_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    out_json = tmp_path / "bench.json"
    assert (
        main(["bench", "--quick", "--backend", "all", "--model", str(onnx_model), "--json", str(out_json)])
        == 0
    )
    out = capsys.readouterr().out
    rows = {b["backend"] for b in json.loads(out_json.read_text())["backends"]}
    assert {"openvino/onnx-int8", "openvino/converted", "transformers"} <= rows
    assert "the CPU engine prepared from ONNX files vs converted from PyTorch" in out


def label_picture(path: Path) -> Path:
    """The test set's medicine label, clean, saved to `path`."""
    from PIL import Image

    from app.devtools.text_pictures import text_pictures

    label = next(p for p in text_pictures() if p.name == "label, clean")
    Image.fromarray(label.image).save(path)
    return path


@pytest.fixture(scope="module")
def lean_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """SmolSight installed as `pip install .` installs it, into a fresh virtual environment."""
    with scratch_folder(tmp_path_factory, "lean") as root:
        yield install_lean(root / "venv")


def install_lean(venv: Path) -> Path:
    """`pip install .` into a new virtual environment at `venv`."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(root)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def test_the_default_install_has_no_pytorch_and_runs_the_cpu_engine(
    lean_venv: Path,
    onnx_model: Path,
    tiny_model: Path,
    small_onnx_model: Path,
    qwen_model: Path,
    tmp_path: Path,
) -> None:
    python = lean_venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True
    )
    names = {line.split("==")[0].lower().replace("_", "-") for line in listed.stdout.splitlines()}
    assert "openvino" in names and "pyside6-essentials" in names
    heavy = {
        n
        for n in names
        if n in {"torch", "torchvision", "transformers", "triton", "nncf"} or n.startswith("nvidia")
    }
    assert not heavy, f"the default install brought {sorted(heavy)}"
    # What `du -sm` of the fresh environment says, at most 1300 (MiB) beside PySide6's size over
    # the 402 MiB of its current release: Python 3.11 gets the older, larger 6.11 (651 MiB; 6.12.0
    # crashes there, see pyproject.toml), which is not ours to trim. Measured on 2026-12-03 (see
    # the README's table): PyAV for audio description is about 100 MiB of it, the text reader 55,
    # openvino-genai and openvino-tokenizers (Qwen3.5-0.8B) 22. With PyTorch it is over 6 GB.
    size = sum(f.stat().st_blocks * 512 for f in lean_venv.rglob("*") if not f.is_symlink())
    pyside = sum(f.stat().st_blocks * 512 for f in lean_venv.rglob("PySide6/**/*") if not f.is_symlink())
    counted = size - max(0, pyside - 402 * 2**20)
    assert counted <= 1300 * 2**20, (
        f"the default install is {size / 2**20:.0f} MiB (du -sm), {counted / 2**20:.0f} counted"
    )
    env = hub_env(tmp_path)
    command = [str(python), "-m", "app"]

    def app(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=timeout)

    assert app("--help", timeout=60).returncode == 0
    # The three models on offer, each in the layout of its download: SmolVLM2's ONNX exports
    # (the 500M's and the 256M's), Qwen3.5-0.8B's OpenVINO export (openvino-genai).
    for model in (onnx_model, small_onnx_model, qwen_model):
        done = app("describe", SAMPLE, "--model", str(model), "--max-tokens", "4")
        assert done.returncode == 0 and done.stdout.strip(), done.stderr[-2000:]
    listed = app("models", timeout=120)
    assert "qwen3.5-0.8b" in listed.stdout and "OpenVINO GenAI (CPU)" in listed.stdout
    refused = app("describe", SAMPLE, "--model", str(tiny_model), timeout=120)
    assert refused.returncode != 0
    assert [line for line in errors(refused) if "pip install 'smolsight[torch]'" in line], refused.stderr
    # Reading needs no model and no network: the reader's weights came with the install.
    label = tmp_path / "label.png"
    label_picture(label)
    read = app("read", str(label), timeout=120)
    assert read.returncode == 0, read.stderr[-2000:]
    assert read.stdout.splitlines() == ["Ibuprofen 200 mg", "Take 1 tablet every 6 hours"]
