"""The screen readers' own channels: Orca's D-Bus service, and NVDA, JAWS and VoiceOver through Prism.

A screen reader listens to the application in front of it. Qt's announcement event reaches it
only while SmolSight's window has focus (NVDA drops UI Automation notifications from any other
application), so a description asked for with a system-wide key from a browser would go
unheard. These channels reach the screen reader wherever the user is:

- **Orca** (Linux): its remote controller on the session bus, `PresentMessage(s) → b`, which
  speaks and brailles the text. Orca 51 renamed the service (`org.gnome.Orca1.Service`); both
  names are asked, newest first. Talked to directly with `jeepney` (pure Python): two method
  calls do not earn a library of native code.
- **NVDA, JAWS** (Windows) and **VoiceOver** (macOS): through `prismatoid` (`prism`), which
  bundles NVDA's controller client and speaks JAWS's COM API; writing our own would mean
  shipping NVDA's DLL and a COM layer ourselves.

Every call here may block (a screen reader that hangs, a bus that stalls): they are made only
on `ScreenReaderLink`'s thread (`app/speech/screen_reader_link.py`), never on the window's.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from jeepney import DBusAddress, Message
    from jeepney.io.blocking import DBusConnection

log = logging.getLogger(__name__)


class ScreenReaderGone(Exception):
    """The screen reader did not take the text: it is not running, refused, or did not answer."""


class ScreenReaderChannel(Protocol):
    """One screen reader's own way in. Each call may block; `ScreenReaderLink` bounds them."""

    name: str  # as people know it: "Orca", "NVDA", "JAWS", "VoiceOver"

    def running(self) -> bool:
        """Whether the screen reader runs and answers now (False, never an exception)."""
        ...

    def present(self, speech: str, braille: str, *, interrupt: bool) -> None:
        """Speak `speech` (interrupting when asked) and flash `braille`; ScreenReaderGone if not taken."""

    def cancel(self) -> None:
        """Stop what it is saying now, if it lets us."""

    def close(self) -> None:
        """Let go of what it holds (a bus connection); it may be asked again later."""


_SENTENCE_END = re.compile(r"[.!?…][\"”’)]*(?=\s)")


def first_sentence(text: str, limit: int = 120) -> str:
    """The braille flash: the first sentence, cut at a word near `limit` characters.

    A braille display shows 40 or 80 cells; the whole description stays in the history.
    """
    text = " ".join(text.split())
    end = _SENTENCE_END.search(text)
    first = text[: end.end()] if end else text
    if len(first) > limit:
        cut = first[:limit].rsplit(" ", 1)[0]
        first = (cut or first[:limit]).rstrip(",;:") + "…"
    return first


# --------------------------------------------------------------------------- Orca (D-Bus)
@dataclass(frozen=True)
class OrcaService:
    """Where one Orca version's remote controller lives on the session bus."""

    bus_name: str
    path: str

    def address(self) -> DBusAddress:
        """Its main object as jeepney addresses it (the interface is named as the service is)."""
        from jeepney import DBusAddress

        return DBusAddress(self.path, bus_name=self.bus_name, interface=self.bus_name)


ORCA_SERVICES = (
    OrcaService("org.gnome.Orca1.Service", "/org/gnome/Orca1/Service"),  # Orca 51 and later
    OrcaService("org.gnome.Orca.Service", "/org/gnome/Orca/Service"),  # Orca 49 and 50
)


class OrcaChannel:
    """Orca's remote controller on the session bus (`DBUS_SESSION_BUS_ADDRESS`).

    Orca's `PresentMessage` speaks and brailles the same text; it brings no separate braille
    form, so Orca's flash holds the whole description (the display pans through it).
    """

    name = "Orca"

    def __init__(self, address: str | None = None, *, timeout_s: float = 2.0) -> None:
        self.address = address  # None: the session bus of this login
        self.timeout_s = timeout_s
        self._connection: DBusConnection | None = None
        self.service: OrcaService | None = None

    def _bus(self) -> DBusConnection:
        if self._connection is None:
            from jeepney.io.blocking import open_dbus_connection

            where = self.address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
            if not where:
                raise ScreenReaderGone("there is no session bus")
            try:
                self._connection = open_dbus_connection(bus=where)
            except (OSError, ValueError, KeyError) as exc:
                raise ScreenReaderGone(f"the session bus refused ({exc})") from exc
        return self._connection

    def _call(self, message: Message) -> tuple[Any, ...]:
        from jeepney import MessageType

        try:
            reply = self._bus().send_and_get_reply(message, timeout=self.timeout_s)
        except ScreenReaderGone:
            raise
        except TimeoutError as exc:
            raise ScreenReaderGone(f"no answer within {self.timeout_s:g} s") from exc
        except Exception as exc:  # a bus that went away mid-call
            self.close()
            raise ScreenReaderGone(f"the session bus failed ({exc})") from exc
        if reply.header.message_type == MessageType.error:
            raise ScreenReaderGone(str(reply.body[0]) if reply.body else "the call was refused")
        return tuple(reply.body)

    def running(self) -> bool:
        """Whether an Orca service is on the bus (the newest name first) and answers (`GetVersion`).

        Owning the name is not enough: an Orca that hangs keeps it, and would be found again
        and again only to fail the next description.
        """
        from jeepney import new_method_call
        from jeepney.bus_messages import message_bus

        try:
            for service in ORCA_SERVICES:
                (owned,) = self._call(message_bus.NameHasOwner(service.bus_name))
                if owned:
                    self._call(new_method_call(service.address(), "GetVersion"))
                    self.service = service
                    return True
        except ScreenReaderGone as exc:
            log.debug("Orca does not answer: %s", exc)
        self.service = None
        return False

    def present(self, speech: str, braille: str, *, interrupt: bool) -> None:
        """`PresentMessage(speech)`: Orca speaks and brailles it (and interrupts itself to do so)."""
        from jeepney import new_method_call

        if self.service is None and not self.running():
            raise ScreenReaderGone("Orca is not running")
        assert self.service is not None
        message = new_method_call(self.service.address(), "PresentMessage", "s", (speech,))
        (accepted,) = self._call(message)
        if not accepted:
            raise ScreenReaderGone("Orca declined the message")

    def cancel(self) -> None:
        """Orca's own keys stop its speech; its remote controller's message interrupts by itself."""

    def close(self) -> None:
        """Let go of the bus connection (the next call opens a new one)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass


# --------------------------------------------------------------------------- NVDA, JAWS, VoiceOver (Prism)
class PrismBackend(Protocol):
    """What we use of a `prism.Backend`."""

    def speak(self, text: str, interrupt: bool = False) -> None:
        """Speak `text`, interrupting what is said when asked."""

    def braille(self, text: str) -> None:
        """Flash `text` on the braille display."""

    def stop(self) -> None:
        """Stop speaking."""


class PrismContext(Protocol):
    """What we use of a `prism.Context`: `create(BackendId)` raises when that reader isn't there."""

    def create(self, backend_id: object, /) -> PrismBackend:
        """A ready backend for that screen reader (raises when it is not running)."""
        ...


class PrismIds(Protocol):
    """The members of Prism's `BackendId` that name the screen readers we reach through it."""

    NVDA: object
    JAWS: object
    VOICE_OVER: object


class PrismModule(Protocol):
    """The `prism` module, as far as we use it."""

    @property
    def BackendId(self) -> type[PrismIds]:  # Prism's own name
        """Its screen readers' ids."""
        ...

    def Context(self) -> PrismContext:  # Prism's own name
        """A Prism context (it finds the screen readers installed)."""
        ...


class PrismChannel:
    """One screen reader through Prism: NVDA (its controller client), JAWS (its API), VoiceOver.

    The braille flash goes first and the speech after it: in NVDA's "braille follows speech"
    mode the spoken words then replace the flash on the display, as that mode promises, and in
    the usual mode (braille follows the focus) the flash shows the short form.
    """

    def __init__(self, name: str, context: PrismContext, backend_id: object) -> None:
        self.name = name
        self.context = context
        self.backend_id = backend_id
        self._backend: PrismBackend | None = None

    def running(self) -> bool:
        """Whether Prism can reach the screen reader now."""
        try:
            self._backend = self.context.create(self.backend_id)
        except Exception as exc:  # Prism raises ValueError or its own errors: not there
            log.debug("%s is not there: %s", self.name, exc)
            self._backend = None
        return self._backend is not None

    def present(self, speech: str, braille: str, *, interrupt: bool) -> None:
        """Braille first, then speech (see the class); ScreenReaderGone when it does not take them."""
        backend = self._backend
        if backend is None:
            if not self.running():
                raise ScreenReaderGone(f"{self.name} is not running")
            backend = self._backend
            assert backend is not None
        try:
            if braille:
                try:
                    backend.braille(braille)
                except Exception as exc:  # a reader without braille still speaks
                    log.debug("%s took no braille: %s", self.name, exc)
            backend.speak(speech, interrupt)
        except Exception as exc:
            self._backend = None
            raise ScreenReaderGone(f"{self.name} did not take the text ({exc})") from exc

    def cancel(self) -> None:
        """Stop its speech (NVDA's cancelSpeech, JAWS's StopSpeech)."""
        if self._backend is not None:
            try:
                self._backend.stop()
            except Exception as exc:
                log.debug("%s did not stop: %s", self.name, exc)

    def close(self) -> None:
        """Let go of the backend (Prism frees it)."""
        self._backend = None


def prism_channels(prism: PrismModule, platform: str) -> list[ScreenReaderChannel]:
    """The screen readers Prism reaches on `platform`, most used first (WebAIM's survey: JAWS, NVDA)."""
    try:
        context = prism.Context()
    except Exception as exc:
        log.info("Prism could not start (%s): screen readers are reached through Qt only", exc)
        return []
    ids = prism.BackendId
    if platform == "win32":
        return [PrismChannel("NVDA", context, ids.NVDA), PrismChannel("JAWS", context, ids.JAWS)]
    if platform == "darwin":
        return [PrismChannel("VoiceOver", context, ids.VOICE_OVER)]
    return []


def system_screen_readers(platform: str = sys.platform) -> Sequence[ScreenReaderChannel]:
    """The screen-reader channels this system can have, in the order they are asked."""
    if platform.startswith("linux"):
        return [OrcaChannel()]
    try:
        import prism
    except ImportError:  # pragma: no cover - prismatoid is installed on Windows and macOS
        log.info("prismatoid is not installed: screen readers are reached through Qt only")
        return []
    return prism_channels(prism, platform)  # pragma: no cover - Windows and macOS


ChannelsFactory = Callable[[], Sequence[ScreenReaderChannel]]
