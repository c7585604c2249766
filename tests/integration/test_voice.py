"""The offline voice writes speech that can be mixed (eSpeak NG here; SAPI in the Windows workflow)."""

from __future__ import annotations

import numpy as np
import pytest

from app.video.voice import VoiceError, find_voice
from tests.media import offline_voice


def test_the_offline_voice_says_a_sentence_at_the_pace_asked() -> None:
    voice = offline_voice(180)
    sentence = "A woman in a yellow raincoat crosses the street with a small dog."  # 13 words
    normal = voice.speak(sentence)
    assert 8_000 <= normal.rate <= 48_000 and float(np.abs(normal.samples).max()) > 0.05
    assert 2.0 < normal.seconds < 8.0  # about 4.3 s at 180 words a minute
    fast = find_voice(360)
    assert fast is not None and fast.speak(sentence).seconds < 0.75 * normal.seconds
    quoted = voice.speak('The sign says "Don\'t walk" — and “Café” too.')  # quotes and non-ASCII reach it
    assert quoted.seconds > 1.0


def test_a_voice_that_fails_says_why() -> None:
    from app.video.voice import CommandVoice

    broken = CommandVoice("no such synthesizer", ["/nonexistent/synth", "{text}", "{wav}"])
    with pytest.raises(VoiceError, match="no such synthesizer failed"):
        broken.speak("Hello.")
