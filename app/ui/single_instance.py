"""One SmolSight window per user: a second launch brings the first one forward and hands it its file.

The first instance listens on a local socket (QLocalServer: a Unix socket or a Windows named
pipe, private to this user). A later launch connects, sends one line of JSON
(`{"open": "<file>" | null}`), waits for the acknowledgement, and exits 0 without loading
a second model or opening the camera twice.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.config import default_config_path

log = logging.getLogger(__name__)
TIMEOUT_MS = 2000


def server_name(config_path: Path | None = None) -> str:
    """The socket name: one per user and settings file (tests use their own settings files)."""
    key = f"{getpass.getuser()}:{(config_path or default_config_path()).resolve()}"
    return f"SmolSight-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def hand_over(name: str, file: str | None) -> bool:
    """Ask a running instance to come forward (and open `file`); True when one answered."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(TIMEOUT_MS):
        return False
    socket.write((json.dumps({"open": file}) + "\n").encode())
    socket.flush()
    answered = socket.waitForReadyRead(TIMEOUT_MS) and bytes(socket.readAll().data()).startswith(b"ok")
    socket.disconnectFromServer()
    return answered


class InstanceServer(QObject):
    """Listens for later launches; calls `on_request(file or None)` for each, on the GUI thread."""

    def __init__(self, name: str, on_request: Callable[[str | None], None]) -> None:
        super().__init__()
        self._on_request = on_request
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(name):
            QLocalServer.removeServer(name)  # a socket left behind by a crashed instance
            self.server.listen(name)
        self.listening = self.server.isListening()
        if self.listening:
            log.info("listening for later launches on %s", name)
        else:
            log.warning("could not listen for later launches: %s", self.server.errorString())
        self.server.newConnection.connect(self._on_new_connection)

    def _on_new_connection(self) -> None:
        socket = self.server.nextPendingConnection()
        if socket is None:
            return
        socket.readyRead.connect(lambda: self._on_ready_read(socket))

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        try:
            request = json.loads(bytes(socket.readLine().data()).decode())
            file = request.get("open") if isinstance(request, dict) else None
        except ValueError:
            file = None
        socket.write(b"ok\n")
        socket.flush()
        socket.disconnectFromServer()
        log.info("another launch asked to come forward%s", f" and open {file}" if file else "")
        self._on_request(file if isinstance(file, str) else None)

    def close(self) -> None:
        """Stop listening (the socket file is removed)."""
        self.server.close()
