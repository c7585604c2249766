"""Render SmolSight's icon from its SVG into the sizes desktops use (PNG, ICO, ICNS).

    python -m app.devtools.icons

Writes `resources/icons/smolsight-<size>.png` for the freedesktop hicolor sizes, plus
`smolsight.ico` (Windows) and `smolsight.icns` (macOS) for the app bundles. The outputs are
committed; run this again only when the SVG changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, out_dir: Path) -> list[Path]:
    """Render every size of `svg` into `out_dir`; return the files written."""
    from PIL import Image
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["icons"])
    renderer = QSvgRenderer(str(svg))
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        path = out_dir / f"smolsight-{size}.png"
        image.save(str(path))
        written.append(path)
    largest = Image.open(out_dir / "smolsight-512.png")
    largest.save(out_dir / "smolsight.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    largest.save(out_dir / "smolsight.icns")
    return [*written, out_dir / "smolsight.ico", out_dir / "smolsight.icns"]


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "resources/icons")
    for path in render(folder / "smolsight.svg", folder):
        print(path)
