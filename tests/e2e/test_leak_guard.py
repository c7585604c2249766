"""The thread-leak guard itself: it must fail a test that leaves a thread or a QThread running."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LEAKY = """
import subprocess
import sys
import threading
import time

from PySide6.QtCore import QThread


def test_leaves_a_daemon_thread() -> None:
    threading.Thread(target=time.sleep, args=(30,), name="smolsight-leak", daemon=True).start()


class Sleeper(QThread):
    def run(self) -> None:
        self.msleep(5000)


KEEP = []


def test_leaves_a_qthread() -> None:
    thread = Sleeper()
    thread.setObjectName("smolsight-qleak")
    KEEP.append(thread)
    thread.start()


def test_a_thread_that_ends_in_time_is_fine() -> None:
    threading.Thread(target=time.sleep, args=(0.2,), name="smolsight-short").start()


def test_leaves_a_process() -> None:
    KEEP.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(6)"]))


def test_a_process_that_ends_is_fine() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)
"""


@pytest.mark.slow  # a pytest run in a child process (about 10 s here)
def test_the_guard_fails_leaking_tests_and_passes_clean_ones(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest_subprocess("-p", "tests.leak_guard", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=5, errors=3)  # the leaking three pass, then fail in teardown
    result.stdout.fnmatch_lines(["*left these running: thread 'smolsight-leak'*"])
    result.stdout.fnmatch_lines(["*left these running: QThread 'smolsight-qleak'*"])
    result.stdout.fnmatch_lines(["*left these running: process '*time.sleep(6)*"])
