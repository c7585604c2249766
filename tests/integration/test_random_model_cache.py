"""A random model built into the user cache by an older SmolSight is built again, never anyone else's."""

from __future__ import annotations

import json
from pathlib import Path

from app.devtools.model_builder import built_by_an_older_builder


def test_only_our_own_older_builds_are_rebuilt(tiny_model: Path, tmp_path: Path) -> None:
    assert not built_by_an_older_builder(tiny_model)  # built now: kept
    old = tmp_path / "old"
    old.mkdir()
    marker = {"built_by": "smolsight", "real_size": True, "seed": 0, "geometry": "500m"}  # no "builder"
    (old / "smolsight_random_model.json").write_text(json.dumps(marker), encoding="utf-8")
    assert built_by_an_older_builder(old)
    foreign = tmp_path / "someone-elses-model"
    foreign.mkdir()
    (foreign / "config.json").write_text("{}", encoding="utf-8")
    assert not built_by_an_older_builder(foreign)  # no marker: never deleted
    (foreign / "smolsight_random_model.json").write_text("{not json", encoding="utf-8")
    assert not built_by_an_older_builder(foreign)
