"""Fetching a URL source to a local file, so that it is checked like any other file.

Streaming, size-capped and time-boxed: a link that 404s, serves a web page, announces or sends
more than the cap, stalls, or never ends gives one :class:`~preflight.errors.InputError` and
leaves no partial file behind.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from preflight.errors import InputError

if TYPE_CHECKING:
    import httpx

# Content types a media file is served as; many stores send octet-stream, and a missing type is
# left for the probe to judge.
_MEDIA_TYPES = ("video/", "image/", "audio/")
_BINARY_TYPES = {"application/octet-stream", "binary/octet-stream", "application/mp4", "application/ogg",
                 "application/mxf"}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """How far a download may go. ``read_s`` bounds a stall; ``total_s`` a body that trickles on."""

    max_bytes: int
    connect_s: float = 10.0
    read_s: float = 30.0
    total_s: float = 600.0
    max_redirects: int = 5


def is_url(text: object) -> bool:
    return isinstance(text, str) and "://" in text[:12]


def download(url: str, folder: Path, limits: Limits, transport: httpx.BaseTransport | None = None) -> Path:
    """Stream ``url`` into ``folder`` and return the file's path (named after the URL's last part)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise InputError(f"{url}: only http and https URLs can be fetched, not {scheme}")
    target = folder / _file_name(url)
    try:
        _fetch(url, target, limits, transport)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _fetch(url: str, target: Path, limits: Limits, transport: httpx.BaseTransport | None) -> None:
    import httpx  # loaded only when a URL is fetched

    timeout = httpx.Timeout(limits.read_s, connect=limits.connect_s)
    try:
        with httpx.Client(follow_redirects=True, max_redirects=limits.max_redirects, timeout=timeout,
                          transport=transport, headers={"Accept-Encoding": "identity"}) as client:
            with client.stream("GET", url) as response:
                _accept(url, response, limits)
                _save(url, response, target, limits)
    except httpx.TooManyRedirects:
        raise InputError(f"{url}: more than {limits.max_redirects} redirects") from None
    except httpx.TimeoutException:
        raise InputError(f"{url}: the server did not answer in time (limits: connect {limits.connect_s:g} s, "
                         f"read {limits.read_s:g} s)") from None
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: the download failed ({exc or type(exc).__name__})") from None
    except OSError as exc:  # the folder is this machine's business, not the URL's: not named
        raise InputError(f"{url}: cannot save the download here ({exc.strerror})") from None


def _accept(url: str, response: httpx.Response, limits: Limits) -> None:
    if response.status_code >= 400:
        raise InputError(f"{url}: the server answered {response.status_code} {response.reason_phrase}")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and not kind.startswith(_MEDIA_TYPES) and kind not in _BINARY_TYPES:
        raise InputError(f"{url}: the server sends {kind}, not a media file; link to the file itself")
    announced = response.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limits.max_bytes:
        raise InputError(f"{url}: the file is {_mb(int(announced))}, over the {_mb(limits.max_bytes)} limit")


def _save(url: str, response: httpx.Response, target: Path, limits: Limits) -> None:
    deadline = time.monotonic() + limits.total_s
    received = 0
    with target.open("wb") as out:
        for chunk in response.iter_bytes(_CHUNK):
            received += len(chunk)
            if received > limits.max_bytes:
                raise InputError(f"{url}: the download passed the {_mb(limits.max_bytes)} limit; stopped")
            if time.monotonic() > deadline:
                raise InputError(f"{url}: the download took longer than {limits.total_s:g} s; stopped")
            out.write(chunk)
    if received == 0:
        raise InputError(f"{url}: the server sent an empty body")


def _file_name(url: str) -> str:
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", last).lstrip(".")
    return safe[:100] or "download"


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n} bytes"
