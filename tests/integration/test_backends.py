"""Both real backends load the locally built tiny SmolVLM2 and generate on a worker thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.capture.frames import Frame
from app.config import EngineSettings
from app.inference.answer import collect
from app.inference.backend import BackendError, VisionBackend
from app.inference.factory import choose_backend, create_backend
from app.inference.types import CancelToken, GenerationRequest
from tests.conftest import needs_mlx
from tests.media import photo

BACKENDS = [pytest.param("transformers"), pytest.param("mlx", marks=needs_mlx)]


def on_worker_thread(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Run `fn` on a fresh named thread; return its result and the thread id."""
    box: dict[str, Any] = {}

    def body() -> None:
        box["thread"] = threading.get_ident()
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=body, name="smolsight-test-worker")
    t.start()
    t.join(timeout=240)
    assert not t.is_alive(), "worker thread did not finish"
    if "error" in box:
        raise box["error"]
    return box["result"], box["thread"]


def clip() -> tuple[Frame, ...]:
    base = photo()
    return tuple(Frame(np.roll(base, 40 * i, axis=1), float(i)) for i in range(3))


@pytest.mark.parametrize("name", BACKENDS)
def test_generates_from_an_image_and_a_clip_on_a_worker_thread(name: str, tiny_model: Path) -> None:
    backend = create_backend(EngineSettings(backend=name, model=str(tiny_model)))  # type: ignore[arg-type]

    def work() -> dict[str, Any]:
        backend.load()
        backend.warm_up()
        image = collect(
            backend.stream(GenerationRequest("Describe.", frames=(Frame(photo()),), max_tokens=6))
        )
        video = collect(backend.stream(GenerationRequest("What happens?", frames=clip(), max_tokens=6)))
        return {"image": image, "video": video, "thread": threading.get_ident()}

    out, worker = on_worker_thread(work)
    assert worker != threading.main_thread().ident
    for key in ("image", "video"):
        result = out[key]
        assert result.stats.finish_reason in {"length", "stop"}
        assert result.stats.prompt_tokens > 64
        if result.stats.finish_reason == "length":
            assert result.stats.generated_tokens == 6
        assert result.stats.time_to_first_token_s is not None
    # Three 512 px frames cost three times 67 image-related tokens more than none.
    assert out["video"].stats.prompt_tokens > 3 * 64
    assert isinstance(backend, VisionBackend)
    backend.close()


@needs_mlx
def test_mlx_loads_and_generates_on_the_same_thread_and_refuses_others(tiny_model: Path) -> None:
    from app.inference.mlx_backend import MLXBackend

    backend = MLXBackend(model=str(tiny_model))

    def work() -> None:
        backend.load()
        collect(backend.stream(GenerationRequest("Hi", frames=(Frame(photo()),), max_tokens=2)))

    _, worker = on_worker_thread(work)
    assert backend.load_thread == worker  # it streamed there: from any other thread it refuses
    with pytest.raises(BackendError, match="thread that loaded them"):
        collect(backend.stream(GenerationRequest("Hi", max_tokens=2)))


@pytest.mark.parametrize("name", BACKENDS)
def test_cancel_stops_within_one_token(name: str, tiny_model: Path) -> None:
    backend = create_backend(EngineSettings(backend=name, model=str(tiny_model)))  # type: ignore[arg-type]

    def work() -> Any:
        backend.load()
        cancel = CancelToken()
        at_cancel = None
        last = None
        for chunk in backend.stream(
            GenerationRequest("Describe.", frames=(Frame(photo()),), max_tokens=200), cancel
        ):
            last = chunk
            if at_cancel is None:
                at_cancel = chunk.stats.generated_tokens
                cancel.cancel()
        return last, at_cancel

    (last, at_cancel), _ = on_worker_thread(work)
    assert last.stats.finish_reason in {"cancelled", "stop"}
    if last.stats.finish_reason == "cancelled":
        assert last.stats.generated_tokens <= at_cancel + 1


def test_live_frames_cost_64_image_tokens_with_the_real_processor_configuration(tiny_model: Path) -> None:
    """The builder writes the real preprocessor settings (splitting on, 512 px tiles)."""
    import json

    from app.inference.transformers_backend import TransformersBackend

    pre = json.loads((tiny_model / "preprocessor_config.json").read_text())
    assert pre["do_image_splitting"] is True and pre["max_image_size"] == {"longest_edge": 512}
    assert json.loads((tiny_model / "processor_config.json").read_text())["image_seq_len"] == 64

    backend = TransformersBackend(model=str(tiny_model))
    backend.load()
    frame = Frame(photo())  # 640×480, a webcam frame
    live = backend._inputs(GenerationRequest("Describe.", frames=(frame,)))
    split = backend._inputs(GenerationRequest("Describe.", frames=(frame,), split_images=True))
    image_id = backend._processor.tokenizer.convert_tokens_to_ids("<image>")
    assert int((live["input_ids"] == image_id).sum()) == 64
    assert int((split["input_ids"] == image_id).sum()) > 10 * 64  # tiles + global view
    assert backend.count_prompt_tokens(GenerationRequest("Describe.", frames=(frame,))) < 100


def test_stop_strings_end_the_answer(tiny_model: Path) -> None:
    from app.inference.transformers_backend import TransformersBackend

    backend = TransformersBackend(model=str(tiny_model))
    backend.load()
    request = GenerationRequest("Describe.", frames=(Frame(photo()),), max_tokens=12)
    full = collect(backend.stream(request)).text
    assert len(full) > 3
    stop = full[2:4]
    cut = collect(
        backend.stream(GenerationRequest("Describe.", frames=(Frame(photo()),), max_tokens=12, stop=(stop,)))
    )
    assert cut.stats.finish_reason == "stop"
    assert stop not in cut.text
    assert full.startswith(cut.text)


def test_auto_backend_and_unknown_names() -> None:
    from app.inference.factory import is_apple_silicon, nvidia_gpu_present

    if not is_apple_silicon() and not nvidia_gpu_present():
        assert choose_backend("auto") == "openvino"  # a plain CPU machine gets the fast CPU engine
    assert choose_backend("auto", device="cuda") == "transformers"
    assert choose_backend("auto", device="cpu") in {"openvino", "mlx"}
    with pytest.raises(BackendError, match="Unknown backend 'tpu'"):
        choose_backend("tpu")  # type: ignore[arg-type]


def test_the_cpu_dtype_is_decided_from_the_device_not_measured() -> None:
    import torch

    from app.inference.transformers_backend import pick_dtype

    assert pick_dtype("cpu") == torch.float32  # the same on every CPU, loaded or idle
    assert pick_dtype("cpu", "bfloat16") == torch.bfloat16
    assert pick_dtype("mps") == torch.float16
