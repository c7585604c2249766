"""The prompt builder writes exactly what SmolVLM2's own processor writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.capture.frames import Frame
from app.inference.chat_format import render_prompt, video_block
from app.inference.types import ChatTurn, GenerationRequest
from app.timecode import format_clock


@pytest.fixture(scope="module")
def processor(tiny_model: Path):  # type: ignore[no-untyped-def]
    # transformers' own class: mlx-vlm, once imported, patches AutoProcessor process-wide.
    from transformers import SmolVLMProcessor

    return SmolVLMProcessor.from_pretrained(tiny_model)


def test_single_image_prompt_matches_the_chat_template(processor) -> None:  # type: ignore[no-untyped-def]
    request = GenerationRequest("Describe this.", frames=(Frame(np.zeros((8, 8, 3), np.uint8)),))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this."}]}]
    assert render_prompt(request) == processor.apply_chat_template(messages, add_generation_prompt=True)


def test_history_and_system_turns_match_the_chat_template(processor) -> None:  # type: ignore[no-untyped-def]
    request = GenerationRequest(
        "And the colour?",
        system="Be brief.",
        history=(ChatTurn("user", "What is it?"), ChatTurn("assistant", "A mug.")),
    )
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is it?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A mug."}]},
        {"role": "user", "content": [{"type": "text", "text": "And the colour?"}]},
    ]
    assert render_prompt(request) == processor.apply_chat_template(messages, add_generation_prompt=True)


def test_clip_prompt_tokenizes_exactly_like_the_processors_video_path(processor) -> None:  # type: ignore[no-untyped-def]
    """Our frames-as-images clip and the processor's own video input give the same tokens."""
    from transformers.video_utils import VideoMetadata

    frames = [np.full((64, 96, 3), 40 * i, np.uint8) for i in range(4)]
    times = [0.0, 1.0, 2.0, 3.0]
    ours = processor(
        text=[
            render_prompt(
                GenerationRequest(
                    "What happens?", frames=tuple(Frame(f, t) for f, t in zip(frames, times, strict=True))
                )
            )
        ],
        images=[[Image.fromarray(f) for f in frames]],
        do_image_splitting=False,
        return_tensors="pt",
    )
    theirs_prompt = "<|im_start|>User: <video>What happens?<end_of_utterance>\nAssistant:"
    theirs = processor(
        text=[theirs_prompt],
        videos=[np.stack(frames)],
        videos_kwargs={
            "video_metadata": [
                VideoMetadata(total_num_frames=4, fps=1.0, duration=3.0, frames_indices=[0, 1, 2, 3])
            ],
            "do_sample_frames": False,
        },
        return_tensors="pt",
    )
    assert ours["input_ids"].tolist() == theirs["input_ids"].tolist()


def test_video_block_wording_and_timestamps() -> None:
    text = video_block([10.0, 11.0, 72.5])
    assert text.startswith(
        "You are provided the following series of three frames from a 0:01:12 [H:MM:SS] video.\n"
    )
    assert "\nFrame from 00:10:<image>\nFrame from 00:11:<image>\nFrame from 01:12:<image>" in text
    assert format_clock(3725) == "62:05"


def test_request_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        GenerationRequest("x", max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        GenerationRequest("x", temperature=3)
    with pytest.raises(ValueError, match="64 frames"):
        GenerationRequest("x", frames=tuple(Frame(np.zeros((2, 2, 3), np.uint8)) for _ in range(65)))
