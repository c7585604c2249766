"""A stand-in speech-dispatcher on a Unix socket, for tests that must never start the real one.

libspeechd (what Qt's `speechd` engine uses) connects wherever `SPEECHD_ADDRESS` points
(`unix_socket:PATH`). The stand-in accepts there and behaves as one of:

- `silent`: accepts and never answers (a daemon whose audio output is gone: Qt blocks forever);
- `hangup`: accepts and closes at once (a daemon that crashed);
- `working`: answers enough of SSIP (Speech Synthesis Interface Protocol) for Qt to speak:
  one module, one voice, and BEGIN/END events for every message;
- `mute`: answers everything except SPEAK, which it never answers (a stall mid-narration).

The mode can change while it runs (a daemon that comes back). Connecting always succeeds, so
libspeechd never tries to start a real daemon itself (it autospawns one when connect fails).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

Mode = Literal["silent", "hangup", "working", "mute"]


class SpeechDispatcherStandIn:
    """Serves `mode` on a Unix socket until closed; `spoken` lists the texts it was asked to speak."""

    def __init__(self, path: Path, mode: Mode) -> None:
        self.path = path
        self.mode: Mode = mode
        self.spoken: list[str] = []
        self.connections = 0
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._message_id = 100
        if path.exists():
            path.unlink()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(16)
        self._accepting = threading.Thread(target=self._accept, name="speechd-standin", daemon=True)
        self._accepting.start()

    @property
    def address(self) -> str:
        """The value for SPEECHD_ADDRESS."""
        return f"unix_socket:{self.path}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            if self.mode == "hangup":
                conn.close()
                continue
            self._conns.append(conn)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name="speechd-standin-conn", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn.makefile("rb") as lines:
            receiving: list[str] | None = None
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if self.mode == "silent":
                    continue
                if receiving is not None:
                    if line == ".":
                        self._queued(conn, "\n".join(receiving))
                        receiving = None
                    else:
                        receiving.append(line)
                    continue
                command = line.upper()
                if command == "SPEAK":
                    if self.mode == "mute":
                        continue  # never answered: the client waits forever
                    receiving = []
                    conn.sendall(b"230 OK RECEIVING DATA\r\n")
                elif command.startswith("LIST OUTPUT_MODULES"):
                    conn.sendall(b"250-standin\r\n250 OK MODULE LIST SENT\r\n")
                elif command.startswith("LIST SYNTHESIS_VOICES"):
                    conn.sendall(b"249-Stand-in voice\ten-US\tnone\r\n249 OK VOICE LIST SENT\r\n")
                elif command.startswith("GET OUTPUT_MODULE"):
                    conn.sendall(b"251-standin\r\n251 OK GET RETURNED\r\n")
                elif command.startswith("GET"):
                    conn.sendall(b"251-0\r\n251 OK GET RETURNED\r\n")
                else:
                    conn.sendall(b"200 OK\r\n")

    def _queued(self, conn: socket.socket, text: str) -> None:
        with self._lock:
            self._message_id += 1
            mid = self._message_id
            self.spoken.append(text)
        conn.sendall(f"225-{mid}\r\n225 OK MESSAGE QUEUED\r\n".encode())
        conn.sendall(f"701-{mid}\r\n701-1\r\n701 BEGIN\r\n".encode())
        conn.sendall(f"702-{mid}\r\n702-1\r\n702 END\r\n".encode())

    def close(self) -> None:
        """Stop accepting, close every connection and wait for the serving threads."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.contextmanager
def speechd_standin(mode: Mode) -> Iterator[SpeechDispatcherStandIn]:
    """A stand-in serving `mode` in a short temporary folder (Unix socket paths are limited)."""
    folder = Path(tempfile.mkdtemp(prefix="ss-speechd-"))
    standin = SpeechDispatcherStandIn(folder / f"{mode}.sock", mode)
    try:
        yield standin
    finally:
        standin.close()
        shutil.rmtree(folder, ignore_errors=True)


def speechd_engine_installed() -> bool:
    """Whether Qt's speech-dispatcher engine can load here (it needs libspeechd)."""
    import ctypes.util

    return ctypes.util.find_library("speechd") is not None and os.name == "posix"
