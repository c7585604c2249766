"""Where a picture has something drawn: the regions the text reader reads at their own size.

A screen is mostly flat colour with text and controls here and there. PP-OCR's detector sees a
whole 1920×1080 or 2560×1440 screen shrunk to its working size, where 12–16 px interface text
is too small to find (a "Battery low" notification in a corner, a red "Password incorrect"
line); cropped out, the same text reads perfectly. So the reader reads the regions where the
picture has edges, each at its own resolution:

1. the morphological gradient (a pixel's 3×3 neighbourhood's brightest minus darkest) marks
   every edge of text, icons and frames; anti-aliased text on a flat background is far above
   `EDGE` (sensor noise in a camera picture is not what this is for: pictures that small are
   read whole);
2. the edges are joined into blocks by a dilation wider than a word gap;
3. the blocks' boxes, each with a margin, are merged where they overlap or sit side by side on
   one row closer than their height (a large clock's digits, a slide title's words), so no two
   regions overlap and no text is read twice.

The same edge measure, at full resolution, tells a picture with a single line of text from an
empty one (`app.reading.blank`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

EDGE = 40  # a 3×3 neighbourhood's spread, in levels of 255, that counts as an edge
JOIN = (9, 25)  # the dilation (rows, columns) that joins letters and words into blocks
MARGIN = 8  # pixels around each block: the detector needs some background around text
SMALLEST = 8  # blocks narrower or lower than this (a speck, a one-pixel rule) are not read
BAND = 512  # a taller region is cut at its empty rows into bands about this tall (see `_bands`)
LINES_ACROSS = 12  # edge pixels in a row that is still empty: a frame's sides cross it, no text
GAP_ROWS = 5  # a cut goes only through the middle of this many empty rows (a line's first row
# of pixels can be nearly empty: only the tops of its tall letters)


@dataclass(frozen=True)
class Box:
    """A region of the picture: left, top (inclusive), right, bottom (exclusive), in pixels."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """How wide it is."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """How tall it is."""
        return self.bottom - self.top


def luminance(rgb: np.ndarray) -> np.ndarray:
    """The picture as one channel of brightness (uint8)."""
    if rgb.ndim == 2:
        return rgb
    if rgb.shape[2] == 1:
        return rgb[..., 0]
    grey: np.ndarray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
    return grey


def edge_map(grey: np.ndarray) -> np.ndarray:
    """Each pixel's 3×3 neighbourhood spread (brightest minus darkest), uint8."""
    spread: np.ndarray = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    return spread


def _joined(boxes: list[list[int]]) -> list[list[int]]:
    """Boxes merged where they overlap, or sit side by side on one row closer than their height."""
    changed = True
    while changed:
        changed = False
        merged: list[list[int]] = []
        for box in sorted(boxes):
            for other in merged:
                gap = max(other[0], box[0]) - min(other[2], box[2])
                gap_v = max(other[1], box[1]) - min(other[3], box[3])
                shared_v = min(other[3], box[3]) - max(other[1], box[1])
                tallest = max(other[3] - other[1], box[3] - box[1])
                shortest = min(other[3] - other[1], box[3] - box[1])
                overlapping = gap <= 0 and gap_v <= 0
                one_row = gap < 0.9 * tallest and shared_v > 0.5 * shortest
                if overlapping or one_row:
                    other[:] = [
                        min(other[0], box[0]),
                        min(other[1], box[1]),
                        max(other[2], box[2]),
                        max(other[3], box[3]),
                    ]
                    changed = True
                    break
            else:
                merged.append(list(box))
        boxes = merged
    return boxes


def text_regions(rgb: np.ndarray) -> list[Box]:
    """The regions of `rgb` that hold anything drawn (text, icons, frames), top to bottom."""
    grey = luminance(rgb)
    height, width = grey.shape[:2]
    marked = (edge_map(grey) > EDGE).astype(np.uint8)
    blocks = cv2.dilate(marked, np.ones(JOIN, np.uint8))
    count, _labels, stats, _centres = cv2.connectedComponentsWithStats(blocks, connectivity=8)
    boxes = [  # with their margin first, so that no two regions overlap once joined
        [max(0, x - MARGIN), max(0, y - MARGIN), min(width, x + w + MARGIN), min(height, y + h + MARGIN)]
        for x, y, w, h, _area in stats[1:count]
        if w >= SMALLEST and h >= SMALLEST
    ]
    found = [band for box in _joined(boxes) for band in _bands(Box(*box), marked)]
    return sorted(found, key=lambda box: (box.top, box.left))


def _bands(box: Box, marked: np.ndarray) -> list[Box]:
    """A tall region cut at rows with no text across it, into bands of about `BAND` pixels.

    No line of text crosses an empty row, so nothing is cut in two; the detector then never
    sees more than a band at a time, which bounds its memory (a full 1080p page of text as one
    region took 0.6 GB more).
    """
    if box.height <= BAND:
        return [box]
    edges_per_row = marked[box.top : box.bottom, box.left : box.right].sum(axis=1)
    quiet = np.convolve(edges_per_row <= LINES_ACROSS, np.ones(GAP_ROWS), mode="same") >= GAP_ROWS
    empty = np.flatnonzero(quiet) + box.top  # the middles of runs of `GAP_ROWS` empty rows
    bands, top = [], box.top
    while box.bottom - top > BAND:
        cuts = empty[(empty > top + BAND // 2) & (empty <= top + BAND)]
        if cuts.size == 0:
            break
        cut = int(cuts[-1])
        bands.append(Box(box.left, top, box.right, cut))
        top = cut
    bands.append(Box(box.left, top, box.right, box.bottom))
    return bands
