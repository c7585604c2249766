"""An offline voice that writes speech to audio, for audio descriptions mixed into a video.

Live narration speaks through Qt's engines, which play sound but cannot write it. Here each
platform's own offline synthesizer writes a WAV file: eSpeak NG on Linux (`espeak-ng`, or the
older `espeak`), `say` on macOS, the System.Speech synthesizer (SAPI) through PowerShell on
Windows. None of them needs a network or a download. Where none is found, `find_voice` returns
None and callers say so in one line: the WebVTT descriptions track needs no voice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

DEFAULT_WPM = 180  # words per minute: describers' usual pace, a little under conversation
MIN_WPM, MAX_WPM = 80, 400
SPEAK_TIMEOUT_S = 60.0

NO_VOICE = "no offline voice that can write audio was found on this computer " + {
    "linux": "(install espeak-ng, e.g. `sudo apt install espeak-ng`)",
    "darwin": "(macOS's `say` is missing)",
    "win32": "(Windows PowerShell's speech synthesizer is missing)",
}.get(sys.platform, "")


class VoiceError(Exception):
    """The voice failed on a text (the message says why)."""


@dataclass(frozen=True)
class Speech:
    """Spoken text as mono float32 samples."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        """How long it takes to say."""
        return len(self.samples) / self.rate


class Voice(Protocol):
    """Something that turns text into speech samples, offline."""

    name: str

    def speak(self, text: str) -> Speech:
        """The text spoken (raises VoiceError)."""
        ...


def read_wav(path: Path) -> Speech:
    """A 16-bit PCM WAV file as mono float32."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise VoiceError(f"the voice wrote {8 * width}-bit audio; 16-bit was asked for")
    samples = np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return Speech(samples, rate)


def trim_silence(speech: Speech, floor: float = 0.003) -> Speech:
    """Without the silence synthesizers put before and after (it would waste a pause's time)."""
    loud = np.flatnonzero(np.abs(speech.samples) > floor)
    if not len(loud):
        return speech
    pad = int(0.02 * speech.rate)
    return Speech(speech.samples[max(0, loud[0] - pad) : loud[-1] + pad + 1], speech.rate)


class CommandVoice:
    """A synthesizer run as a command that reads the text from a file and writes a WAV file."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        self._command = command  # with {text} and {wav} standing for the two files

    def speak(self, text: str) -> Speech:
        """Run the synthesizer on `text`; raises VoiceError when it fails or writes nothing."""
        with tempfile.TemporaryDirectory(prefix="smolsight-voice-") as tmp:
            text_file, wav_file = Path(tmp, "text.txt"), Path(tmp, "speech.wav")
            text_file.write_text(text, encoding="utf-8")
            cmd = [part.format(text=text_file, wav=wav_file) for part in self._command]
            # The files are named in the environment too, for scripts that can't take arguments.
            env = dict(os.environ, SMOLSIGHT_VOICE_TEXT=str(text_file), SMOLSIGHT_VOICE_WAV=str(wav_file))
            try:
                done = subprocess.run(cmd, capture_output=True, timeout=SPEAK_TIMEOUT_S, check=False, env=env)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise VoiceError(f"{self.name} failed: {exc}") from exc
            if done.returncode or not wav_file.exists():
                said = done.stderr.decode(errors="replace").strip()[:200]
                raise VoiceError(f"{self.name} failed (exit {done.returncode}): {said}")
            try:
                return trim_silence(read_wav(wav_file))
            except (wave.Error, EOFError) as exc:
                raise VoiceError(f"{self.name} wrote audio that can't be read: {exc}") from exc


def _sapi_rate(wpm: int) -> int:
    """SAPI's -10..10 rate scale for words per minute (0 is about 180)."""
    return max(-10, min(10, round((wpm - 180) / 18)))


def find_voice(wpm: int = DEFAULT_WPM, language: str = "en") -> Voice | None:
    """The offline voice of this platform at `wpm` words per minute, or None when there is none."""
    wpm = max(MIN_WPM, min(MAX_WPM, int(wpm)))
    if sys.platform == "darwin":
        say = shutil.which("say")
        if say:
            fmt = ["--file-format=WAVE", "--data-format=LEI16@22050"]
            return CommandVoice("macOS say", [say, "-r", str(wpm), *fmt, "-o", "{wav}", "-f", "{text}"])
        return None
    if sys.platform == "win32":
        shell = shutil.which("powershell") or shutil.which("pwsh")
        if not shell:
            return None
        script = (
            "Add-Type -AssemblyName System.Speech; "
            "$s = New-Object System.Speech.Synthesis.SpeechSynthesizer; "
            f"$s.Rate = {_sapi_rate(wpm)}; "
            "$s.SetOutputToWaveFile($env:SMOLSIGHT_VOICE_WAV); "
            "$s.Speak([IO.File]::ReadAllText($env:SMOLSIGHT_VOICE_TEXT, [Text.Encoding]::UTF8)); "
            "$s.Dispose()"
        )
        return CommandVoice(
            "Windows speech synthesizer", [shell, "-NoProfile", "-NonInteractive", "-Command", script]
        )
    for program in ("espeak-ng", "espeak"):
        found = shutil.which(program)
        if found:
            voice = os.environ.get("SMOLSIGHT_ESPEAK_VOICE", language)
            return CommandVoice(program, [found, "-v", voice, "-s", str(wpm), "-w", "{wav}", "-f", "{text}"])
    return None
