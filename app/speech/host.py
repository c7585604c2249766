"""The speech engine in a process of its own, so an engine that hangs can never stall SmolSight.

Speech engines are devices that can block forever: QTextToSpeech's speech-dispatcher engine
waits without end for a daemon that has no audio output, inside its constructor and inside
`say()`, and it does so holding Python's GIL, which freezes every thread of the process that
called it. So SmolSight never calls an engine itself. `Speaker` (`app/speech/speaker.py`) runs
this module as a child process, sends it one JSON command per line on stdin and reads one JSON
event per line on stdout; when an answer is late it ends the process and carries on without it.

Commands: `{"id": N, "do": "say"|"stop"|"rate"|"volume"|"voice"|"quit", ...}`, each answered
with `{"ack": N}` once done. Events: `hello` (the engines installed, before one is created),
`ready` (the engine, its voices) or `failed` (why it can't speak), and `state` (speaking,
ready, paused, error) as the engine reports it.

Run as `python -m app.speech.host [--engine NAME] [--parent PID]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence

# Qt's mock engine speaks nothing: it is used only when asked for by name (tests).
SILENT_ENGINES = ("mock",)


def emit(event: dict[str, object]) -> None:
    """Write one event line for the parent."""
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def die_with_parent(parent: int | None) -> None:
    """On Linux, have the kernel end this process when SmolSight ends, even if it crashed."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:  # the parent ended before prctl took effect
        os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Create the engine, then run commands from stdin until `quit` or the end of stdin."""
    parser = argparse.ArgumentParser(prog="smolsight speech helper")
    parser.add_argument("--engine", default="", help="QTextToSpeech engine name (default: the system's)")
    parser.add_argument("--parent", type=int, default=None, help="the parent's process id")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)

    from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot
    from PySide6.QtTextToSpeech import QTextToSpeech

    app = QCoreApplication.instance() or QCoreApplication([sys.argv[0]])
    engines = [str(name) for name in QTextToSpeech.availableEngines()]
    emit({"event": "hello", "engines": engines})
    if args.engine and args.engine not in engines:
        emit({"event": "failed", "reason": f"the speech engine '{args.engine}' is not installed"})
        return 0
    # The call that may never return (speech-dispatcher without audio): the parent's clock runs.
    tts = QTextToSpeech(args.engine, None) if args.engine else QTextToSpeech(None)
    if not args.engine and tts.engine() in SILENT_ENGINES:
        emit({"event": "failed", "reason": "no speech engine is installed"})
        return 0
    reason = tts.errorReason()
    if tts.state() == QTextToSpeech.State.Error and reason != QTextToSpeech.ErrorReason.Configuration:
        # A configuration error (no voice for this locale) still speaks; anything else can't.
        emit({"event": "failed", "reason": tts.errorString() or "the speech engine reported an error"})
        return 0
    emit({"event": "ready", "engine": tts.engine(), "voices": [v.name() for v in tts.availableVoices()]})

    states = {
        QTextToSpeech.State.Ready: "ready",
        QTextToSpeech.State.Speaking: "speaking",
        QTextToSpeech.State.Synthesizing: "speaking",
        QTextToSpeech.State.Paused: "paused",
        QTextToSpeech.State.Error: "error",
    }

    def on_state(state: QTextToSpeech.State) -> None:
        error = tts.errorString() if state == QTextToSpeech.State.Error else ""
        emit({"event": "state", "state": states.get(state, "ready"), "reason": error})

    tts.stateChanged.connect(on_state)

    class Commands(QObject):
        """Carries each command line from the reading thread to this (the engine's) thread."""

        line = Signal(str)

        @Slot(str)
        def run(self, text: str) -> None:
            try:
                command = json.loads(text)
            except json.JSONDecodeError:
                return
            if not isinstance(command, dict):
                return
            do = command.get("do")
            if do == "say":
                tts.say(str(command.get("text", "")))
            elif do == "stop":
                tts.stop()
            elif do == "rate":
                tts.setRate(max(-1.0, min(1.0, float(command.get("value", 0.0)))))
            elif do == "volume":
                tts.setVolume(max(0.0, min(1.0, float(command.get("value", 1.0)))))
            elif do == "voice":
                for voice in tts.availableVoices():
                    if voice.name() == command.get("name"):
                        tts.setVoice(voice)
                        break
            emit({"ack": command.get("id")})
            if do == "quit":
                app.quit()

    commands = Commands()
    commands.line.connect(commands.run)

    def read_stdin() -> None:
        for text in sys.stdin:
            commands.line.emit(text)
        os._exit(0)  # SmolSight closed our stdin (it quit or it crashed): nobody is listening

    threading.Thread(target=read_stdin, name="smolsight-speech-stdin", daemon=True).start()
    app.exec()
    tts.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
