"""A model hub on 127.0.0.1 that serves a local folder the way huggingface_hub expects.

It answers what `snapshot_download` and `list_repo_tree` ask: the repository's revision, its
file tree with each large file's SHA-256 (as LFS), and the files themselves (HEAD and GET,
with byte ranges for resumed downloads). Faults can be switched on per file: `drop` sends half
of the file and then drops the connection (the first time only, as a network that goes away
for a moment), `corrupt` serves other bytes of the right length. Every request is logged.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Hub:
    """What the fake hub serves and what happened; see the module docs."""

    repo: str
    folder: Path
    drop: set[str] = field(default_factory=set)
    corrupt: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, Range header)
    url: str = ""

    def files(self) -> dict[str, Path]:
        return {
            p.relative_to(self.folder).as_posix(): p for p in sorted(self.folder.rglob("*")) if p.is_file()
        }

    def gets(self, name: str) -> int:
        """How many times `name` was asked for."""
        return sum(1 for m, p, _ in self.requests if m == "GET" and p.endswith("/" + name))


def _tree_entry(name: str, path: Path) -> dict[str, object]:
    data = path.read_bytes()
    entry: dict[str, object] = {"type": "file", "path": name, "size": len(data)}
    entry["oid"] = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    if path.suffix in (".onnx", ".safetensors"):
        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
    return entry


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def _json(self, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _missing(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.send_header("X-Error-Code", "EntryNotFound")
            self.end_headers()

        def _route(self, method: str) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append((method, path, self.headers.get("Range", "")))
            api = f"/api/models/{hub.repo}"
            files = hub.files()
            if path in (api, f"{api}/revision/main", f"{api}/revision/{COMMIT}"):
                siblings = [{"rfilename": name} for name in files]
                return self._json({"id": hub.repo, "modelId": hub.repo, "sha": COMMIT, "siblings": siblings})
            if path.startswith(f"{api}/tree/"):
                return self._json([_tree_entry(n, p) for n, p in files.items()])
            prefix = f"/{hub.repo}/resolve/"
            if not path.startswith(prefix):
                return self._missing()
            name = path[len(prefix) :].split("/", 1)[1]
            if name not in files:
                return self._missing()
            data = files[name].read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            if name in hub.corrupt:
                data = bytes(len(data))
            start = 0
            wanted = self.headers.get("Range", "")
            if wanted.startswith("bytes="):
                start = int(wanted[6:].split("-")[0])
            body = data[start:]
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{sha}"')
            self.send_header("Content-Length", str(len(body)))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if method == "HEAD":
                return None
            if name in hub.drop and not start:
                hub.drop.discard(name)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            self.wfile.write(body)
            return None

        def do_GET(self) -> None:
            self._route("GET")

        def do_HEAD(self) -> None:
            self._route("HEAD")

    return Handler


@contextmanager
def serving(hub: Hub) -> Iterator[Hub]:
    """Serve `hub` on a free port of 127.0.0.1 (its `url`) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
