"""The text reader: time per picture and character error rate, beside Tesseract's when installed.

    python benchmarks/reading.py [--threads N] [--runs 5] [--quick] [--json out.json]

Three sets, read with the reader the app uses (PP-OCRv6 small on OpenVINO, `app/reading/reader.py`)
after its warm-up, and by Tesseract (`tesseract` on PATH, Debian's tesseract-ocr; its start-up
counted as a user would see it):

- **screens** (`app/devtools/screen_pictures.py`, drawn by headless Chromium): a lock screen, a
  notification in a corner, an error dialog, a terminal, subtitles, a settings page, a slide, a
  form error, one line on black or white, a toast; 1920×1080 and 2560×1440 at 100/125/150 %,
  light and dark (132 screens; `--quick`: 1920×1080 only). Reports the character error rate,
  how many screens were called black, blank or textless, and the median time per screen size;
- **camera-like** (`app/devtools/text_pictures.py`): nine printed English texts under nine
  degradations (81 pictures), the median of the clean label-sized ones, and the cost the
  reader adds to one live camera description (a 640×480 frame with no text and with a sign);
- **a text-heavy 1080p screenshot**: a document window, the median of `--runs` readings.

Also the reader's start: loading its models and the warm-up reading, and the process's memory
after each step.
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
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np


def tesseract(image: np.ndarray, folder: Path) -> str:
    """Tesseract's reading of one picture (its default page segmentation)."""
    path = folder / "picture.png"
    cv2.imwrite(str(path), image[..., ::-1])
    return subprocess.run(["tesseract", str(path), "-"], capture_output=True, text=True, timeout=120).stdout


def resident_gb() -> float:
    """The resident memory of the process now, in GB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1e6
    return 0.0


def timed(read: Callable[[np.ndarray], str], image: np.ndarray) -> tuple[str, float]:
    t0 = time.perf_counter()
    text = read(image)
    return text, time.perf_counter() - t0


def camera_frame(with_sign: bool) -> np.ndarray:
    """A 640×480 photograph (scikit-image's coffee cup), with a printed sign pasted on or not."""
    from app.paths import resource_file

    image = cv2.cvtColor(cv2.imread(str(resource_file("eval", "coffee.jpg"))), cv2.COLOR_BGR2RGB)
    frame = np.ascontiguousarray(cv2.resize(image, (640, 480), interpolation=cv2.INTER_AREA))
    if with_sign:
        cv2.rectangle(frame, (360, 40), (620, 120), (245, 245, 240), -1)
        cv2.putText(frame, "Platform 4", (378, 95), cv2.FONT_HERSHEY_DUPLEX, 1.2, (20, 20, 20), 2)
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="OpenVINO threads (default: up to 4)")
    parser.add_argument("--runs", type=int, default=5, help="readings of the screenshot (median)")
    parser.add_argument("--quick", action="store_true", help="1920×1080 screens only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from app.devtools.screen_pictures import screens
    from app.devtools.text_pictures import character_error_rate, document_screenshot, text_pictures
    from app.reading.blank import nothing_to_see
    from app.reading.reader import TextReader

    sizes = ((1920, 1080),) if args.quick else ((1920, 1080), (2560, 1440))
    screen_set = list(screens(sizes=sizes))
    pictures = text_pictures()
    document = document_screenshot()
    memory = {"before": round(resident_gb(), 3)}
    reader = TextReader(threads=args.threads)
    started = time.perf_counter()
    reader.warm_up()
    start_s = time.perf_counter() - started
    memory["after_warm_up"] = round(resident_gb(), 3)

    def ours(image: np.ndarray) -> str:
        return reader.read(image).text

    read_screens = [timed(ours, s.image) for s in screen_set]
    memory["after_screens"] = round(resident_gb(), 3)
    frames = [camera_frame(False), camera_frame(True)]
    live = {
        kind: statistics.median(timed(ours, f)[1] for _ in range(5))
        for kind, f in zip(("no text", "sign"), frames, strict=True)
    }
    read_set = [timed(ours, p.image) for p in pictures]
    shots = [timed(ours, document.image) for _ in range(args.runs)]
    memory["after_document"] = round(resident_gb(), 3)

    def figures(
        screen_runs: list[tuple[str, float]],
        set_runs: list[tuple[str, float]],
        shot_runs: list[tuple[str, float]],
    ) -> dict[str, object]:
        by_size = {
            f"{w}x{h}": round(
                statistics.median(
                    s for (_, s), scr in zip(screen_runs, screen_set, strict=True) if f"{w}x{h}" in scr.name
                ),
                3,
            )
            for w, h in sizes
        }
        labels = [s for (_, s), p in zip(set_runs, pictures, strict=True) if p.name.endswith("clean")]
        return {
            "screens_cer": round(
                character_error_rate(
                    [(t, s.truth) for (t, _), s in zip(screen_runs, screen_set, strict=True)]
                ),
                4,
            ),
            "screens_without_text_read": sum(not t.strip() for t, _ in screen_runs),
            "screen_median_s": by_size,
            "camera_set_cer": round(
                character_error_rate([(t, p.truth) for (t, _), p in zip(set_runs, pictures, strict=True)]), 4
            ),
            "label_median_s": round(statistics.median(labels), 3),
            "document_1080p_median_s": round(statistics.median(s for _, s in shot_runs), 3),
            "document_cer": round(character_error_rate([(shot_runs[0][0], document.truth)]), 4),
        }

    result: dict[str, object] = {
        "screens": len(screen_set),
        "screens_called_empty": sum(bool(nothing_to_see(s.image)) for s in screen_set),
        "reader": {
            **figures(read_screens, read_set, shots),
            "start_s": round(start_s, 3),
            "live_camera_frame_s": {k: round(v, 3) for k, v in live.items()},
            "memory_gb": memory,
        },
    }
    if shutil.which("tesseract"):
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)

            def theirs(image: np.ndarray) -> str:
                return tesseract(image, folder)

            result["tesseract"] = figures(
                [timed(theirs, s.image) for s in screen_set],
                [timed(theirs, p.image) for p in pictures],
                [timed(theirs, document.image)],
            )
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
