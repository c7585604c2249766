"""Turning `image_url` parts into pictures, within limits, with OpenAI-style errors."""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class ApiError(Exception):
    """An error answered in OpenAI's error shape with an HTTP status."""

    def __init__(
        self, status: int, message: str, *, code: str = "invalid_request", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param

    def body(self) -> dict[str, object]:
        """The JSON body: `{"error": {...}}`."""
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class ImageLimits:
    """What the server accepts."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    fetch_timeout_s: float = 10.0
    allow_remote: bool = True
    allowed_dirs: tuple[Path, ...] = ()  # local files only inside these (none: no local files)


_DATA_URI = re.compile(r"^data:(?P<mime>[\w/+.-]*)(?P<params>(;[\w=.+-]+)*);base64,(?P<data>.*)$", re.DOTALL)
_ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}


def decode_image(raw: bytes, limits: ImageLimits, param: str) -> np.ndarray:
    """An RGB array from encoded image bytes, or ApiError."""
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
            im.load()
            return np.asarray(im.convert("RGB"))
    except ApiError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ApiError(400, f"{param}: not a readable image", code="invalid_image", param=param) from None


def load_image_url(url: str, limits: ImageLimits, param: str) -> np.ndarray:
    """Resolve a data URI, an http(s) URL (if allowed) or a local path (if allowed)."""
    url = url.strip()
    match = _DATA_URI.match(url)
    if match:
        try:
            raw = base64.b64decode(match.group("data"), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(
                400, f"{param}: the base64 data is not valid", code="invalid_base64", param=param
            ) from None
        return decode_image(raw, limits, param)
    if url.startswith("data:"):
        raise ApiError(
            400, f"{param}: data URIs must be base64 encoded images", code="invalid_image_url", param=param
        )
    if url.startswith(("http://", "https://")):
        if not limits.allow_remote:
            raise ApiError(
                400,
                f"{param}: fetching images from URLs is turned off",
                code="remote_images_disabled",
                param=param,
            )
        return decode_image(_fetch(url, limits, param), limits, param)
    path = Path(url.removeprefix("file://")).expanduser()
    if not limits.allowed_dirs:
        raise ApiError(
            400,
            f"{param}: use a data URI or an http(s) URL (local files are not enabled on this server)",
            code="invalid_image_url",
            param=param,
        )
    resolved = path.resolve()
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
    return decode_image(resolved.read_bytes(), limits, param)


def _fetch(url: str, limits: ImageLimits, param: str) -> bytes:
    import httpx

    try:
        with httpx.stream("GET", url, timeout=limits.fetch_timeout_s, follow_redirects=True) as response:
            if response.status_code != 200:
                raise ApiError(
                    400,
                    f"{param}: fetching the image gave HTTP {response.status_code}",
                    code="image_fetch_failed",
                    param=param,
                )
            data = bytearray()
            for chunk in response.iter_bytes():
                data.extend(chunk)
                if len(data) > limits.max_bytes:
                    raise ApiError(
                        413,
                        f"{param}: the image is larger than {limits.max_bytes} bytes",
                        code="image_too_large",
                        param=param,
                    )
            return bytes(data)
    except httpx.HTTPError as exc:
        raise ApiError(
            400,
            f"{param}: could not fetch the image ({type(exc).__name__})",
            code="image_fetch_failed",
            param=param,
        ) from None
