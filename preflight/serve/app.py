"""The HTTP side: the page at ``/`` and the JSON API under ``/v1``.

Every answer that is not a success is ``{"error": {"reason": ..., "message": ...}}``; a create
refused for a NO-GO check adds ``reasons``, the report's reason codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import time
from contextlib import asynccontextmanager
from importlib import resources
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from preflight.batch import Result, SourceSet
from preflight.download import is_url
from preflight.errors import MosaicError, PreflightError, RejectedSources
from preflight.media import Role
from preflight.serve.uploads import (MAX_BODY_BYTES, BadUpload, read_json, receive, refuse_declared,
                                     refuse_declared_json)
from preflight.serve.work import CheckRecord, Checks, CheckStatus, QueueFull
from preflight.sources import MAX_BYTES
from preflight.version import __version__

MAX_WAIT_S = 60.0
# The page and the report are our own markup: nothing may load from elsewhere, nor run but inline.
_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'")


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, *, headers: dict[str, str] | None = None,
                 reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.reason, self.headers, self.reasons = status, reason, headers or {}, reasons


class UrlSources(BaseModel):
    """A check of media at http(s) URLs: a video, or an image and an audio (or all three)."""

    video: str | None = None
    image: str | None = None
    audio: str | None = None


class AvatarRequest(BaseModel):
    check_id: str = Field(description="a finished GO check")
    name: str = Field(min_length=1, max_length=100, description="the avatar's name")


_UPLOAD_DOC = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        role.value: {"type": "string", "format": "binary",
                     "description": f"the {role.value}, at most {MAX_BYTES[role] // 1_000_000} MB"}
        for role in Role}}},
    "application/json": {"schema": UrlSources.model_json_schema()}}}}


def create_app(checks: Checks, token: str | None) -> FastAPI:
    """The app around ``checks``; with ``token`` every request but the page's own needs it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        checks.start()
        yield
        checks.stop()

    app = FastAPI(title="preflight", version=__version__, openapi_url="/v1/openapi.json", docs_url=None,
                  redoc_url=None, lifespan=lifespan,
                  description="Check avatar source media before it goes to Mosaic, and create the avatar "
                              "from a GO check. Errors: {\"error\": {\"reason\", \"message\"}}.")
    if token:
        app.add_middleware(_Token, token=token)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.reason, str(exc), exc.headers, exc.reasons)

    @app.exception_handler(BadUpload)
    async def bad_upload(_: Request, exc: BadUpload) -> JSONResponse:
        # The rest of the body is not read: the connection cannot carry another request.
        return _error(exc.status, exc.reason, str(exc), {"Connection": "close"})

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        reason = "route.not_found" if exc.status_code == 404 else "request.invalid"
        return _error(exc.status_code, reason, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        return _error(422, "request.invalid", where)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(_PAGE, headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store"})

    @app.get("/v1/info")
    def info() -> dict[str, Any]:
        """What this server offers: whether it can create avatars, its queue, the upload limits."""
        return {"version": __version__, "can_create": _has_key(), "jobs": checks.jobs, "queue_size": checks.queue_size,
                "time_limit_s": checks.time_limit, "max_bytes": {role.value: MAX_BYTES[role] for role in Role}}

    @app.post("/v1/checks", status_code=202, openapi_extra=_UPLOAD_DOC)
    async def submit(request: Request) -> JSONResponse:
        """Upload a video, or an image and a voice audio (multipart), or name them by URL (JSON).
        202 with the check; 429 with Retry-After when the queue is full; 413 over Mosaic's limits."""
        try:
            with checks.slot():
                record = await _take(request, checks)
        except QueueFull as exc:
            raise ApiError(429, "queue.full", str(exc),
                           headers={"Retry-After": str(exc.retry_after), "Connection": "close"}) from None
        return JSONResponse(_public(record), status_code=202, headers={"Location": f"/v1/checks/{record.id}"})

    @app.get("/v1/checks")
    def recent(limit: int = Query(20, ge=1, le=200)) -> dict[str, Any]:
        """The latest checks, newest first, without their reports."""
        return {"checks": [_public(r, report=False) for r in checks.recent(limit)]}

    @app.get("/v1/checks/{check_id}")
    async def status(check_id: str, wait: float = Query(0.0, ge=0.0, le=MAX_WAIT_S,
                                                        description="long-poll: seconds to wait for it to finish")) -> dict[str, Any]:
        """The check's status; once done, its report in the schema of `check --format json`."""
        deadline = time.monotonic() + wait
        record = _found(checks, check_id)
        while not record.finished and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            record = _found(checks, check_id)
        return _public(record)

    @app.get("/v1/checks/{check_id}/report.html", response_class=HTMLResponse)
    def report_page(check_id: str) -> HTMLResponse:
        """The report as a self-contained page, as `check --report` writes it."""
        from preflight.html import render

        record = _found(checks, check_id)
        if record.report is None:
            raise ApiError(409, "check.not_finished", f"check {check_id} is {record.status.value}; wait for it")
        name = record.report.name or check_id
        result = Result(SourceSet(name), record.report, record.evidence, cached=record.cached,
                        seconds=record.seconds or 0.0)
        return HTMLResponse(render([result], [], name), headers={"Content-Security-Policy": _CSP})

    @app.post("/v1/avatars", status_code=201)
    def create(body: AvatarRequest) -> JSONResponse:
        """Create the avatar from a finished GO check, through the same gate as `preflight create`.
        A second create from the same check sends nothing and answers 200 with the first avatar."""
        return _create(checks, body)

    @app.get("/v1/avatars/{avatar_id}")
    def avatar(avatar_id: str) -> dict[str, Any]:
        """An avatar this server (or `preflight create` with the same ledger) made, as Mosaic has it now."""
        from preflight.ledger import Ledger
        from preflight.mosaic import MosaicClient

        _needs_key()
        with _mosaic_errors(), MosaicClient.from_env() as client, Ledger() as ledger:
            if avatar_id not in ledger.known_ids(client.base_url):
                raise ApiError(404, "avatar.not_found", f"no avatar {avatar_id} was created here")
            found = client.get_avatar(avatar_id)
            ledger.set_status(client.base_url, found.id, found.status, found.status_message)
        shown = found.model_dump(mode="json")
        checks.update_avatar(shown)
        return shown

    return app


async def _take(request: Request, checks: Checks) -> CheckRecord:
    """The check a request asks for, queued: its files streamed to the server's folder, or its URLs."""
    kind = request.headers.get("content-type", "")
    check_id = checks.new_id()
    if kind.split(";")[0].strip().lower() == "application/json":
        refuse_declared_json(request.headers.get("content-length"))
        try:
            urls = UrlSources.model_validate_json(await read_json(request.stream()))
        except ValueError as exc:
            raise ApiError(422, "request.invalid", f"the JSON names a video, image and/or audio URL ({exc})") from None
        given = {role: value for role in Role if (value := getattr(urls, role.value))}
        if not all(is_url(v) and v.lower().startswith(("http://", "https://")) for v in given.values()):
            raise ApiError(422, "request.invalid", "give http(s) URLs; to send files, upload them as multipart")
        _complete(set(given))
        return checks.submit(check_id, given, dict(given), [])
    refuse_declared(request.headers.get("content-length"), MAX_BODY_BYTES)
    received = await receive(kind, request.stream(), checks.upload_dir, check_id)
    try:
        _complete(set(received.paths))
    except ApiError:
        for path in received.paths.values():
            path.unlink(missing_ok=True)
        raise
    return checks.submit(check_id, {role: str(p) for role, p in received.paths.items()}, received.labels,
                         list(received.paths.values()))


def _complete(roles: set[Role]) -> None:
    if Role.VIDEO not in roles and not {Role.IMAGE, Role.AUDIO} <= roles:
        raise ApiError(400, "source_set.incomplete", "an avatar needs a video, or an image and a voice audio")


def _create(checks: Checks, body: AvatarRequest) -> JSONResponse:
    from preflight.ledger import Ledger
    from preflight.mosaic import MosaicClient
    from preflight.submit import plan_checked, submit_plan

    record = _found(checks, body.check_id)
    if not record.finished:
        raise ApiError(409, "check.not_finished", f"check {record.id} is {record.status.value}; wait for it")
    if record.status is CheckStatus.ERROR or record.report is None:
        raise ApiError(409, "check.error", f"check {record.id} could not be run; check the media again")
    _needs_key()
    with checks.creating(record.id):
        record = _found(checks, record.id)
        if record.avatar is not None:  # made from this check already: nothing is sent
            return JSONResponse(record.avatar, status_code=200)
        given = {role.value: value for role, value in checks.given(record.id).items()}
        if record.report.go and len(given) < len(record.sources):
            raise ApiError(410, "upload.gone", "the uploaded files are gone (the server restarted); upload them again")
        with _mosaic_errors(), MosaicClient.from_env() as client, Ledger() as ledger:
            made = submit_plan(plan_checked(body.name.strip(), record.report, given), client, ledger)
        shown = made.model_dump(mode="json")
        checks.set_avatar(record.id, shown, created=True)
    return JSONResponse(shown, status_code=201, headers={"Location": f"/v1/avatars/{made.id}"})


@contextlib.contextmanager
def _mosaic_errors() -> Iterator[None]:
    """The gate's and the API's exceptions as API errors (the client masks what it echoes)."""
    try:
        yield
    except RejectedSources as exc:
        reasons = sorted({c.reason for c in exc.report.checks if c.reason and c.status.value in ("fail", "error")})
        raise ApiError(409, "sources.rejected", str(exc), reasons=reasons) from None
    except MosaicError as exc:
        raise ApiError(502, "mosaic.error", str(exc)) from None
    except PreflightError as exc:
        raise ApiError(400, "request.invalid", str(exc)) from None


def _has_key() -> bool:
    return bool(os.environ.get("MOSAIC_API_KEY", "").strip())


def _needs_key() -> None:
    if not _has_key():
        raise ApiError(503, "mosaic.no_key", "this server has no Mosaic key: start it with MOSAIC_API_KEY set")


def _found(checks: Checks, check_id: str) -> CheckRecord:
    record = checks.get(check_id)
    if record is None:
        raise ApiError(404, "check.not_found", f"no check {check_id[:40]!r} here")
    return record


def _public(record: CheckRecord, report: bool = True) -> dict[str, Any]:
    shown = record.model_dump(mode="json", exclude=None if report else {"report"})
    shown["links"] = {"self": f"/v1/checks/{record.id}", "report_html": f"/v1/checks/{record.id}/report.html"}
    if record.report is not None:
        shown["verdict"] = record.report.verdict
    return shown


def _error(status: int, reason: str, message: str, headers: dict[str, str] | None = None,
           reasons: list[str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"reason": reason, "message": message}
    if reasons is not None:
        body["reasons"] = reasons
    return JSONResponse({"error": body}, status_code=status, headers=headers)


class _Token:
    """Every request but the page itself (which holds no data and asks for the token) needs
    ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        reason = "auth.missing" if not given else "auth.wrong"
        answer = _error(401, reason, "this server needs its token: send Authorization: Bearer <PREFLIGHT_SERVE_TOKEN>",
                        {"WWW-Authenticate": "Bearer", "Connection": "close"})
        await answer(scope, receive, send)


_PAGE = resources.files("preflight.serve").joinpath("page.html").read_text(encoding="utf-8")
