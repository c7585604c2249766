"""Image URLs are fetched from public addresses only; nothing here sends a packet beyond 127.0.0.0/8.

Loopback cases use a real listener on this machine and check that no connection reached it.
Private, link-local and public-looking names use an injected resolver and an injected
connector that records every attempt: a broken check shows up as a recorded attempt, never as
traffic. The one "public" server is a local HTTP server the fake connector routes to.
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from app.server.api import ApiPolicy, create_app
from app.server.fetch import FetchError, FetchLimits, GuardedBackend, fetch_url, why_not_public
from app.server.images import ImageLimits
from tests.fakes import FakeBackend
from tests.servers import RecordingConnector, http_server, png_bytes, served_model, serving


class Listener:
    """A TCP listener on loopback that records every connection made to it."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen()
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smolsight-test-listener")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(peer)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.10", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("100.64.0.1", "not a public"),
    ],
)
def test_non_public_addresses_are_named(address: str, kind: str) -> None:
    assert kind in (why_not_public(address) or "")


def test_public_addresses_pass() -> None:
    assert why_not_public("93.184.216.34") is None
    assert why_not_public("2606:4700:4700::1111") is None


@pytest.mark.parametrize("address", ["10.0.0.5", "172.16.3.4", "192.168.1.10", "169.254.169.254", "fd00::7"])
def test_names_resolving_to_private_addresses_are_never_contacted(address: str) -> None:
    connector = RecordingConnector()
    backend = GuardedBackend(resolver=resolver({"photos.example": [address]}), inner=connector)
    with pytest.raises(FetchError) as caught:
        fetch_url("http://photos.example/cat.png", FetchLimits(), backend)
    assert caught.value.unsafe and address in str(caught.value)
    assert connector.attempts == []


def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    connector = RecordingConnector()
    table = {"mixed.example": ["93.184.216.34", "10.0.0.5"]}
    with pytest.raises(FetchError, match=r"10\.0\.0\.5"):
        fetch_url(
            "http://mixed.example/", FetchLimits(), GuardedBackend(resolver=resolver(table), inner=connector)
        )
    assert connector.attempts == []


def test_the_checked_address_is_the_one_connected_to() -> None:
    """DNS rebinding: the name is resolved once; the connection goes to that checked address."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a second lookup would say loopback
    connector = RecordingConnector()
    backend = GuardedBackend(resolver=lambda host, port: next(answers), inner=connector)
    with pytest.raises(FetchError):  # the recording connector fails the (public) attempt
        fetch_url("http://rebind.example/x.png", FetchLimits(), backend)
    assert connector.attempts == [("93.184.216.34", 80)]


def test_loopback_urls_are_refused_without_connecting(listener: Listener) -> None:
    for url in (
        f"http://127.0.0.1:{listener.port}/secret.png",
        f"http://localhost:{listener.port}/secret.png",  # a name that resolves to loopback
        f"http://[::1]:{listener.port}/secret.png",
        f"http://127.1:{listener.port}/secret.png",  # a short form of 127.0.0.1
    ):
        with pytest.raises(FetchError) as caught:
            fetch_url(url, FetchLimits(), GuardedBackend())
        assert caught.value.unsafe, url
    assert listener.accepted == []


def test_a_public_looking_url_that_redirects_to_loopback_is_refused(listener: Listener) -> None:
    secret = f"http://127.0.0.1:{listener.port}/secret.png"

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", secret)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Redirect) as port:
        connector = RecordingConnector(routes={"93.184.216.34": port})
        backend = GuardedBackend(resolver=resolver({"pics.example": ["93.184.216.34"]}), inner=connector)
        with pytest.raises(FetchError) as caught:
            fetch_url("http://pics.example/cat.png", FetchLimits(), backend)
    assert caught.value.unsafe and "127.0.0.1" in str(caught.value)
    assert connector.attempts == [("93.184.216.34", 80)]  # the public hop only
    assert listener.accepted == []


def test_redirect_and_size_limits_hold() -> None:
    class Loop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/big":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"x" * 50_000)
                return
            self.send_response(302)
            self.send_header("Location", "/again")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Loop) as port:
        backend = GuardedBackend(allow_private=True)
        with pytest.raises(FetchError, match="more than 3 redirects"):
            fetch_url(f"http://127.0.0.1:{port}/start", FetchLimits(max_redirects=3), backend)
        with pytest.raises(FetchError) as caught:
            fetch_url(f"http://127.0.0.1:{port}/big", FetchLimits(max_bytes=10_000), backend)
        assert caught.value.too_large


def test_the_server_refuses_loopback_image_urls_and_the_operator_can_allow_them(listener: Listener) -> None:
    png = png_bytes()

    class Pictures(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    def ask(base: str, url: str) -> httpx.Response:
        content = [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": url}}]
        body = {"max_tokens": 4, "messages": [{"role": "user", "content": content}]}
        return httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30)

    served = served_model(lambda _m: FakeBackend(seconds_per_call=0.0), name="fake")
    with serving(create_app(served)) as base:
        refused = ask(base, f"http://127.0.0.1:{listener.port}/secret.png")
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == "unsafe_image_url" and error["param"] == "messages[0].content[1].image_url"
        assert "--allow-private-urls" in error["message"]
        assert listener.accepted == []
    assert served.shutdown()

    allowed = served_model(lambda _m: FakeBackend(seconds_per_call=0.0), name="fake")
    options = ApiPolicy(images=ImageLimits(allow_private_urls=True))
    with http_server(Pictures) as port, serving(create_app(allowed, options)) as base:
        assert ask(base, f"http://127.0.0.1:{port}/photo.png").status_code == 200
    assert allowed.shutdown()


def test_data_uris_need_no_fetch() -> None:
    uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    from app.server.images import load_image_url

    assert load_image_url(uri, ImageLimits(allow_remote=False), "p").shape == (480, 640, 3)


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "169.254.170.2", "fe80::1", "fd00:ec2::254", "100.100.100.200"]
)
def test_metadata_and_link_local_stay_refused_with_private_urls_allowed(address: str) -> None:
    connector = RecordingConnector()
    backend = GuardedBackend(
        allow_private=True, resolver=resolver({"metadata.example": [address]}), inner=connector
    )
    with pytest.raises(FetchError) as caught:
        fetch_url("http://metadata.example/latest/meta-data/", FetchLimits(), backend)
    assert caught.value.unsafe and address in str(caught.value)
    assert "--allow-link-local-urls" in str(caught.value)
    assert connector.attempts == []  # never contacted


def test_link_local_only_with_its_own_switch_and_private_still_passes() -> None:
    connector = RecordingConnector()
    table = {"metadata.example": ["169.254.169.254"], "nas.example": ["192.168.1.10"]}
    private_only = GuardedBackend(allow_private=True, resolver=resolver(table), inner=connector)
    with pytest.raises(FetchError):  # the recording connector fails it: but it was attempted
        fetch_url("http://nas.example/photo.png", FetchLimits(), private_only)
    both = GuardedBackend(
        allow_private=True, allow_link_local=True, resolver=resolver(table), inner=connector
    )
    with pytest.raises(FetchError):
        fetch_url("http://metadata.example/x.png", FetchLimits(), both)
    assert connector.attempts == [("192.168.1.10", 80), ("169.254.169.254", 80)]


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_an_ipv6_literal_url_is_fetched_with_brackets_in_its_host_header() -> None:
    hosts: list[str] = []
    image = png_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            self.send_response(200)
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

        def log_message(self, *args: object) -> None:
            pass

    class IPv6Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    server = IPv6Server(("::1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="smolsight-test-http6")
    thread.start()
    try:
        port = server.server_address[1]
        data = fetch_url(f"http://[::1]:{port}/cat.png", FetchLimits(), GuardedBackend(allow_private=True))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert data == image
    assert hosts == [f"[::1]:{port}"]


def test_schemes_are_case_insensitive_and_other_schemes_are_named(listener: Listener) -> None:
    from app.server.errors import ApiError
    from app.server.images import load_image_url

    limits = ImageLimits(allow_remote=True)
    with pytest.raises(ApiError) as caught:  # HTTP:// is http://: refused for its address, not its case
        load_image_url(f"HTTP://127.0.0.1:{listener.port}/secret.png", limits, "p")
    assert caught.value.code == "unsafe_image_url" and "127.0.0.1" in caught.value.message
    assert listener.accepted == []
    for url, scheme in (("ftp://example.com/cat.png", "ftp"), ("Gopher://example.com/1", "gopher")):
        with pytest.raises(ApiError) as caught:
            load_image_url(url, limits, "p")
        assert caught.value.message == f"p: {scheme} URLs are not supported; use a data URI or an http(s) URL"


@pytest.mark.parametrize(
    ("address", "private_allowed", "hint"),
    [
        ("10.0.0.5", False, "private addresses with --allow-private-urls"),
        (
            "169.254.169.254",
            False,
            "link-local addresses with --allow-private-urls together with --allow-link-local-urls",
        ),
        ("fe80::1", True, "link-local addresses with --allow-link-local-urls"),
    ],
)
def test_a_refusal_names_the_flags_that_would_allow_it(
    address: str, private_allowed: bool, hint: str
) -> None:
    backend = GuardedBackend(
        allow_private=private_allowed, resolver=resolver({"x.example": [address]}), inner=RecordingConnector()
    )
    with pytest.raises(FetchError) as caught:
        fetch_url("http://x.example/a.png", FetchLimits(), backend)
    assert str(caught.value).endswith(f"the server's operator can allow {hint}")
