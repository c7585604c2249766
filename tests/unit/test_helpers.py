"""How SmolSight starts its helper processes, from an interpreter and from an app bundle's launcher."""

from __future__ import annotations

import pytest

from app.helpers import HELPERS, LAUNCHER_FLAG, helper_command, is_python, run_helper


@pytest.mark.parametrize("name", ["python", "python3", "python3.12", "pythonw.exe", "pypy3", "Python.exe"])
def test_interpreters_are_told_from_launchers(name: str) -> None:
    assert is_python(f"/usr/bin/{name}")


@pytest.mark.parametrize("name", ["SmolSight", "SmolSight.exe", "smolsight-app", "app"])
def test_a_bundle_launcher_is_not_an_interpreter(name: str) -> None:
    assert not is_python(f"/Applications/SmolSight.app/Contents/MacOS/{name}")


def test_every_helper_runs_as_a_module_from_an_interpreter_and_by_name_through_a_launcher() -> None:
    for name, (module, _) in HELPERS.items():
        assert helper_command(name, "--x", executable="/venv/bin/python3")[1:] == ["-m", module, "--x"]
        launcher = "/Applications/SmolSight.app/Contents/MacOS/SmolSight"
        assert helper_command(name, "--x", executable=launcher) == [launcher, LAUNCHER_FLAG, name, "--x"]


def test_an_unknown_helper_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_helper(["something-else"]) == 2
    assert "takes one of: prepare, speech, measure" in capsys.readouterr().err
