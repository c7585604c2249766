"""Fetching image URLs safely: public addresses only, checked where the connection is made.

A server that fetches any URL it is given can be made to read services on its own machine or
private network (SSRF). Every connection `fetch_url` makes (the first one and every redirect)
goes through `GuardedBackend`: the host name is resolved once, every address it resolves to
must be public (not loopback, private, link-local, multicast, unspecified or reserved, IPv4 or
IPv6, including IPv4 addresses embedded in IPv6 forms), and the socket is then opened to that
very address, so a name that resolves differently a moment later (DNS rebinding) can't
redirect it. The connected peer is checked once more. TLS still verifies the host name.

Why not a library: the ones on PyPI either open a probe connection to a refused address
before refusing it, or can't take an injected resolver and connector, which the tests need to
show that a refused address is never contacted without sending a packet off this machine.
This module uses httpcore's public network-backend interface; HTTP itself stays httpcore's.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore

Resolver = Callable[[str, int], list[str]]  # (host, port) → IP address strings
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeAddress(httpcore.ConnectError):
    """A URL leads to an address the server must not connect to."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(f"{host} leads to {address}, {why}")
        self.host = host
        self.address = address
        self.why = why


class FetchError(Exception):
    """A URL could not be fetched; the message says why in one phrase."""

    def __init__(self, message: str, *, too_large: bool = False, unsafe: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large
        self.unsafe = unsafe


def why_not_public(address: str) -> str | None:
    """Why `address` is not a public unicast address (None when it is)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return "not an IP address"
    embedded: list[IPAddress] = []  # IPv4 addresses inside IPv6 forms come first: the sharper name
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if inner is not None:
                embedded.append(inner)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(ip.packed[-4:]))
    for candidate in [*embedded, ip]:
        for test, name in (
            (candidate.is_loopback, "a loopback address (this machine)"),
            (candidate.is_unspecified, "an unspecified address"),
            (candidate.is_link_local, "a link-local address"),
            (candidate.is_multicast, "a multicast address"),
            (candidate.is_private, "a private network address"),
            (candidate.is_reserved, "a reserved address"),
            (not candidate.is_global, "not a public address"),
        ):
            if test:
                return name
    return None


# Where clouds answer metadata requests (credentials): AWS, GCP and Azure on 169.254.169.254,
# AWS ECS and EKS task roles, AWS over IPv6 (a private ULA address), Alibaba Cloud (shared space).
METADATA_ADDRESSES = {
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "100.100.100.200")
}


def why_link_local(address: str) -> str | None:
    """Why `address` stays refused even where private addresses are allowed (None when it needn't)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return None
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    for candidate in candidates:
        if candidate in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if candidate.is_link_local:
            return "a link-local address (where cloud metadata services answer)"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolves `host` to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"can't resolve {host} ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to public addresses, to the address it checked.

    `allow_private` also lets loopback and private networks through, but link-local and cloud
    metadata addresses stay refused unless `allow_link_local` is given as well: a trusted
    network is one thing, the machine's cloud credentials another.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_link_local: bool = False,
        resolver: Resolver = system_resolver,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.allow_link_local = allow_link_local
        self.resolve = resolver
        self.inner = inner or httpcore.SyncBackend()

    def refusal(self, address: str) -> str | None:
        """Why a connection to `address` is refused (None: it may be made)."""
        why = why_not_public(address)
        if why is None:
            return None
        if not self.allow_private:
            return why
        return None if self.allow_link_local else why_link_local(address)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve `host`, refuse non-public addresses, then connect to the checked address."""
        try:
            addresses = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            addresses = self.resolve(host, port)
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        for address in addresses:  # every one: a name must not mix public and refused addresses
            why = self.refusal(address)
            if why:
                raise UnsafeAddress(host, address, why)
        stream = self.inner.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        peer = _peer_address(stream)
        why = self.refusal(peer) if peer else None
        if why:
            stream.close()
            raise UnsafeAddress(host, peer or "?", why)
        return stream

    def sleep(self, seconds: float) -> None:
        """Wait (httpcore's retry pauses)."""
        time.sleep(seconds)


def _peer_address(stream: httpcore.NetworkStream) -> str | None:
    sock = stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        try:
            return str(sock.getpeername()[0])
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class FetchLimits:
    """How much, how long and how far a fetch may go."""

    max_bytes: int = 10 * 1024 * 1024
    timeout_s: float = 10.0
    max_redirects: int = 3


def allowing_flags(address: str, *, private_allowed: bool) -> str:
    """Which of `serve`'s flags would let the server fetch from `address`, as the refusal names them.

    Link-local and cloud-metadata addresses need `--allow-link-local-urls` as well as
    `--allow-private-urls`; other private addresses need only the latter.
    """
    if why_link_local(address) is None:
        return "private addresses with --allow-private-urls"
    if private_allowed:
        return "link-local addresses with --allow-link-local-urls"
    return "link-local addresses with --allow-private-urls together with --allow-link-local-urls"


def ascii_url(url: str) -> str:
    """`url` as it goes on the wire: an international host name in IDNA, the rest percent-encoded.

    httpx's URL parser does the encoding (`http://bücher.example/café.png?q=ü` →
    `http://xn--bcher-kva.example/caf%C3%A9.png?q=%C3%BC`); httpcore itself takes ASCII only.
    """
    import httpx

    try:
        return str(httpx.URL(url))
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise FetchError(f"not a usable URL ({exc})") from None


def fetch_url(url: str, limits: FetchLimits, backend: httpcore.NetworkBackend) -> bytes:
    """GET `url` (http or https), following at most `limits.max_redirects` redirects; the body."""
    deadline = time.monotonic() + limits.timeout_s
    with httpcore.ConnectionPool(network_backend=backend, ssl_context=ssl.create_default_context()) as pool:
        for _ in range(limits.max_redirects + 1):
            url = ascii_url(url)
            scheme = urlsplit(url).scheme.lower()
            if scheme not in ("http", "https"):
                raise FetchError(f"a redirect led to a {scheme or 'relative'} URL; only http(s) is fetched")
            url = scheme + url[len(scheme) :]  # schemes are case-insensitive: HTTP:// is http://
            left = max(0.1, deadline - time.monotonic())
            extensions = {"timeout": {"connect": left, "read": left, "write": left, "pool": left}}
            try:
                with pool.stream(
                    "GET",
                    url,
                    headers={"User-Agent": "SmolSight", "Host": host_header(url)},
                    extensions=extensions,
                ) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = _header(response.headers, b"location")
                        if not location:
                            raise FetchError(f"HTTP {response.status} without a location")
                        url = urljoin(url, location)
                        continue
                    if response.status != 200:
                        raise FetchError(f"fetching the image gave HTTP {response.status}")
                    return _read_limited(response.iter_stream(), limits, deadline)
            except UnsafeAddress as exc:
                how = allowing_flags(exc.address, private_allowed=backend_allows_private(backend))
                raise FetchError(
                    f"refusing to fetch from {exc.address} ({exc.why}); "
                    f"the server's operator can allow {how}",
                    unsafe=True,
                ) from None
            except httpcore.TimeoutException:
                raise FetchError(f"fetching the image took longer than {limits.timeout_s:g} s") from None
            except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
                raise FetchError(f"could not fetch the image ({exc or type(exc).__name__})") from None
        raise FetchError(f"more than {limits.max_redirects} redirects")


def host_header(url: str) -> str:
    """The Host header for `url`: an IPv6 literal keeps its brackets (httpcore drops them)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def backend_allows_private(backend: httpcore.NetworkBackend) -> bool:
    """Whether `backend` lets private addresses through (to say which switch a refusal needs)."""
    return isinstance(backend, GuardedBackend) and backend.allow_private


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _read_limited(chunks: Iterable[bytes], limits: FetchLimits, deadline: float) -> bytes:
    data = bytearray()
    for chunk in chunks:
        data.extend(chunk)
        if len(data) > limits.max_bytes:
            raise FetchError(f"the image is larger than {limits.max_bytes} bytes", too_large=True)
        if time.monotonic() > deadline:
            raise FetchError(f"fetching the image took longer than {limits.timeout_s:g} s")
    return bytes(data)
