"""`smolsight describe`: real files, real tiny model, clear one-line errors with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.exit_codes import ExitCode
from tests.conftest import needs_mlx
from tests.media import write_photo, write_video


@pytest.mark.parametrize("backend", ["transformers", pytest.param("mlx", marks=needs_mlx)])
def test_describes_a_real_image_with_each_backend(
    backend: str, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = write_photo(tmp_path / "desk.jpg")
    code = main(
        [
            "describe",
            str(image),
            "--model",
            str(tiny_model),
            "--backend",
            backend,
            "--max-tokens",
            "6",
            "--stats",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip(), "no description printed"
    assert f"[{backend} " in err and "prompt" in err


def test_describes_a_video_as_a_clip_and_streams(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = write_video(tmp_path / "clip.mp4", [((200, 30, 30), 2.0), ((30, 30, 200), 2.0)])
    code = main(
        ["describe", str(video), "--model", str(tiny_model), "--max-tokens", "5", "--stream", "--stats"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip()
    # Four seconds at 1 FPS → four frames of 64 image tokens each, plus text.
    prompt_tokens = int(err.split("prompt ")[1].split(" tokens")[0])
    assert "4 frames" in err
    assert 4 * 67 < prompt_tokens < 4 * 67 + 250  # text only; tiling would add ~800 per frame


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jpg", "File not found"),
        (lambda d: (d / "notes.txt").write_text("hello") and d / "notes.txt", "neither an image nor a video"),
        (lambda d: (d / "empty.png").write_bytes(b"") or d / "empty.png", "is empty"),
        (lambda d: _truncated_png(d), "damaged or truncated"),
        (
            lambda d: (
                (d / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
                and d / "broken.mp4"
            ),
            "video",
        ),
    ],
    ids=["missing", "text-file", "empty", "truncated-png", "corrupt-mp4"],
)
def test_bad_input_gives_one_clear_line_and_exit_code(
    make, message: str, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    code = main(["describe", str(path), "--model", str(tiny_model)])
    _, err = capsys.readouterr()
    assert code == ExitCode.INPUT
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _truncated_png(d: Path) -> Path:
    full = write_photo(d / "full.png").read_bytes()
    (d / "cut.png").write_bytes(full[: len(full) // 3])
    return d / "cut.png"


def test_unknown_backend_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = write_photo(tmp_path / "a.png")
    with pytest.raises(SystemExit) as stop:
        main(["describe", str(image), "--backend", "tpu"])
    assert stop.value.code == ExitCode.USAGE
    assert "invalid choice: 'tpu'" in capsys.readouterr().err


def test_model_unavailable_offline_names_the_model_and_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = write_photo(tmp_path / "a.png")
    code = main(["describe", str(image), "--backend", "transformers"])  # default hub id, empty cache, offline
    err = capsys.readouterr().err
    assert code == ExitCode.MODEL
    assert "HuggingFaceTB/SmolVLM2-500M-Video-Instruct" in err
    assert "smolsight download" in err and "--model" in err
    assert "Traceback" not in err


def test_a_folder_that_is_not_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = write_photo(tmp_path / "a.png")
    (tmp_path / "empty-model").mkdir()
    code = main(["describe", str(image), "--model", str(tmp_path / "empty-model")])
    assert code == ExitCode.MODEL
    assert "not a model folder" in capsys.readouterr().err


def test_bad_settings_file_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = write_photo(tmp_path / "a.png")
    settings = tmp_path / "bad.json"
    settings.write_text(json.dumps({"max_tokens": -3, "colour": "red"}))
    code = main(["describe", str(image), "--config", str(settings)])
    err = capsys.readouterr().err
    assert code == ExitCode.INPUT
    assert "max_tokens'" in err and "'colour': unknown setting" in err


def test_console_script_runs_without_a_traceback(tiny_model: Path, tmp_path: Path) -> None:
    """The installed `smolsight` entry point, as a user runs it."""
    exe = Path(sys.executable).with_name("smolsight")
    image = write_photo(tmp_path / "a.webp")
    done = subprocess.run(
        [str(exe), "describe", str(image), "--model", str(tiny_model), "--max-tokens", "4"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("flags", [["--max-tokens", "-1"], ["--max-tokens", "99999"]])
def test_a_flag_value_out_of_range_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    image = write_photo(tmp_path / "a.png")
    assert main(["describe", str(image), *flags]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "'--max-tokens'" in err and len(err.strip().splitlines()) == 1


def test_a_bad_value_in_the_settings_file_stays_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = write_photo(tmp_path / "a.png")
    settings = tmp_path / "bad.json"
    settings.write_text('{"describe": {"max_tokens": -1}}', encoding="utf-8")
    assert main(["describe", str(image), "--config", str(settings)]) == ExitCode.INPUT
    assert "max_tokens" in capsys.readouterr().err
