"""A picture with nothing in it is told apart; a dark but real photograph is not (app/reading/blank.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.reading.blank import BLACK, BLANK, nothing_to_see

SKIMAGE_DATA = Path(pytest.importorskip("skimage").__file__).parent / "data"
PHOTOS = ("astronaut.png", "camera.png", "coffee.png", "chelsea.png", "moon.png", "hubble_deep_field.jpg",
          "rocket.jpg", "text.png", "brick.png", "microaneurysms.png")  # fmt: skip


def flat(value: tuple[int, int, int], noise: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((480, 640, 3), value, np.float32) + rng.normal(0, noise, (480, 640, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("picture", "said"),
    [
        (flat((0, 0, 0), 0.0), BLACK),  # a screen curtain's screenshot
        (flat((3, 3, 3), 6.0), BLACK),  # a covered webcam: sensor noise at high gain
        (flat((14, 12, 16), 3.0), BLACK),  # a dark room, nothing lit
        (flat((128, 128, 128), 6.0), BLANK),  # a grey wall filling the view
        (flat((250, 250, 250), 2.0), BLANK),  # a white page, nothing on it
    ],
)
def test_black_and_one_colour_pictures_are_said_plainly(picture: np.ndarray, said: str) -> None:
    assert nothing_to_see(picture) == said


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("exposure", [1.0, 0.15, 0.06])
def test_a_dark_real_photograph_still_reaches_the_model(name: str, exposure: float) -> None:
    """scikit-image's photographs at 6 % of their exposure (nearly black to the eye), with noise."""
    image = cv2.cvtColor(cv2.imread(str(SKIMAGE_DATA / name), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    rng = np.random.default_rng(1)
    dark = np.clip(image.astype(np.float32) * exposure + rng.normal(0, 2, image.shape), 0, 255)
    assert nothing_to_see(dark.astype(np.uint8)) is None


def test_a_black_screen_with_a_small_window_is_not_blank() -> None:
    screen = np.zeros((1080, 1920, 3), np.uint8)
    screen[400:560, 800:1120] = (230, 230, 230)  # one small lit dialog
    assert nothing_to_see(screen) is None
