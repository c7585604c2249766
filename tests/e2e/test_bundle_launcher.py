"""SmolSight started through an app bundle's launcher, which is not a Python interpreter.

Briefcase's bundles (macOS, Windows) start SmolSight with a program of their own that embeds
Python and runs the app's entry point; `sys.executable` is then that program, and
`sys.executable -m MODULE` would start the app again instead of a helper. The test compiles
such a launcher (C, embedding this Python) and prepares, loads and answers with the CPU engine
through it, on a cache nothing was prepared in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from app.paths import resource_file

pytestmark = pytest.mark.slow  # compiles a program, prepares a model in a helper process

ROOT = Path(__file__).resolve().parents[2]

LAUNCHER = r"""
#include <Python.h>
#include <stdlib.h>

/* Runs `-m app` with the user's arguments, as an app bundle's launcher runs its app. */
int main(int argc, char **argv) {
    char **args = malloc((size_t)(argc + 3) * sizeof(char *));
    if (args == NULL) return 1;
    args[0] = argv[0];
    args[1] = "-m";
    args[2] = "app";
    for (int i = 1; i < argc; i++) args[i + 2] = argv[i];
    args[argc + 2] = NULL;
    return Py_BytesMain(argc + 2, args);
}
"""


def build_launcher(bundle: Path) -> Path:
    """`bundle/bin/SmolSight`, a program embedding this Python; skipped where it can't be built."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    library = sysconfig.get_config_var("LDLIBRARY") or ""
    if sys.platform != "linux" or compiler is None or not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        pytest.skip("needs Linux, a C compiler and a shared libpython")
    libdir = sysconfig.get_config_var("LIBDIR")
    source = bundle / "launcher.c"
    (bundle / "bin").mkdir(parents=True)
    source.write_text(LAUNCHER)
    program = bundle / "bin" / "SmolSight"
    name = library.removeprefix("lib").removesuffix(".so")
    subprocess.run(
        [compiler, "-o", program, source, f"-I{sysconfig.get_paths()['include']}", f"-L{libdir}", f"-l{name}",
         f"-Wl,-rpath,{libdir}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    # Beside the launcher, as in a virtual environment: Python finds its standard library from here.
    (bundle / "pyvenv.cfg").write_text(
        f"home = {Path(sys.base_prefix) / 'bin'}\ninclude-system-site-packages = false\n"
    )
    return program


def test_the_cpu_engine_prepares_and_answers_through_a_launcher_that_is_not_python(
    onnx_model: Path, tmp_path: Path
) -> None:
    program = build_launcher(tmp_path / "bundle")
    site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)]),  # what the bundle would carry inside
        "SMOLSIGHT_CACHE_DIR": str(tmp_path / "cache"),
    }
    probe = subprocess.run(
        [program, "--smolsight-helper", "prepare", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0 and "--onnx" in probe.stdout, probe.stderr  # a helper, through the launcher
    said = {}
    for backend, command in (("openvino", [str(program)]), ("transformers", [sys.executable, "-m", "app"])):
        done = subprocess.run(
            [*command, "describe", str(resource_file("sample.jpg")), "--model", str(onnx_model),
             "--backend", backend, "--max-tokens", "8", "--no-read-text"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        said[backend] = done.stdout
    assert said["openvino"] == said["transformers"] and said["openvino"].strip()
    assert list((tmp_path / "cache").glob("openvino/*/smolsight_openvino.json"))  # prepared just now
