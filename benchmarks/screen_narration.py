"""Narrating the screen: the cost of one capture at 1 FPS, and the delay from a change to its description.

    python benchmarks/screen_narration.py [--model DIR] [--backend auto] [--changes 5]
    xvfb-run -s "-screen 0 1920x1080x24" python benchmarks/screen_narration.py   # without a desktop

Needs an X display (or Windows/macOS). Part 1 captures the whole screen with the screen
source (mss) at 1 picture a second for `--seconds` and reports the time per capture and the
process's CPU share for it. Part 2 runs live narration of the screen (`LiveSession`, the same
buffer, change gate and narrator as the app) while this script's own full-screen window
switches between the sample photographs every few seconds, and reports, for each switch, the
time until the description of the new picture arrived. Without `--model` the tiny test model
is used, so part 2 measures the pipeline (capture, 1 FPS buffer, change gate, queue) plus a
near-instant model; add the engine's own time for a live description from `smolsight bench`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil


def capture_cost(seconds: float) -> dict[str, float]:
    """Capture the screen once a second for `seconds`: time per capture and CPU share."""
    from app.capture.screen import ScreenSource

    source = ScreenSource(fps=1.0)
    process = psutil.Process()
    cpu_before = sum(process.cpu_times()[:2])
    started = time.monotonic()
    source.start()
    time.sleep(seconds)
    source.stop()
    wall = time.monotonic() - started
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    frame, _ = source.latest.get()
    height, width = frame.image.shape[:2] if frame is not None else (0, 0)
    return {
        "captures": source.captures,
        "width": width,
        "height": height,
        "ms_per_capture": 1000 * source.capture_s / max(1, source.captures),
        "cpu_share": cpu / wall,
    }


def change_latency(model: str, backend: str, changes: int) -> dict[str, object]:
    """Switch a full-screen picture `changes` times; seconds from each switch to its description."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPixmap
    from PySide6.QtWidgets import QApplication, QLabel

    from app.capture.media import sample_video
    from app.capture.screen import ScreenSource
    from app.capture.sources import SAMPLE_VIDEO
    from app.config import EngineSettings, Settings
    from app.inference.factory import backend_factory
    from app.inference.model_thread import ModelThread
    from app.live.session import LiveSession, NarrationEvent

    app = QApplication.instance() or QApplication(sys.argv[:1])
    scenes = [np.ascontiguousarray(f.image) for f in sample_video(SAMPLE_VIDEO, fps=1 / 6, max_frames=5)]
    shown = QLabel()
    shown.setAlignment(Qt.AlignmentFlag.AlignCenter)
    shown.setStyleSheet("background: black")
    shown.setGeometry(shown.screen().geometry())  # the whole screen, with or without a window manager
    shown.show()

    def show(index: int) -> None:
        image = scenes[index % len(scenes)]
        h, w = image.shape[:2]
        picture = QImage(image.data, w, h, image.strides[0], QImage.Format.Format_RGB888)
        size = shown.screen().size()
        shown.setPixmap(QPixmap.fromImage(picture).scaled(size, Qt.AspectRatioMode.KeepAspectRatio))

    model_thread = ModelThread(backend_factory(EngineSettings(backend=backend, model=model)))
    session = LiveSession(model_thread, Settings().changed("narration", interval_s=0.5, buffer_fps=1.0))
    events: list[tuple[float, NarrationEvent]] = []
    session.narration.connect(lambda event: events.append((time.monotonic(), event)))
    session.start()
    info = model_thread.wait_ready()
    show(0)
    session.set_source(ScreenSource(fps=2.0))

    def run_until(deadline: float, done: object = None) -> None:
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    run_until(time.monotonic() + 6)  # the first picture is described; narration settles
    delays = []
    for change in range(1, changes + 1):
        before = len(events)
        show(change)
        switched = time.monotonic()
        deadline = switched + 30
        while time.monotonic() < deadline and len(events) == before:
            app.processEvents()
            time.sleep(0.005)
        # The first description after the switch (said, or held back as a repeat by a random model).
        arrived = events[before][0] if len(events) > before else None
        if arrived is not None:
            delays.append(arrived - switched)
        run_until(time.monotonic() + 3)
    session.shutdown()
    shown.close()
    return {
        "backend": info.backend,
        "model": model,
        "changes": changes,
        "described": len(delays),
        "seconds_to_description": delays,
        "median_s": statistics.median(delays) if delays else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the tiny test model, built now)")
    parser.add_argument("--backend", default="transformers")
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long part 1 captures")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from app.capture.screen import screen_problem

    problem = screen_problem()
    if problem:
        print(f"screen_narration: {problem}", file=sys.stderr)
        return 1
    cost = capture_cost(args.seconds)
    print(
        f"capture at 1 FPS: {cost['captures']:.0f} captures of {cost['width']:.0f}×{cost['height']:.0f}, "
        f"{cost['ms_per_capture']:.1f} ms each, {cost['cpu_share']:.1%} of one core"
    )
    with tempfile.TemporaryDirectory() as folder:
        model = args.model
        if model is None:
            from app.devtools.model_builder import build_model

            model = str(build_model(Path(folder) / "tiny"))
        latency = change_latency(model, args.backend, args.changes)
    delays = latency["seconds_to_description"]
    assert isinstance(delays, list)
    print(
        f"screen change → description ({latency['backend']}, {Path(str(model)).name}): "
        + ", ".join(f"{d:.2f}" for d in delays)
        + f" s; median {latency['median_s']:.2f} s"
        if delays
        else "no change was described"
    )
    if args.json:
        args.json.write_text(json.dumps({"capture": cost, "change": latency}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
