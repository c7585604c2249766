"""Reading images and videos written by OpenCV: sampling times and bounded frame counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.capture.media import MediaError, load_media, probe_video, sample_video
from tests.media import write_photo, write_video


def test_samples_one_frame_per_second_with_true_timestamps(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [((255, 0, 0), 3.0), ((0, 0, 255), 3.0)], fps=10)
    info = probe_video(video)
    assert info.fps == pytest.approx(10) and info.duration == pytest.approx(6.0)
    frames = sample_video(video, fps=1.0)
    assert [round(f.timestamp, 1) for f in frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert frames[0].image[0, 0, 0] > 200 and frames[-1].image[0, 0, 2] > 200  # red, then blue (RGB)


def test_long_videos_are_spread_over_at_most_max_frames(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [((9, 9, 9), 20.0)], fps=5, moving_square=False)
    frames = sample_video(video, fps=1.0, max_frames=5)
    assert len(frames) == 5
    assert frames[0].timestamp == 0.0 and frames[-1].timestamp >= 18.0


def test_range_selection(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", [((9, 9, 9), 10.0)], fps=10, moving_square=False)
    frames = sample_video(video, fps=1.0, start_s=4.0, end_s=7.0)
    assert [round(f.timestamp) for f in frames] == [4, 5, 6, 7]


def test_image_is_one_frame(tmp_path: Path) -> None:
    frames = load_media(write_photo(tmp_path / "p.png"), fps=1.0, max_frames=16)
    assert len(frames) == 1 and frames[0].image.shape == (480, 640, 3)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="is a folder"):
        load_media(tmp_path, fps=1.0, max_frames=16)
