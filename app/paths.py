"""Where SmolSight's own files are: resources shipped in the package, and per-user folders."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

APP_NAME = "SmolSight"
CACHE_ENV = "SMOLSIGHT_CACHE_DIR"  # a cache folder to use instead of the per-user one


def resource_file(*parts: str) -> Path:
    """A file shipped with SmolSight (`resources/` in the source tree, `app.resources` installed)."""
    return Path(str(files("app.resources").joinpath(*parts)))


def user_cache_dir() -> Path:
    """SmolSight's per-user cache folder (converted models), or $SMOLSIGHT_CACHE_DIR."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir as cache_dir

    return Path(cache_dir(APP_NAME, appauthor=False))
