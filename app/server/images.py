"""Turning `image_url` parts into pictures, within limits, with OpenAI-style errors."""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from pathlib import Path

import httpcore
import numpy as np

from app.limits import MAX_IMAGE_PIXELS
from app.server.errors import ApiError
from app.server.fetch import FetchError, FetchLimits, GuardedBackend, fetch_url


@dataclass(frozen=True)
class ImageLimits:
    """What the server accepts."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = MAX_IMAGE_PIXELS  # one picture
    max_request_pixels: int = 48_000_000  # all the pictures of one request, decoded (about 144 MB)
    fetch_timeout_s: float = 10.0
    max_redirects: int = 3
    allow_remote: bool = True
    allow_private_urls: bool = False  # fetch from loopback and private addresses too
    allow_link_local_urls: bool = False  # and link-local/cloud metadata ones (only with the above)
    allowed_dirs: tuple[Path, ...] = ()  # local files only inside these (none: no local files)
    network: httpcore.NetworkBackend | None = None  # how to connect (tests inject one); default: sockets


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")  # a URL's scheme (a Windows path has no //)
_DATA_URI = re.compile(r"^data:(?P<mime>[\w/+.-]*)(?P<params>(;[\w=.+-]+)*);base64,(?P<data>.*)$", re.DOTALL)
_ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}


class PixelBudget:
    """What is left of one request's decoded pixels (`ImageLimits.max_request_pixels`)."""

    def __init__(self, pixels: int) -> None:
        self.limit = pixels
        self.used = 0

    def take(self, width: int, height: int, param: str) -> None:
        """Count a picture of this size, or refuse it (413) before it is decoded."""
        if self.used + width * height > self.limit:
            raise ApiError(
                413,
                f"{param}: with this {width}×{height} picture the request's pictures come to "
                f"{(self.used + width * height) / 1e6:.1f} million pixels; this server decodes at "
                f"most {self.limit / 1e6:.1f} million per request",
                code="images_too_large",
                param=param,
            )
        self.used += width * height


def decode_image(
    raw: bytes, limits: ImageLimits, param: str, budget: PixelBudget | None = None
) -> np.ndarray:
    """An RGB array from encoded image bytes, or ApiError; its pixels counted in `budget` first."""
    from PIL import Image, UnidentifiedImageError

    if len(raw) > limits.max_bytes:
        raise ApiError(
            413,
            f"{param}: image is {len(raw)} bytes; the limit is {limits.max_bytes}",
            code="image_too_large",
            param=param,
        )
    try:
        with Image.open(io.BytesIO(raw)) as im:
            if im.format not in _ALLOWED_FORMATS:
                raise ApiError(
                    400, f"{param}: unsupported image format {im.format}", code="invalid_image", param=param
                )
            if im.width * im.height > limits.max_pixels:
                raise ApiError(
                    413,
                    f"{param}: image is {im.width}×{im.height} pixels; the limit is {limits.max_pixels}",
                    code="image_too_large",
                    param=param,
                )
            if budget is not None:
                budget.take(im.width, im.height, param)  # from the header: nothing decoded yet
            im.load()
            return np.asarray(im.convert("RGB"))
    except ApiError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ApiError(400, f"{param}: not a readable image", code="invalid_image", param=param) from None


def load_image_url(
    url: str, limits: ImageLimits, param: str, budget: PixelBudget | None = None
) -> np.ndarray:
    """Resolve a data URI, an http(s) URL (if allowed) or a local path (if allowed), within `budget`."""
    url = url.strip()
    match = _DATA_URI.match(url)
    if match:
        try:
            raw = base64.b64decode(match.group("data"), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(
                400, f"{param}: the base64 data is not valid", code="invalid_base64", param=param
            ) from None
        return decode_image(raw, limits, param, budget)
    if url.startswith("data:"):
        raise ApiError(
            400, f"{param}: data URIs must be base64 encoded images", code="invalid_image_url", param=param
        )
    scheme = _SCHEME.match(url)
    named = scheme.group(1).lower() if scheme else ""
    if named in ("http", "https"):  # case-insensitive, as schemes are (HTTP://…)
        if not limits.allow_remote:
            raise ApiError(
                400,
                f"{param}: fetching images from URLs is turned off",
                code="remote_images_disabled",
                param=param,
            )
        return decode_image(_fetch(url, limits, param), limits, param, budget)
    if named and named != "file":
        raise ApiError(
            400,
            f"{param}: {named} URLs are not supported; use a data URI or an http(s) URL",
            code="invalid_image_url",
            param=param,
        )
    if not limits.allowed_dirs:
        raise ApiError(
            400,
            f"{param}: use a data URI or an http(s) URL (local files are not enabled on this server)",
            code="invalid_image_url",
            param=param,
        )
    try:
        resolved = Path(url.removeprefix("file://")).expanduser().resolve()
    except (RuntimeError, OSError, ValueError):  # "~nobody/x", a NUL byte, a loop of links
        raise ApiError(
            400, f"{param}: not a usable file path", code="invalid_image_url", param=param
        ) from None
    if not any(resolved.is_relative_to(d.resolve()) for d in limits.allowed_dirs):
        raise ApiError(
            403,
            f"{param}: that file is outside the folders this server may read",
            code="forbidden_path",
            param=param,
        )
    if not resolved.is_file():
        raise ApiError(400, f"{param}: no such file", code="invalid_image_url", param=param)
    if resolved.stat().st_size > limits.max_bytes:
        raise ApiError(
            413,
            f"{param}: the file is larger than {limits.max_bytes} bytes",
            code="image_too_large",
            param=param,
        )
    return decode_image(resolved.read_bytes(), limits, param, budget)


def _fetch(url: str, limits: ImageLimits, param: str) -> bytes:
    backend = GuardedBackend(
        allow_private=limits.allow_private_urls,
        allow_link_local=limits.allow_link_local_urls,
        inner=limits.network,
    )
    try:
        return fetch_url(
            url,
            FetchLimits(
                max_bytes=limits.max_bytes,
                timeout_s=limits.fetch_timeout_s,
                max_redirects=limits.max_redirects,
            ),
            backend,
        )
    except FetchError as exc:
        if exc.too_large:
            raise ApiError(413, f"{param}: {exc}", code="image_too_large", param=param) from None
        code = "unsafe_image_url" if exc.unsafe else "image_fetch_failed"
        raise ApiError(400, f"{param}: {exc}", code=code, param=param) from None
