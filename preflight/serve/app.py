"""The HTTP side: the page at ``/`` and the JSON API under ``/v1``.

Every answer that is not a success is ``{"error": {"reason": ..., "message": ...}}``; a create
refused for a NO-GO check adds ``reasons``, the report's reason codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import re
import time
from contextlib import asynccontextmanager
from importlib import resources
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

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
from preflight.mosaic import Avatar
from preflight.serve import Hosts, allowed_hosts, hostname
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


# What the answers carry, for the OpenAPI document (the handlers build them as dicts).

class ErrorDetail(BaseModel):
    reason: str = Field(description="a stable code: the README lists them")
    message: str = Field(description="for people; may change")
    reasons: list[str] | None = Field(None, description="sources.rejected only: the report's failing reason codes")


class ErrorBody(BaseModel):
    """Every answer that is not a success."""

    error: ErrorDetail


class CheckLinks(BaseModel):
    self: str
    report_html: str


class CheckAnswer(CheckRecord):
    """A check as the API shows it: ``report`` follows the schema of ``check --format json``."""

    links: CheckLinks
    verdict: Literal["go", "no-go"] | None = Field(None, description="once done")


class CheckList(BaseModel):
    checks: list[CheckAnswer] = Field(description="newest first, without their reports")


class Info(BaseModel):
    version: str
    can_create: bool = Field(description="the server has a Mosaic key")
    jobs: int
    queue_size: int
    time_limit_s: float
    max_bytes: dict[str, int] = Field(description="the upload limit of each role")


def _answers(success: int, model: Any, *errors: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: its success, and each error status with the error body."""
    found: dict[int | str, dict[str, Any]] = {success: {"model": model} if model is not None else {}}
    for status in errors:
        found[status] = {"model": ErrorBody, "description": _ERRORS[status]}
    return found


_ERRORS = {400: "a malformed request or set", 401: "the token is missing or wrong",
           403: "a foreign Host, or a change asked from another site's page", 404: "not found", 409: "not possible now",
           410: "gone", 413: "over Mosaic's size limit", 415: "not multipart or JSON", 422: "invalid parameters or JSON",
           429: "the queue is full (Retry-After)", 502: "the Mosaic API failed", 503: "no Mosaic key"}


_UPLOAD_DOC = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        role.value: {"type": "string", "format": "binary",
                     "description": f"the {role.value}, at most {MAX_BYTES[role] // 1_000_000} MB"}
        for role in Role}}},
    "application/json": {"schema": UrlSources.model_json_schema()}}}}


def create_app(checks: Checks, token: str | None, hosts: Hosts | None = None) -> FastAPI:
    """The app around ``checks``; with ``token`` every request but the page's own needs it. Every
    request must name one of ``hosts`` (default: localhost's), and a browser's request that changes
    something must come from the server's own page (:class:`_SameSite`)."""

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
    app.add_middleware(_SameSite, hosts=hosts or allowed_hosts("127.0.0.1"))  # added last: runs first

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

    @app.get("/v1/info", response_model=None, responses=_answers(200, Info))
    def info() -> dict[str, Any]:
        """What this server offers: whether it can create avatars, its queue, the upload limits."""
        return {"version": __version__, "can_create": _has_key(), "jobs": checks.jobs, "queue_size": checks.queue_size,
                "time_limit_s": checks.time_limit, "max_bytes": {role.value: MAX_BYTES[role] for role in Role}}

    @app.post("/v1/checks", status_code=202, openapi_extra=_UPLOAD_DOC, response_model=None,
              responses=_answers(202, CheckAnswer, 400, 413, 415, 422, 429))
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

    @app.get("/v1/checks", response_model=None, responses=_answers(200, CheckList, 422))
    def recent(limit: int = Query(20, ge=1, le=200)) -> dict[str, Any]:
        """The latest checks, newest first, without their reports."""
        return {"checks": [_public(r, report=False) for r in checks.recent(limit)]}

    @app.get("/v1/checks/{check_id}", response_model=None, responses=_answers(200, CheckAnswer, 404, 422))
    async def status(check_id: str, wait: float = Query(0.0, ge=0.0, le=MAX_WAIT_S,
                                                        description="long-poll: seconds to wait for it to finish")) -> dict[str, Any]:
        """The check's status; once done, its report in the schema of `check --format json`."""
        deadline = time.monotonic() + wait
        record = _found(checks, check_id)
        while not record.finished and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            record = _found(checks, check_id)
        return _public(record)

    @app.get("/v1/checks/{check_id}/report.html", response_class=HTMLResponse,
             responses=_answers(200, None, 404, 409))
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

    @app.post("/v1/avatars", status_code=201, response_model=None,
              responses={**_answers(201, Avatar, 404, 409, 410, 422, 502, 503),
                         200: {"model": Avatar, "description": "made from this check before: nothing was sent"}})
    def create(body: AvatarRequest) -> JSONResponse:
        """Create the avatar from a finished GO check, through the same gate as `preflight create`.
        A second create from the same check sends nothing and answers 200 with the first avatar."""
        return _create(checks, body)

    @app.get("/v1/avatars/{avatar_id}", response_model=None, responses=_answers(200, Avatar, 404, 502, 503))
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

    app.openapi = lambda: _openapi(app, token is not None)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, token: bool) -> dict[str, Any]:
    """FastAPI's document, with the bearer scheme (required when the server has a token) and the
    errors every route can answer: 401 without the token, 403 for a foreign host or site."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        document.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "PREFLIGHT_SERVE_TOKEN"}}
        if token:
            document["security"] = [{"bearer": []}]
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        for operations in document["paths"].values():
            for operation in operations.values():
                for code in [c for c in operation["responses"] if int(c) >= 400]:
                    # FastAPI's 422 is its {"detail": ...}, an HTML route's errors HTML: ours are the error body
                    operation["responses"][code] = {"description": _ERRORS[int(code)], **error}
                if token:
                    operation["responses"].setdefault("401", {"description": _ERRORS[401], **error})
                operation["responses"].setdefault("403", {"description": _ERRORS[403], **error})
        schemas = document["components"]["schemas"]
        used, todo = set(), [document["paths"]]
        while todo:  # the schemas the paths cite, and those they cite: FastAPI's 422 body and the like go
            text = json.dumps(todo.pop())
            for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)) - used:
                used.add(name)
                todo.append(schemas[name])
        document["components"]["schemas"] = {name: schemas[name] for name in sorted(used)}
        app.openapi_schema = document
    return app.openapi_schema


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
        reasons = sorted({c.reason for c in exc.report.blocking if c.reason})
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


class _SameSite:
    """Refuses (403) what a web page elsewhere could make a browser send: a request naming a host
    the server does not serve as (a DNS-rebinding page: its own name, pointed at this address),
    and a request that changes something (POST, PUT, PATCH, DELETE) from another origin (a form
    post or a fetch from any page the user visits), said by ``Origin`` or ``Sec-Fetch-Site``. A
    request with neither is not a browser's, and passes (curl, pipelines)."""

    def __init__(self, app: ASGIApp, hosts: Hosts) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        refusal = None
        if not self.hosts.allow(host):
            refusal = ("host.not_allowed", f"this server does not answer to the host {host[:100]!r}: "
                                           "start it with --allow-host NAME to serve under that name")
        elif scope["method"] not in ("GET", "HEAD", "OPTIONS") and not _same_origin(headers, host, self.hosts):
            refusal = ("origin.not_allowed", "a request from another site's page is refused: "
                                             "use this server's own page, or send it without a browser")
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _error(403, *refusal, {"Connection": "close"})(scope, receive, send)


def _same_origin(headers: dict[str, str], host: str, hosts: Hosts) -> bool:
    """Whether a browser sent this from the server's own page: its Origin is this Host (behind a
    proxy that rewrites the Host, a name given with --allow-host); without an Origin, a browser's
    Sec-Fetch-Site must say same-origin, or none (the user's own doing)."""
    origin = headers.get("origin")
    if origin is None:
        return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    scheme, _, netloc = origin.lower().partition("://")
    if scheme not in ("http", "https") or not netloc:
        return False  # "null": a sandboxed frame, a file, a redirect across origins
    return netloc == host.lower() or hostname(netloc) in hosts.given


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
