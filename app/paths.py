"""Where SmolSight's own files are: resources shipped in the package, and per-user folders."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

APP_NAME = "SmolSight"
APP_ID = "io.github.smolsight.SmolSight"  # reverse-DNS id: desktop file, icons, bundle identifier
CACHE_ENV = "SMOLSIGHT_CACHE_DIR"  # a cache folder to use instead of the per-user one


def resource_file(*parts: str) -> Path:
    """A file shipped with SmolSight (`resources/` in the source tree, `app.resources` installed).

    Installed (and editable) copies find it as the package `app.resources`; an app bundle that
    copies `app/` and `resources/` side by side (Briefcase's `sources`) finds it beside `app/`.
    """
    try:
        return Path(str(files("app.resources").joinpath(*parts)))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent.joinpath("resources", *parts)


def icon_files() -> dict[int, Path]:
    """The app icon in every size shipped (PNG `smolsight-<size>.png`), by size, smallest first."""
    found = {int(p.stem.split("-")[1]): p for p in resource_file("icons").glob("smolsight-*.png")}
    return dict(sorted(found.items()))


def user_cache_dir() -> Path:
    """SmolSight's per-user cache folder (converted models), or $SMOLSIGHT_CACHE_DIR."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir as cache_dir

    return Path(cache_dir(APP_NAME, appauthor=False))
