"""The Mosaic API client, after the API's documented contract: uploads, avatar create / get / list, polling.

It knows nothing of checks, files on disk beyond the one it uploads, or the ledger. Every
request goes through :meth:`MosaicClient._send`, which retries what may succeed on a second try
(429, 5xx, a connection that failed) with exponential backoff and jitter, honouring
``Retry-After``, a bounded number of times, and turns everything else into one
:class:`~preflight.errors.MosaicError` whose message a user can act on. The API key goes into
the Authorization header and nowhere else; any text shown from a response is masked.
"""

from __future__ import annotations

import email.utils
import itertools
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from preflight.errors import AvatarFailed, MosaicError, UsageError
from preflight.media import Role
from preflight.version import __version__

DEFAULT_BASE_URL = "https://api.mosaic.so"
log = logging.getLogger("preflight.mosaic")


class Avatar(BaseModel):
    """An avatar profile as the API returns it; fields the docs do not name are kept as given."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    id: str
    name: str | None = None
    status: str = Field("pending", validation_alias=AliasChoices("status", "processing_status"))
    status_message: str | None = None
    video_preview_url: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("ready", "failed")


@dataclass(frozen=True)
class UploadTarget:
    """Where one file goes: the signed storage URL and the form fields that must precede it."""

    kind: Role
    asset_id: str
    url: str
    fields: dict[str, str]
    max_bytes: int | None


@dataclass(frozen=True)
class Retry:
    """How hard to try: ``attempts`` in all, waits growing from ``base_s`` by 2x up to ``cap_s``."""

    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 30.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.cap_s)
        # "full jitter": clients that failed together do not come back together
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


def base_url_from_env() -> str:
    """The API's base URL from MOSAIC_BASE_URL (default the real API), checked, as a client keeps it."""
    base = os.environ.get("MOSAIC_BASE_URL", "").strip() or DEFAULT_BASE_URL
    try:
        url = httpx.URL(base)
    except httpx.InvalidURL as exc:
        raise UsageError(f"MOSAIC_BASE_URL is not a valid URL ({exc}); unset it to use {DEFAULT_BASE_URL}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise UsageError(f"MOSAIC_BASE_URL must be an http(s) URL with a host, like {DEFAULT_BASE_URL}")
    return base.rstrip("/")


class MosaicClient:
    """A connection to the Mosaic API.

        >>> with MosaicClient.from_env() as mosaic:
        ...     mosaic.get_avatar("7f8d...").status
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: httpx.Timeout | float = httpx.Timeout(30.0, connect=10.0),
        upload_timeout: httpx.Timeout | float = httpx.Timeout(300.0, connect=10.0),
        retry: Retry = Retry(),
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise UsageError("no Mosaic API key: set MOSAIC_API_KEY")
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"the Mosaic base URL must start with http:// or https://, not {base_url!r}")
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.retry, self._sleep = retry, sleep
        agent = {"User-Agent": f"avatar-preflight/{__version__}"}
        self._api = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                 headers={**agent, "Authorization": f"Bearer {api_key}"})
        # The signed upload URL points at cloud storage: it must not see the key.
        self._storage = httpx.Client(timeout=upload_timeout, transport=transport, headers=agent)

    @classmethod
    def from_env(cls, **options: Any) -> MosaicClient:
        """Key from MOSAIC_API_KEY (required), base URL from MOSAIC_BASE_URL (default the real API)."""
        key = os.environ.get("MOSAIC_API_KEY", "").strip()
        if not key:
            raise UsageError("MOSAIC_API_KEY is not set: export your Mosaic API key (mk_...) to submit avatars")
        return cls(key, base_url_from_env(), **options)

    def __enter__(self) -> MosaicClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._api.close()
        self._storage.close()

    # -- uploads: three steps, so a caller can record each one ---------------------------------

    def get_upload_url(self, kind: Role) -> UploadTarget:
        body = self._json("POST", f"/uploads/{kind.value}/get_upload_url")
        try:
            return UploadTarget(kind, str(body[f"{kind.value}_id"]), str(body["upload_url"]),
                                {str(k): str(v) for k, v in (body.get("upload_fields") or {}).items()},
                                body.get("max_file_size_bytes"))
        except (KeyError, TypeError):
            raise MosaicError(f"get_upload_url for a {kind.value} answered without {kind.value}_id or upload_url") from None

    def put_file(self, target: UploadTarget, path: Path) -> None:
        """POST the file to the signed URL: every field first, then the file as ``file``."""
        size = path.stat().st_size
        if target.max_bytes is not None and size > target.max_bytes:
            raise MosaicError(f"{path.name} is {size} bytes; Mosaic takes at most {target.max_bytes} for a {target.kind.value}")

        def send() -> httpx.Response:
            with path.open("rb") as f:
                return self._storage.post(target.url, data=target.fields, files={"file": (path.name, f)})

        self._send(f"the {target.kind.value} upload to {urlsplit(target.url).netloc or target.url}", send)

    def finalize_upload(self, kind: Role, asset_id: str) -> None:
        self._json("POST", f"/uploads/{kind.value}/finalize_upload", json={f"{kind.value}_id": asset_id})

    # -- avatars --------------------------------------------------------------------------------

    def create_avatar(self, name: str, sources: dict[str, str]) -> Avatar:
        """POST /avatar-profiles/create. Not retried after the request may have arrived (a 5xx, a
        dropped connection, a read time-out): it could have created the avatar, and a second one
        is worse than an error. 429 and failures to connect are retried."""
        return Avatar.model_validate(self._json("POST", "/avatar-profiles/create",
                                                json={"name": name, "sources": sources}, idempotent=False))

    def get_avatar(self, avatar_id: str) -> Avatar:
        return Avatar.model_validate(self._json("GET", f"/avatar-profiles/{avatar_id}"))

    def list_avatars(self) -> list[Avatar]:
        body = self._json("GET", "/avatar-profiles")
        return [Avatar.model_validate(a) for a in body.get("avatar_profiles", [])]

    def wait(
        self,
        avatar_id: str,
        timeout_s: float = 900.0,
        on_poll: Callable[[Avatar], None] | None = None,
        first_poll_s: float = 2.0,
        max_poll_s: float = 30.0,
    ) -> Avatar:
        """Poll until the avatar is ready (returned) or failed (:class:`AvatarFailed`), with the
        interval growing 1.5x per poll; :class:`MosaicError` when ``timeout_s`` passes first."""
        deadline = time.monotonic() + timeout_s
        interval = first_poll_s
        while True:
            avatar = self.get_avatar(avatar_id)
            if on_poll:
                on_poll(avatar)
            if avatar.status == "failed":
                raise AvatarFailed(f"avatar {avatar_id} failed: {avatar.status_message or 'no reason given'}")
            if avatar.status == "ready":
                return avatar
            left = deadline - time.monotonic()
            if left <= 0:
                raise MosaicError(f"avatar {avatar_id} is still {avatar.status} after {timeout_s:g} s; "
                                  f"see later with `preflight status {avatar_id}`")
            self._sleep(min(interval, left))
            interval = min(interval * 1.5, max_poll_s)

    # -- the one place requests are sent --------------------------------------------------------

    def _json(self, method: str, path: str, *, json: Any = None, idempotent: bool = True) -> dict[str, Any]:
        response = self._send(f"{method} {self.base_url}{path}",
                              lambda: self._api.request(method, path, json=json), idempotent)
        try:
            body = response.json()
        except ValueError:
            raise MosaicError(f"{method} {path} answered {response.status_code} with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise MosaicError(f"{method} {path} answered with unexpected JSON: {self._mask(str(body)[:200])}")
        return body

    def _send(self, what: str, request: Callable[[], httpx.Response], idempotent: bool = True) -> httpx.Response:
        for attempt in itertools.count(1):
            status = retry_after = None
            try:
                response = request()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing arrived: safe to repeat
                problem = f"cannot connect ({exc or type(exc).__name__})"
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise MosaicError(f"{what}: {exc}") from None
            except httpx.TransportError as exc:  # a time-out or a dropped connection: it may have arrived
                problem = f"the connection failed ({type(exc).__name__})"
                if not idempotent:
                    raise MosaicError(f"{what}: {problem}, so it may or may not have been done") from None
            else:
                if response.status_code < 400:
                    return response
                status = response.status_code
                problem = f"{status} {response.reason_phrase}: {self._error_text(response)}"
                if status == 401:
                    problem += "; check MOSAIC_API_KEY (it is missing, mistyped or revoked)"
                if not (status == 429 or (status >= 500 and idempotent)):
                    maybe = ", so it may or may not have been done" if status >= 500 else ""
                    raise MosaicError(f"{what}: {problem}{maybe}", status)
                retry_after = _retry_after(response)
            if attempt >= self.retry.attempts:
                raise MosaicError(f"{what}: {problem} (gave up after {attempt} tries)", status)
            pause = self.retry.wait(attempt - 1, retry_after)
            log.info("%s: %s; try %d of %d in %.1f s", what, problem, attempt + 1, self.retry.attempts, pause)
            self._sleep(pause)
        raise AssertionError("unreachable")

    def _error_text(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            if "html" in response.headers.get("content-type", "") or response.text.lstrip()[:1] == "<":
                return "(a web page, not the API's answer: a proxy or the server's front end failed)"
            text = response.text
        else:
            found = body.get("error") or body.get("message") or body.get("detail") if isinstance(body, dict) else None
            text = found if isinstance(found, str) else str(found or body)
        return self._mask(" ".join(text.split())[:300]) or "(empty body)"

    def _mask(self, text: str) -> str:
        return text.replace(self._key, "mk_***")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date; anything else ("soon") is ignored and the usual back-off applies
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time()) if when else None
