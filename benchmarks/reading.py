"""The text reader: time per picture and character error rate, beside Tesseract's when installed.

    python benchmarks/reading.py [--threads N] [--runs 5] [--json out.json]

Reads the camera-like test set (`app/devtools/text_pictures.py`: nine printed English texts
under nine degradations, 81 pictures) and a 1920×1080 screenshot of a text-heavy window, with
the reader the app uses (PP-OCRv6 small on OpenVINO, `app/reading/reader.py`), after one
warm-up reading. Reports the median time of the clean label-sized pictures (about 170×300 to
170×640 px), the median of `--runs` readings of the screenshot, and the character error rate
over the whole set and on the screenshot; then the same for Tesseract (`tesseract` on PATH,
Debian's tesseract-ocr) run on the same pictures, its start-up included as a user would see it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def tesseract(image: np.ndarray, folder: Path) -> str:
    """Tesseract's reading of one picture (its default page segmentation)."""
    path = folder / "picture.png"
    cv2.imwrite(str(path), image[..., ::-1])
    return subprocess.run(["tesseract", str(path), "-"], capture_output=True, text=True, timeout=120).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="OpenVINO threads (default: up to 4)")
    parser.add_argument("--runs", type=int, default=5, help="readings of the screenshot (median)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from app.devtools.text_pictures import character_error_rate, document_screenshot, text_pictures
    from app.reading.reader import TextReader

    pictures = text_pictures()
    screen = document_screenshot()
    reader = TextReader(threads=args.threads)
    started = time.perf_counter()
    reader.read(pictures[0].image)
    first = time.perf_counter() - started

    def timed(read: object, image: np.ndarray) -> tuple[str, float]:
        t0 = time.perf_counter()
        text = read(image)  # type: ignore[operator]
        return text, time.perf_counter() - t0

    ours = [timed(lambda im: reader.read(im).text, p.image) for p in pictures]
    labels = [seconds for (_, seconds), p in zip(ours, pictures, strict=True) if p.name.endswith("clean")]
    shots = [timed(lambda im: reader.read(im).text, screen.image) for _ in range(args.runs)]
    result: dict[str, object] = {
        "pictures": len(pictures),
        "reader": {
            "first_reading_s": round(first, 3),
            "label_median_s": round(statistics.median(labels), 3),
            "screenshot_1080p_median_s": round(statistics.median(s for _, s in shots), 3),
            "cer_set": round(
                character_error_rate([(t, p.truth) for (t, _), p in zip(ours, pictures, strict=True)]), 4
            ),
            "cer_screenshot": round(character_error_rate([(shots[0][0], screen.truth)]), 4),
        },
    }
    if shutil.which("tesseract"):
        with tempfile.TemporaryDirectory() as folder:
            theirs = [timed(lambda im: tesseract(im, Path(folder)), p.image) for p in pictures]
            shot = timed(lambda im: tesseract(im, Path(folder)), screen.image)
        t_labels = [s for (_, s), p in zip(theirs, pictures, strict=True) if p.name.endswith("clean")]
        result["tesseract"] = {
            "label_median_s": round(statistics.median(t_labels), 3),
            "screenshot_1080p_s": round(shot[1], 3),
            "cer_set": round(
                character_error_rate([(t, p.truth) for (t, _), p in zip(theirs, pictures, strict=True)]), 4
            ),
            "cer_screenshot": round(character_error_rate([(shot[0], screen.truth)]), 4),
        }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
