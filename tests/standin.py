"""A stand-in of the Mosaic API (DESIGN.md section 3) for the tests: a real HTTP server on
127.0.0.1 that keeps what it received and can be told to misbehave.

    server = StandIn(api_key="mk_test").start()
    server.fault("POST /avatar-profiles/create", status=429, retry_after=1, times=2)
    ...
    server.stop()

The same API also answers in this process, with no server started, through
``httpx.MockTransport(server.answer)``: the same state and faults; a dropped connection is the
``httpx.RemoteProtocolError`` a real one raises.

Routes: the upload three-step (get_upload_url, a signed POST target under /storage/, which needs
no Authorization, finalize_upload), avatar create / get / list. An avatar advances one status per
GET: pending -> processing -> ready (or failed, with ``avatars_fail``).
"""

from __future__ import annotations

import email.parser
from collections.abc import Callable
import email.policy
import hashlib
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

KINDS = ("video", "image", "audio")


@dataclass
class Fault:
    route: str  # "METHOD /path", the path with ids replaced by {id}
    times: int
    status: int | None = None  # answer with this status and an error body
    retry_after: str | None = None
    error: str = "injected fault"  # the error text; {authorization} stands for the header received
    html: bool = False  # answer with a web page (a proxy's error page) instead of the API's JSON
    delay: float = 0.0  # sleep this long first
    drop: str | None = None  # "before" (close without handling) or "after" (handle, then close)
    hold: threading.Event | None = None  # wait for this before handling
    arrived: threading.Event = field(default_factory=threading.Event)


@dataclass
class Received:
    method: str
    path: str
    route: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Upload:
    kind: str
    fields: dict[str, str]
    parts: list[str] = field(default_factory=list)  # part names in the order they came
    sha256: str | None = None
    size: int = 0
    content: bytes = b""  # the file as stored
    finalized: bool = False


class StandIn:
    def __init__(self, api_key: str = "mk_test_key") -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        self.uploads: dict[str, Upload] = {}
        self.avatars: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.avatars_fail = False
        self.max_file_size = 5_000_000_000
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StandIn:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def close(self) -> None:
        """Give back the port of a stand-in that was never started (one used through ``answer``)."""
        self._server.server_close()

    def answer(self, request: httpx.Request) -> httpx.Response:
        """The answer to one request, for ``httpx.MockTransport``."""
        def drop() -> None:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

        headers = {k.lower(): v for k, v in request.headers.items()}
        status, body, extra = self.serve(request.method, request.url.path, headers, request.read(), drop)
        return httpx.Response(status, content=body, headers=extra)

    def serve(self, method: str, path: str, headers: dict[str, str], body: bytes,
              drop: Callable[[], None]) -> tuple[int, bytes, dict[str, str]]:
        """Record the request, apply a fault on its route, answer it: status, body, headers.
        ``drop`` closes the connection (and does not return)."""
        route = _route(method, path)
        with self.lock:
            self.requests.append(Received(method, path, route, headers, body))
        fault = self.take_fault(route)
        if fault:
            fault.arrived.set()
            if fault.hold is not None:
                fault.hold.wait(30)
            time.sleep(fault.delay)
            if fault.drop == "before":
                drop()
            if fault.status is not None:
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                text = fault.error.replace("{authorization}", headers.get("authorization", ""))
                if fault.html:
                    page = (f"<html><head><title>{fault.status} Bad Gateway</title></head>"
                            f"<body><center><h1>{fault.status} Bad Gateway</h1></center>"
                            "<hr><center>nginx</center></body></html>\n")
                    return fault.status, page.encode(), {**extra, "Content-Type": "text/html"}
                return fault.status, json.dumps({"error": f"{text} {fault.status}"}).encode(), \
                    {**extra, "Content-Type": "application/json"}
        status, answer = self.handle(method, path, headers, body)
        if fault and fault.drop == "after":
            drop()
        if answer is None:
            return status, b"", {}
        return status, json.dumps(answer).encode(), {"Content-Type": "application/json"}

    def fault(self, route: str, times: int = 1, **how: Any) -> Fault:
        rule = Fault(route, times, **how)
        with self.lock:
            self.faults.append(rule)
        return rule

    def calls(self, route: str) -> list[Received]:
        return [r for r in self.requests if r.route == route]

    # -- called by the handler ----------------------------------------------------------------

    def take_fault(self, route: str) -> Fault | None:
        with self.lock:
            for rule in self.faults:
                if rule.route == route and rule.times > 0:
                    rule.times -= 1
                    return rule
        return None

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | None]:
        if path.startswith("/storage/"):
            return self._store(path.removeprefix("/storage/"), headers, body)
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {"error": "invalid or missing API key"}
        data = json.loads(body) if body else {}
        if m := re.fullmatch(r"/uploads/(video|image|audio)/get_upload_url", path):
            kind, asset = m[1], str(uuid.uuid4())
            upload = Upload(kind, {"key": f"uploads/{asset}", "policy": "c3RhbmQtaW4=", "signature": uuid.uuid4().hex})
            with self.lock:
                self.uploads[asset] = upload
            return 200, {f"{kind}_id": asset, "upload_url": f"{self.url}/storage/{asset}",
                         "upload_fields": upload.fields, "max_file_size_bytes": self.max_file_size}
        if m := re.fullmatch(r"/uploads/(video|image|audio)/finalize_upload", path):
            upload = self.uploads.get(data.get(f"{m[1]}_id", ""))
            if upload is None or upload.kind != m[1] or upload.sha256 is None:
                return 404, {"error": "no such upload, or nothing was stored for it"}
            upload.finalized = True
            return 200, {f"{m[1]}_id": data[f"{m[1]}_id"]}
        if path == "/avatar-profiles/create" and method == "POST":
            return self._create(data)
        if path == "/avatar-profiles" and method == "GET":
            return 200, {"avatar_profiles": list(self.avatars.values())}
        if (m := re.fullmatch(r"/avatar-profiles/([0-9a-f-]+)", path)) and method == "GET":
            avatar = self.avatars.get(m[1])
            if avatar is None:
                return 404, {"error": "avatar not found"}
            self._advance(avatar)
            return 200, avatar
        return 404, {"error": f"no route {method} {path}"}

    def _store(self, asset: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | None]:
        upload = self.uploads.get(asset)
        if upload is None:
            return 403, {"error": "unknown upload target"}
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {headers.get('content-type', '')}\r\n\r\n".encode() + body)
        if not message.is_multipart():
            return 400, {"error": "expected multipart/form-data"}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            upload.parts.append(name)
            payload = part.get_payload(decode=True) or b""
            if name == "file":
                upload.sha256, upload.size, upload.content = hashlib.sha256(payload).hexdigest(), len(payload), payload
            elif upload.fields.get(name) != payload.decode():
                return 403, {"error": f"field {name} does not match the signed policy"}
        if upload.sha256 is None or upload.parts[-1] != "file" or set(upload.parts[:-1]) != set(upload.fields):
            return 400, {"error": "the fields must all come first and the file last"}
        return 204, None

    def _create(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sources = data.get("sources") or {}
        name = data.get("name")
        if not isinstance(name, str) or not name:
            return 422, {"error": "name is required"}
        roles = {key.split("_")[0] for key in sources}
        if "video" not in roles and not {"image", "audio"} <= roles:
            return 422, {"error": "sources need a video, or an image and an audio"}
        for key, value in sources.items():
            if key.endswith("_id"):
                upload = self.uploads.get(value)
                if upload is None or not upload.finalized or upload.kind != key[:-3]:
                    return 422, {"error": f"{key} {value} is not a finalized {key[:-3]} upload"}
        avatar = {"id": str(uuid.uuid4()), "video_preview_url": None, "name": name, "status": "pending",
                  "status_message": None, "sources": sources, "created_at": time.time()}
        with self.lock:
            self.avatars[avatar["id"]] = avatar
        return 200, avatar

    def _advance(self, avatar: dict[str, Any]) -> None:
        if avatar["status"] == "pending":
            avatar["status"] = "processing"
        elif avatar["status"] == "processing":
            if self.avatars_fail:
                avatar["status"], avatar["status_message"] = "failed", "no face could be tracked in the video"
            else:
                avatar["status"] = "ready"
                avatar["video_preview_url"] = f"{self.url}/previews/{avatar['id']}.mp4"


def _route(method: str, path: str) -> str:
    return f"{method} " + re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/{id}", path)


class _Dropped(Exception):
    """The connection was closed without an answer, on purpose."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-answer is what several tests do on purpose


def _handler(api: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _read_body(self) -> bytes:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def _serve(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra = api.serve(self.command, self.path.split("?")[0], headers, self._read_body(), self._drop)
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _drop(self) -> None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            raise _Dropped

    return Handler
