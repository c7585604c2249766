"""Stand-ins for screen readers: Orca's D-Bus service on a private session bus, and a fake Prism.

Nothing here reaches a real screen reader or the developer's own session bus: `private_bus()`
starts a `dbus-daemon` of its own, and tests point SmolSight at it through
`DBUS_SESSION_BUS_ADDRESS`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from app.speech.screen_readers import ORCA_SERVICES, OrcaService


@contextmanager
def private_bus() -> Iterator[str]:
    """A session bus of its own (dbus-daemon), ended when the block ends; yields its address.

    What the bus starts on demand (AT-SPI's bus launcher, registry and their bus) runs with a
    runtime folder of its own, so it never meets the developer's, and is ended with it.
    """
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        if os.environ.get("SMOLSIGHT_REQUIRE_DESKTOP_TOOLS") == "1":
            pytest.fail("dbus-daemon is not installed; .ci/run installs it")
        pytest.skip("dbus-daemon is not installed (Debian: dbus-daemon)")
    with tempfile.TemporaryDirectory(prefix="smolsight-bus-") as runtime:
        os.chmod(runtime, 0o700)
        env = {**os.environ, "XDG_RUNTIME_DIR": runtime}
        process = subprocess.Popen(
            [daemon, "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert process.stdout is not None
            address = process.stdout.readline().strip()
            assert address, "dbus-daemon printed no address"
            yield address
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
            _end_started_by(runtime)


def _end_started_by(runtime: str) -> None:
    """End what the bus started on demand (it carries the bus's own runtime folder)."""
    import psutil

    found = []
    for candidate in psutil.process_iter():
        try:
            if candidate.environ().get("XDG_RUNTIME_DIR") == runtime:
                found.append(candidate)
        except (psutil.Error, OSError):
            continue
    for process in found:
        process.terminate()
    _, alive = psutil.wait_procs(found, timeout=5)
    for process in alive:
        process.kill()


OrcaMode = Literal["working", "silent", "declining"]


class OrcaStandIn:
    """Owns one of Orca's service names on `address` and records what `PresentMessage` was given.

    `working` answers True; `silent` never answers anything (an Orca that hangs); `declining`
    answers `PresentMessage` with False.
    """

    def __init__(
        self, address: str, service: OrcaService = ORCA_SERVICES[0], mode: OrcaMode = "working"
    ) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.service = service
        self.mode: OrcaMode = mode
        self.messages: list[str] = []
        self.other_calls: list[str] = []
        self.version_asked = 0  # how often it was asked `GetVersion` (the link's probe)
        self._stop = threading.Event()
        self._connection = open_dbus_connection(bus=address)
        request = message_bus.RequestName(service.bus_name)
        (result,) = self._connection.send_and_get_reply(request, timeout=5).body
        assert result == 1, f"could not own {service.bus_name} ({result})"
        self._thread = threading.Thread(target=self._serve, name="orca-standin", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from jeepney import HeaderFields, MessageType, new_error, new_method_return

        while not self._stop.is_set():
            try:
                message = self._connection.receive(timeout=0.2)
            except TimeoutError:
                continue
            except OSError:
                return
            header = message.header
            if header.message_type != MessageType.method_call:
                continue
            member = header.fields.get(HeaderFields.member)
            path = header.fields.get(HeaderFields.path)
            if path == self.service.path and member == "PresentMessage":
                self.messages.append(str(message.body[0]))
                if self.mode != "silent":
                    self._connection.send(new_method_return(message, "b", (self.mode == "working",)))
            elif path == self.service.path and member == "GetVersion":
                self.version_asked += 1
                if self.mode != "silent":
                    self._connection.send(new_method_return(message, "s", ("50.0 (stand-in)",)))
            else:
                self.other_calls.append(f"{path} {member}")
                self._connection.send(new_error(message, "org.freedesktop.DBus.Error.UnknownMethod"))

    def close(self) -> None:
        """Stop answering and give the name up (the connection closes: the bus frees the name)."""
        self._stop.set()
        self._thread.join(5)
        self._connection.close()


@contextmanager
def orca_standin(
    address: str, service: OrcaService = ORCA_SERVICES[0], mode: OrcaMode = "working"
) -> Iterator[OrcaStandIn]:
    """An Orca stand-in for the length of the block."""
    standin = OrcaStandIn(address, service, mode)
    try:
        yield standin
    finally:
        standin.close()


# --------------------------------------------------------------------------- a fake Prism
@dataclass
class FakePrismBackend:
    """Records what Prism's backend was asked, in order: ("braille", text), ("speak", text, interrupt)."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    fails: bool = False  # the screen reader went away: every call raises as Prism does

    def speak(self, text: str, interrupt: bool = False) -> None:
        if self.fails:
            raise RuntimeError("PrismError: not running")
        self.calls.append(("speak", text, interrupt))

    def braille(self, text: str) -> None:
        if self.fails:
            raise RuntimeError("PrismError: not running")
        self.calls.append(("braille", text))

    def stop(self) -> None:
        self.calls.append(("stop",))


class FakeBackendId:
    """Prism's `BackendId` members that SmolSight uses."""

    NVDA = "nvda"
    JAWS = "jaws"
    VOICE_OVER = "voiceover"


class FakePrismContext:
    """`prism.Context`: `create` gives the running readers' backends and raises for the others."""

    def __init__(self, running: set[str]) -> None:
        self.running = running
        self.backends: dict[str, FakePrismBackend] = {}

    def create(self, backend_id: str) -> FakePrismBackend:
        if backend_id not in self.running:
            raise ValueError("Invalid or unsupported backend")
        return self.backends.setdefault(backend_id, FakePrismBackend())


class FakePrism:
    """The `prism` module as far as SmolSight uses it."""

    BackendId = FakeBackendId

    def __init__(self, running: set[str]) -> None:
        self.context = FakePrismContext(running)

    def Context(self) -> FakePrismContext:  # Prism's own name
        return self.context


# --------------------------------------------------------------------------- a channel of our own making
class FakeChannel:
    """A screen reader at the channel's boundary: records what it presents; can stop, or hang."""

    def __init__(self, name: str = "NVDA") -> None:
        self.name = name
        self.up = True
        self.hang = threading.Event()  # set: every call blocks until `release` is set
        self.release = threading.Event()
        self.presented: list[tuple[str, str, bool]] = []  # (speech, braille, interrupt)
        self.cancelled = 0

    def _maybe_hang(self) -> None:
        if self.hang.is_set():
            self.release.wait(30)

    def running(self) -> bool:
        self._maybe_hang()
        return self.up

    def present(self, speech: str, braille: str, *, interrupt: bool) -> None:
        from app.speech.screen_readers import ScreenReaderGone

        self._maybe_hang()
        if not self.up:
            raise ScreenReaderGone(f"{self.name} is not running")
        self.presented.append((speech, braille, interrupt))

    def cancel(self) -> None:
        self.cancelled += 1

    def close(self) -> None:
        self.release.set()

    @property
    def spoken(self) -> list[str]:
        return [speech for speech, _, _ in self.presented]
