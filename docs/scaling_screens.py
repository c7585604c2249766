"""Pictures of every window at 200 % scaling, high contrast and the largest text, for docs/screens/.

    .venv/bin/python docs/scaling_screens.py        # needs Xvfb, openbox, xdotool, xwininfo, ImageMagick

A laptop's 1920×1080 screen at 200 % is a 960×540 logical screen. This starts the real app
on such a screen (Xvfb, openbox framing the windows, QT_SCALE_FACTOR=2) with the high-contrast
theme and 96 pt text, opens each window the way tests/e2e/test_real_window.py does, and saves the
whole screen while each is open. The words come from a random tiny test model (real weights
cannot be downloaded where these pictures are made), so they are noise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desktop import Screen, app_env, close, log_text, tour, wait_for, x_server  # noqa: E402


def main() -> int:
    """Build a tiny model, start the app at 200 %, and save a picture of each window."""
    from app.devtools.model_builder import build_model
    from app.paths import resource_file

    out = ROOT / "docs" / "screens"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        model = build_model(work / "tiny")
        settings = {
            "theme": "high_contrast",
            "caption_font_pt": 96,
            "output": "text",
            "model": str(model),
            "backend": "transformers",
        }
        (work / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
        video = work / "sample.mp4"
        video.write_bytes(resource_file("sample.mp4").read_bytes())
        with x_server(Screen(1920, 1080, 2.0)) as display:
            env = app_env(work, **display)
            env.pop("QT_QPA_PLATFORM", None)
            app = subprocess.Popen(
                [sys.executable, "-m", "app"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                wait_for(lambda: "loaded the model" in log_text(work), "the model to load", app)

                def shoot(name: str) -> None:
                    target = out / f"200pc-high-contrast-96pt-{name}.png"
                    subprocess.run(["import", "-window", "root", str(target)], env=env, check=True)
                    print(target.relative_to(ROOT))

                tour(env, video, shoot)
            finally:
                close(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
