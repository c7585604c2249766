"""A picture with nothing in it: answered at once, in a plain sentence, never sent to the model.

A covered camera, a dark room, a screen that is off, locked or hidden by a screen curtain (NVDA's
add-on sends a black screenshot then): a vision-language model asked about such a picture
invents a scene with full confidence. So a picture that is black, nearly black or one even
colour is told apart first, in two steps:

1. from its luminance shrunk to 64 pixels across (the averaging removes sensor noise):
   **uniform** when the 1st and 99th percentiles lie within `FLAT_SPREAD` levels of each other,
   **nearly black** when the 99.5th percentile is at most `DARKEST_VISIBLE` of 255;
2. then, at full resolution, whether anything at all is drawn on it (`something_drawn`): a line
   of text, an icon, a cursor, a notification in a corner is a few pixels of the thumbnail and
   vanishes in its percentiles, but its edges stand far above sensor noise. Only a picture
   with nothing drawn anywhere is "nothing to see".

Measured (`docs/reading.md`) on scikit-image's photographs darkened to 6 % and 15 % of their
exposure, with sensor noise: the darkest real photograph spreads over 4 levels with its
brightest parts at 7 or more; flat pictures with noise of 6 levels spread over at most 1. On
the screen set (`app/devtools/screen_pictures.py`) the sparsest screen (one 18 px line on white)
has 1968 pixels of edge above `DRAWN`; flat pictures with sensor noise up to 8 levels, none.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.reading.regions import edge_map, luminance

SIDE = 64  # pixels across after shrinking
FLAT_SPREAD = 2.0  # p99 − p1 of the shrunk luminance, in levels of 255
DARKEST_VISIBLE = 5.0  # p99.5 at or below this: nothing visible
DARK_MEAN = 24.0  # a uniform picture darker than this is "black"
DRAWN = 24  # an edge, after a 3×3 average: sensor noise stays under it, any drawn stroke above
DRAWN_PIXELS = 40  # this many edge pixels make "something" (a lone hot pixel makes about 25)

BLACK = "Black screen: nothing to see. The camera may be covered, the room dark, or the screen off or hidden."
BLANK = "Blank picture: one even colour, nothing else in it."


def luminance_64(rgb: np.ndarray) -> np.ndarray:
    """The picture's luminance, shrunk by area averaging to at most 64 pixels across."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 and rgb.shape[2] == 3 else rgb
    if grey.ndim == 3:
        grey = grey[..., 0]
    height, width = grey.shape[:2]
    scale = min(1.0, SIDE / max(height, width, 1))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small: np.ndarray = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return small


def something_drawn(rgb: np.ndarray) -> bool:
    """Whether anything is drawn anywhere on the picture, at full resolution (module docs, step 2)."""
    soft = cv2.blur(luminance(rgb), (3, 3))
    return int(np.count_nonzero(edge_map(soft) > DRAWN)) >= DRAWN_PIXELS


def nothing_to_see(rgb: np.ndarray) -> str | None:
    """The sentence for a black, nearly black or one-colour picture; None for anything else."""
    small = luminance_64(rgb)
    low, high, top = np.percentile(small, (1, 99, 99.5))
    if top <= DARKEST_VISIBLE:
        said = BLACK
    elif high - low <= FLAT_SPREAD:
        said = BLACK if float(small.mean()) < DARK_MEAN else BLANK
    else:
        return None
    return None if something_drawn(rgb) else said
