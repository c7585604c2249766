"""The screen readers' own channels at their boundary: NVDA and JAWS through a fake Prism.

NVDA's controller client and JAWS's API exist only on Windows; here Prism's Python API is the
boundary, faked with what it does (`tests/screen_readers.py`). The Windows workflow
(.github/workflows/windows.yml) also runs the last test against the real Prism.
"""

from __future__ import annotations

import sys

import pytest

from app.speech.screen_readers import (
    PrismChannel,
    ScreenReaderGone,
    first_sentence,
    prism_channels,
    system_screen_readers,
)
from tests.screen_readers import FakePrism


def first_running(channels: list[PrismChannel]) -> PrismChannel | None:
    return next((c for c in channels if c.running()), None)


def test_the_braille_flash_is_the_first_sentence_cut_at_a_word() -> None:
    assert first_sentence("A red car is parked. A man walks past it.") == "A red car is parked."
    assert first_sentence("Exit sign! Stairs go down.") == "Exit sign!"
    assert first_sentence("“Open 9 to 5.” Below it, a bell.") == "“Open 9 to 5.”"
    assert first_sentence("no full stop at all") == "no full stop at all"
    long = "A kitchen with " + "a very long counter, " * 10 + "and a window."
    short = first_sentence(long, limit=60)
    assert len(short) <= 61 and short.endswith("…") and long.startswith(short[:-1])
    assert not short[:-1].endswith((" ", ","))


def test_nvda_gets_the_short_form_in_braille_then_the_whole_text_in_speech() -> None:
    prism = FakePrism(running={"nvda"})
    channel = first_running(prism_channels(prism, "win32"))  # type: ignore[arg-type]
    assert channel is not None and channel.name == "NVDA"
    text = "A desk with a laptop. Beside it, a mug that says “Monday”."
    channel.present(text, first_sentence(text), interrupt=True)
    calls = prism.context.backends["nvda"].calls
    # Braille first: in "braille follows speech" mode the speech that follows replaces the flash.
    assert calls == [("braille", "A desk with a laptop."), ("speak", text, True)]
    channel.present("A quiet room.", "A quiet room.", interrupt=False)
    assert calls[-1] == ("speak", "A quiet room.", False)
    channel.cancel()
    assert calls[-1] == ("stop",)


def test_jaws_is_used_when_nvda_is_not_running() -> None:
    prism = FakePrism(running={"jaws"})
    channels = prism_channels(prism, "win32")
    assert [c.name for c in channels] == ["NVDA", "JAWS"]
    channel = first_running(channels)  # type: ignore[arg-type]
    assert channel is not None and channel.name == "JAWS"
    channel.present("Two people at a table.", "Two people at a table.", interrupt=False)
    assert prism.context.backends["jaws"].calls[-1] == ("speak", "Two people at a table.", False)


def test_a_screen_reader_that_is_not_running_or_goes_away_refuses_the_text() -> None:
    prism = FakePrism(running=set())
    channels = prism_channels(prism, "win32")
    assert first_running(channels) is None  # type: ignore[arg-type]
    with pytest.raises(ScreenReaderGone, match="NVDA is not running"):
        channels[0].present("A door.", "A door.", interrupt=True)
    prism.context.running.add("nvda")
    nvda = channels[0]
    assert nvda.running()
    prism.context.backends["nvda"].fails = True  # NVDA quit between two descriptions
    with pytest.raises(ScreenReaderGone, match="NVDA did not take the text"):
        nvda.present("A door.", "A door.", interrupt=True)


def test_voiceover_on_macos_and_orca_on_linux() -> None:
    assert [c.name for c in prism_channels(FakePrism(running=set()), "darwin")] == ["VoiceOver"]
    assert [c.name for c in system_screen_readers("linux")] == ["Orca"]


@pytest.mark.skipif(sys.platform != "win32", reason="Prism's NVDA and JAWS backends are Windows's")
def test_the_real_prism_finds_no_screen_reader_on_a_machine_without_one() -> None:  # pragma: no cover
    channels = system_screen_readers()
    assert [c.name for c in channels] == ["NVDA", "JAWS"]
    assert not any(c.running() for c in channels)  # the CI runner has neither
