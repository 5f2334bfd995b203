"""`preflight serve` as a client sees it: the real server in its own process on 127.0.0.1, driven
over HTTP, with the Mosaic stand-in behind it. One server for the module (one worker, a queue of
two, a token); the tests run in file order and share it."""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import jsonschema
import pytest

from conftest import ROOT, SHARED_MEDIA, cli
from standin import StandIn

TOKEN = "team-secret-7f3a"


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    api: httpx.Client
    mosaic: StandIn
    tmp: Path  # the server's TMPDIR: its upload folder is made in here
    log: Path

    def check(self, **files: tuple[str, bytes]) -> dict:
        """Upload files by role, {role: (filename, bytes)}, and wait for the check to finish."""
        sent = self.api.post("/v1/checks", files={role: (name, data) for role, (name, data) in files.items()})
        assert sent.status_code == 202, sent.text
        return self.finished(sent.json()["id"])

    def finished(self, check_id: str) -> dict:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            record = self.api.get(f"/v1/checks/{check_id}", params={"wait": 30}, timeout=40).json()
            if record["status"] in ("done", "error"):
                return record
        raise AssertionError(f"check {check_id} never finished: {self.log.read_text()[-2000:]}")

    def status(self, check_id: str) -> str:
        return self.api.get(f"/v1/checks/{check_id}").json()["status"]

    def uploads(self) -> list[Path]:
        return [p for folder in self.tmp.glob("preflight-serve-*") for p in folder.iterdir()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    (tmp / "tmp").mkdir()
    mosaic = StandIn(api_key="mk_live_5ecret_serve_key").start()
    port = _free_port()
    env = {**os.environ, "MOSAIC_API_KEY": mosaic.api_key, "MOSAIC_BASE_URL": mosaic.url,
           "PREFLIGHT_HOME": str(tmp / "home"), "PREFLIGHT_SERVE_TOKEN": TOKEN, "TMPDIR": str(tmp / "tmp")}
    log = tmp / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(Path(sys.executable).with_name("preflight")), "serve", "--port", str(port),
                                    "--jobs", "1", "--queue", "2", "--time-limit", "60"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    deadline = time.monotonic() + 60
    while True:
        try:
            if api.get("/v1/info").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield Server(url, process, api, mosaic, tmp / "tmp", log)
    api.close()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
    mosaic.stop()


def _fixture(name: str) -> bytes:
    from conftest import FIXTURES

    return (FIXTURES / name).read_bytes()


def test_the_page_is_served_without_the_token_and_loads_nothing_from_elsewhere(server):
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "name=\"viewport\"" in html and "upload.onprogress" in html and "sessionStorage" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_every_api_request_needs_the_token(server):
    missing = httpx.get(f"{server.url}/v1/info")
    wrong = httpx.get(f"{server.url}/v1/checks", headers={"Authorization": "Bearer guess"})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["error"]["reason"] == "auth.missing" and wrong.json()["error"]["reason"] == "auth.wrong"
    assert httpx.get(f"{server.url}/v1/openapi.json").status_code == 401
    schema = server.api.get("/v1/openapi.json").json()
    assert {"/v1/checks", "/v1/checks/{check_id}", "/v1/checks/{check_id}/report.html", "/v1/avatars",
            "/v1/avatars/{avatar_id}"} <= set(schema["paths"])
    assert "multipart/form-data" in schema["paths"]["/v1/checks"]["post"]["requestBody"]["content"]


def test_a_foreign_host_is_refused_even_for_the_page(server):
    # a request naming another host is refused: else a DNS-rebinding page could drive the server
    port = server.url.rsplit(":", 1)[1]
    for path in ("/", "/v1/info"):
        answer = server.api.get(path, headers={"Host": f"evil.example:{port}"})
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["reason"] == "host.not_allowed"
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "LOCALHOST"):
        assert server.api.get("/v1/info", headers={"Host": host}).status_code == 200


def test_a_post_from_another_sites_page_is_refused(server):
    # a cross-origin multipart POST needs no preflight request: a plain form on any page could send one
    files = {"image": ("face.png", _fixture("face.png"))}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Origin": server.url.replace("127.0.0.1", "localhost")},  # another origin, though local
                    {"Sec-Fetch-Site": "cross-site"}):
        answer = server.api.post("/v1/checks", files=files, headers=headers)
        assert answer.status_code == 403, (headers, answer.text)
        assert answer.json()["error"] == {"reason": "origin.not_allowed", "message": answer.json()["error"]["message"]}
        refused = server.api.post("/v1/avatars", json={"check_id": "0" * 32, "name": "Ada"}, headers=headers)
        assert refused.status_code == 403
    # the server's own page, and a client that is no browser, get through to the request's own answer
    own = server.api.post("/v1/checks", files=files, headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 400 and own.json()["error"]["reason"] == "source_set.incomplete"
    assert server.api.post("/v1/checks", files=files).status_code == 400
    assert server.api.get("/v1/info", headers={"Origin": "http://evil.example"}).status_code == 200  # reads: CORS guards them
    assert server.uploads() == []


def test_off_localhost_a_guessable_token_is_refused():
    # off localhost the token is all that guards the server: one that can be guessed is refused
    result = cli("serve", "--host", "0.0.0.0", "--port", str(_free_port()), env={"PREFLIGHT_SERVE_TOKEN": TOKEN})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "PREFLIGHT_SERVE_TOKEN is too easy to guess" in line and "openssl rand -hex 16" in line


def test_token_entropy_is_estimated_from_its_alphabet():
    import secrets

    from preflight.serve import TOKEN_MIN_BITS, token_bits

    for strong in (secrets.token_hex(16), secrets.token_urlsafe(16), secrets.token_hex(16).upper()):
        assert token_bits(strong) >= TOKEN_MIN_BITS, strong
    for weak in (TOKEN, secrets.token_hex(15), "ab" * 40, "0123456789" * 4, "x" * 100, "0123456"):
        assert token_bits(weak) < TOKEN_MIN_BITS, weak


def test_off_localhost_it_refuses_to_start_without_a_token():
    result = cli("serve", "--host", "0.0.0.0", "--port", str(_free_port()), env={"PREFLIGHT_SERVE_TOKEN": ""})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "PREFLIGHT_SERVE_TOKEN" in line


def test_refusals_are_json_with_a_reason(server):
    def reason(answer: httpx.Response, status: int) -> str:
        assert answer.status_code == status, answer.text
        return answer.json()["error"]["reason"]

    assert reason(server.api.get("/v1/checks/0123456789abcdef0123456789abcdef"), 404) == "check.not_found"
    assert reason(server.api.get("/v1/checks/..%2F..%2Fetc%2Fpasswd"), 404) == "route.not_found"
    assert reason(server.api.get("/v1/checks/..%5C..%5Cetc%5Cpasswd"), 404) == "check.not_found"
    assert reason(server.api.post("/v1/checks", json={"video": "file:///etc/passwd"}), 422) == "request.invalid"
    lone = server.api.post("/v1/checks", files={"image": ("face.png", _fixture("face.png"))})
    assert reason(lone, 400) == "source_set.incomplete"
    assert reason(server.api.post("/v1/checks", content=b"clip", headers={"Content-Type": "video/mp4"}), 415) == "upload.type"
    stray = server.api.post("/v1/checks", files={"../video": ("a.mp4", b"x")})
    assert reason(stray, 400) == "upload.field"
    assert reason(server.api.post("/v1/avatars", json={"check_id": "0" * 32, "name": "Ada"}), 404) == "check.not_found"
    assert reason(server.api.post("/v1/avatars", json={"check_id": "0" * 32}), 422) == "request.invalid"
    assert server.uploads() == []  # nothing refused stays behind


def test_a_json_body_over_its_limit_says_the_limit_in_kb(server):
    # a limit under a megabyte is said in kB, not as "the 0 MB limit"
    big = server.api.post("/v1/checks", content=b"{" + b" " * 70_000 + b"}",
                          headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["error"]["reason"] == "upload.too_large"
    message = big.json()["error"]["message"]
    assert "over the 64 kB limit" in message and "0 MB" not in message


def test_a_url_that_is_not_media_is_named_by_its_url_never_by_the_servers_path(server, web):
    # the server's own paths (where a worker saved the download) are not the client's business
    sent = server.api.post("/v1/checks", json={"video": f"{web.url}/files/text.mp4"})
    failed = server.finished(sent.json()["id"])
    message = failed["error"]["message"]
    assert failed["status"] == "error" and f"{web.url}/files/text.mp4: not a readable" in message
    assert "preflight-" not in json.dumps(failed) and str(server.tmp) not in json.dumps(failed)


@pytest.mark.console
def test_without_the_serve_extra_it_says_how_to_install_it():
    # fastapi made unimportable in a new process, as in an install without the extra
    code = "import sys; sys.modules['fastapi'] = None; sys.argv = ['preflight', 'serve']; " \
           "from preflight.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    # the install hint names what works: avatar-preflight is not published on PyPI
    assert result.stderr.strip() == ("error: preflight serve needs fastapi: install preflight with its serve extra "
                                     "(`pipx install --force '.[serve]'` in its checkout; README: Install)")


def test_a_go_clip_round_trip_then_one_create_and_a_second_that_sends_nothing(server):
    record = server.check(video=("talking_head.mp4", _fixture("talking_head.mp4")))
    assert record["status"] == "done" and record["verdict"] == "go", record
    report = record["report"]
    jsonschema.validate(report, json.loads((ROOT / "schema" / "report.schema.json").read_text()))
    assert [s["path"] for s in report["sources"]] == ["talking_head.mp4"]  # the client's name, not the server's file
    page = server.api.get(record["links"]["report_html"])
    # GO with a warning: av_sync cannot judge the puppet's 84 px mouth (under min_mouth_px)
    assert page.status_code == 200 and "class='badge warn'" in page.text and "class='strip'" in page.text
    assert record["id"] in [c["id"] for c in server.api.get("/v1/checks").json()["checks"]]
    assert len(server.uploads()) == 1  # a GO upload waits for its create

    made = server.api.post("/v1/avatars", json={"check_id": record["id"], "name": "Ada"})
    assert made.status_code == 201, made.text
    avatar = made.json()
    assert server.mosaic.avatars[avatar["id"]]["sources"] == {"video_id": next(iter(server.mosaic.uploads))}
    assert server.uploads() == []  # sent: deleted
    sent = len(server.mosaic.requests)
    again = server.api.post("/v1/avatars", json={"check_id": record["id"], "name": "Ada"})
    assert again.status_code == 200 and again.json()["id"] == avatar["id"]
    assert len(server.mosaic.requests) == sent  # nothing at all went to Mosaic
    seen = server.api.get(f"/v1/avatars/{avatar['id']}").json()
    assert seen["status"] == "processing" and len(server.mosaic.calls("POST /avatar-profiles/create")) == 1
    assert server.api.get("/v1/avatars/00000000-0000-4000-8000-000000000000").status_code == 404
    everything = made.text + again.text + json.dumps(seen) + page.text + json.dumps(record)
    assert server.mosaic.api_key not in everything

    # every answer is what the OpenAPI document says it is
    document = server.api.get("/v1/openapi.json").json()

    def holds(body: dict, path: str, method: str, status: int) -> None:
        schema = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
        jsonschema.validate(body, {**schema, "components": document["components"]})

    holds(record, "/v1/checks/{check_id}", "get", 200)
    holds(server.api.get("/v1/checks").json(), "/v1/checks", "get", 200)
    holds(avatar, "/v1/avatars", "post", 201)
    holds(again.json(), "/v1/avatars", "post", 200)
    holds(server.api.get("/v1/info").json(), "/v1/info", "get", 200)
    # `created` is an RFC 3339 time, in UTC, as the document says
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)", record["created"]), record["created"]


def test_the_openapi_document_types_the_errors_as_answered_and_says_the_token(server):
    # the errors are typed as the server answers them ({"error": ...}, not FastAPI's {"detail": ...})
    # and the bearer scheme is declared
    document = server.api.get("/v1/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}]
    assert "HTTPValidationError" not in json.dumps(document)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = {int(code) for code in operation["responses"]}
            assert {401, 403} <= statuses, (path, method)
            for code, answer in operation["responses"].items():
                if int(code) >= 400:
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    errors = {"components": document["components"], "$ref": "#/components/schemas/ErrorBody"}
    for answer in (server.api.post("/v1/avatars", json={"check_id": "0" * 32}),  # 422
                   server.api.get("/v1/checks/" + "0" * 32), httpx.get(f"{server.url}/v1/info"),  # 404, 401
                   server.api.get("/v1/info", headers={"Host": "evil.example"})):  # 403
        assert answer.status_code in (401, 403, 404, 422)
        jsonschema.validate(answer.json(), errors)
        assert str(answer.status_code) in document["paths"]["/v1/checks/{check_id}"]["get"]["responses"] \
            or answer.status_code == 422


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_MEDIA / "audio_short.wav").exists(), reason="no shared media")
def test_shared_image_and_audio_no_go_and_its_create_sends_nothing(server):
    record = server.check(image=("one person.png", (SHARED_MEDIA / "image_one_person.png").read_bytes()),
                          audio=("short.wav", (SHARED_MEDIA / "audio_short.wav").read_bytes()))
    assert record["verdict"] == "no-go"
    failed = {c["reason"] for c in record["report"]["checks"] if c["status"] == "fail"}
    assert "duration.too_short" in failed
    assert server.uploads() == []  # NO-GO: deleted at once
    sent = len(server.mosaic.requests)
    refused = server.api.post("/v1/avatars", json={"check_id": record["id"], "name": "Bob"})
    assert refused.status_code == 409
    assert refused.json()["error"]["reason"] == "sources.rejected" and "duration.too_short" in refused.json()["error"]["reasons"]
    assert len(server.mosaic.requests) == sent


def test_a_client_filename_is_a_label_never_a_path(server):
    passwd = Path("/etc/passwd").stat()
    # the bytes of the GO clip above: the ledger's cache answers at once
    record = server.check(video=("../../etc/passwd", _fixture("talking_head.mp4")))
    assert record["cached"] and record["report"]["sources"][0]["path"] == "passwd"
    assert Path("/etc/passwd").stat().st_mtime == passwd.st_mtime
    escaped = server.check(video=("../../escaped.mp4", _fixture("talking_head.mp4")))
    assert escaped["sources"] == {"video": "escaped.mp4"}
    assert not list(server.tmp.parent.rglob("escaped.mp4"))
    assert {p.name for p in server.uploads()} <= {f"{record['id']}-video", f"{escaped['id']}-video"}
    marked = server.check(video=("<img src=x onerror=alert(1)>.mp4", _fixture("talking_head.mp4")))
    page = server.api.get(marked["links"]["report_html"]).text
    assert "&lt;img src=x onerror=alert(1)&gt;.mp4" in page and "<img src=x" not in page


def _raw(server: Server, head: str) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(head.encode())
    return conn


def _answer(conn: socket.socket) -> str:
    """The status line, headers and body of the response on a raw connection."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def _length(data: bytes) -> int:
    found = re.search(rb"content-length: *(\d+)", data, re.I)
    return int(found[1]) if found else 0


def test_an_upload_over_mosaics_limit_is_refused_before_it_is_all_read(server):
    auth = f"Authorization: Bearer {TOKEN}\r\n"
    boundary = "b0undary"
    # a declared size over every limit: refused before a byte of the body is sent
    conn = _raw(server, f"POST /v1/checks HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: multipart/form-data; "
                        f"boundary={boundary}\r\nContent-Length: 10000000000\r\n\r\n")
    answer = _answer(conn)
    conn.close()
    assert answer.startswith("HTTP/1.1 413") and "upload.too_large" in answer
    # a chunked image that never ends: refused once it passes the image limit (50 MB)
    conn = _raw(server, f"POST /v1/checks HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: multipart/form-data; "
                        f"boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n")
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    block = b"\x89PNG" * (1 << 18)  # 1 MB
    sent, total = 0, 300 << 20
    conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
    while sent < total:
        readable, writable, _ = select.select([conn], [conn], [], 10)
        if readable:
            break
        try:
            conn.sendall(b"%x\r\n%s\r\n" % (len(block), block))
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(block)
    answer = _answer(conn)
    conn.close()
    assert answer.startswith("HTTP/1.1 413"), answer[:300]
    assert "image" in answer and "50 MB" in answer
    assert 50 << 20 <= sent < 120 << 20  # the server stopped reading soon after the limit
    assert not [p for p in server.uploads() if p.name.endswith("-image")]  # the part written is deleted


def _worker_pids(server: Server) -> list[int]:
    """The pool's worker processes: the server's children that multiprocessing spawned."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == server.process.pid and b"spawn_main" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def _until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_full_queue_is_429_and_a_killed_worker_is_one_failed_check(server, web):
    stalls = []
    for _ in range(3):  # one on the worker, two in the queue
        sent = server.api.post("/v1/checks", json={"video": f"{web.url}/stall"})
        assert sent.status_code == 202, sent.text
        stalls.append(sent.json()["id"])
        if len(stalls) == 1:
            _until(lambda: server.status(stalls[0]) == "running")
    full = server.api.post("/v1/checks", json={"video": f"{web.url}/stall"})
    assert full.status_code == 429 and full.json()["error"]["reason"] == "queue.full"
    assert int(full.headers["Retry-After"]) >= 1
    assert [server.status(i) for i in stalls] == ["running", "queued", "queued"]
    for i, check_id in enumerate(stalls):  # kill each one's worker while it waits on the download
        _until(lambda: server.status(check_id) == "running" and len(_worker_pids(server)) == 1)
        (pid,) = _worker_pids(server)
        os.kill(pid, signal.SIGKILL)
        failed = server.finished(check_id)
        assert failed["status"] == "error" and failed["error"]["reason"] == "check.error"
        assert "crashed" in failed["error"]["message"]
        assert all(server.status(later) == "queued" or server.status(later) == "running" for later in stalls[i + 1:])
    # the server goes on: a check of URLs on a fresh worker
    sent = server.api.post("/v1/checks", json={"image": f"{web.url}/files/face.png", "audio": f"{web.url}/files/speech.wav"})
    assert sent.status_code == 202
    record = server.finished(sent.json()["id"])
    assert record["status"] == "done" and record["verdict"] == "go", record
    assert record["sources"] == {"image": f"{web.url}/files/face.png", "audio": f"{web.url}/files/speech.wav"}


CHROMIUM = shutil.which("chromium")


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
    JSON messages ended by NUL on fds 3 and 4), so no driver or websocket library is needed."""

    def __init__(self, profile: Path) -> None:
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()

        def fds() -> None:  # via fresh numbers first: either pipe end may already be 3 or 4
            reads, writes = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(reads, 3)
            os.dup2(writes, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer, self._next, self.events = b"", 0, []
        target = next(t["targetId"] for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "DOM"):
            self.send(f"{domain}.enable", session=True)

    def send(self, method: str, session: bool = False, **params) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._message()
            if answer.get("id") == self._next:
                assert "error" not in answer, answer
                return answer["result"]
            self.events.append(answer)

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], 60)
            assert ready, "chromium did not answer"
            self._buffer += os.read(self._read, 1 << 20)
        line, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(line)

    def js(self, expression: str):
        found = self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        assert "exceptionDetails" not in found, found
        return found["result"].get("value")

    def until(self, expression: str, seconds: float = 60):
        deadline = time.monotonic() + seconds
        while not (value := self.js(f"(() => {{ try {{ return {expression}; }} catch (e) {{ return null; }} }})()")):
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.2)
        return value

    def upload(self, selector: str, path: Path) -> None:
        root = self.send("DOM.getDocument", session=True)["root"]["nodeId"]
        node = self.send("DOM.querySelector", session=True, nodeId=root, selector=selector)["nodeId"]
        self.send("DOM.setFileInputFiles", session=True, nodeId=node, files=[str(path)])

    def errors(self) -> list[dict]:
        return [e for e in self.events if e.get("method") == "Runtime.exceptionThrown"
                or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
                or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)
        os.close(self._write)
        os.close(self._read)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make test` installs it")
def test_the_page_in_a_browser_checks_a_go_clip_then_a_no_go_one(server, tmp_path):
    import cv2
    import numpy as np

    from conftest import FIXTURES

    browser = Browser(tmp_path / "profile")
    try:
        browser.send("Emulation.setDeviceMetricsOverride", session=True, width=1280, height=900,
                     deviceScaleFactor=1, mobile=False)
        browser.send("Page.addScriptToEvaluateOnNewDocument", session=True,
                     source=f"sessionStorage.setItem('preflight-token', {json.dumps(TOKEN)})")
        browser.send("Page.navigate", session=True, url=f"{server.url}/")
        browser.until("document.getElementById('limits').textContent")  # /v1/info answered, with the token
        browser.upload("#video", FIXTURES / "talking_head.mp4")  # checked above: the cache answers
        browser.js("document.getElementById('send').click()")
        browser.until("document.body.dataset.ready === '1'")
        # GO with a warning: av_sync cannot judge the puppet's 84 px mouth (under min_mouth_px)
        assert browser.js("document.getElementById('verdict').textContent") == "GO with warnings"
        assert browser.js("!!document.getElementById('report').contentDocument.querySelector('.strip img')")
        assert browser.js("!document.getElementById('create').classList.contains('hidden')")  # a key: it offers to create
        shot = browser.send("Page.captureScreenshot", session=True, format="png")["data"]
        image = cv2.imdecode(np.frombuffer(__import__("base64").b64decode(shot), np.uint8), cv2.IMREAD_COLOR)
        amber = np.all(np.abs(image[:400].astype(int) - (0x00, 0x67, 0x9A)) < 40, axis=2)  # GO with warnings, BGR
        assert amber.sum() > 100, "no GO verdict drawn"
        assert len(np.unique(image[400:].reshape(-1, 3), axis=0)) > 500  # the report's frames drew

        browser.send("Emulation.setDeviceMetricsOverride", session=True, width=390, height=844,
                     deviceScaleFactor=1, mobile=True)
        browser.js("document.body.dataset.ready = '0'")
        browser.upload("#video", FIXTURES / "long.mp4")  # over 15 s: fails from its header, undecoded
        browser.js("document.getElementById('send').click()")
        browser.until("document.body.dataset.ready === '1'")
        assert browser.js("document.getElementById('verdict').textContent") == "NO-GO"
        (latest,) = server.api.get("/v1/checks", params={"limit": 1}).json()["checks"]
        message = next(c["message"] for c in server.api.get(latest["links"]["self"]).json()["report"]["checks"]
                       if c["status"] == "fail")
        assert message in browser.js("document.getElementById('report').contentDocument.body.textContent")
        assert browser.js("document.getElementById('create').classList.contains('hidden')")
        assert browser.js("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
        assert browser.js("document.getElementById('recent').children.length") >= 2
        assert browser.errors() == []
    finally:
        browser.close()


def test_the_hosts_it_answers_to():
    from preflight.serve import allowed_hosts

    local = allowed_hosts("127.0.0.1", ["Preflight.Example.com:8443"])
    assert all(local.allow(h) for h in ("127.0.0.1:8750", "localhost", "[::1]:8750", "preflight.example.com"))
    assert not any(local.allow(h) for h in ("evil.example:8750", "10.0.0.1:8750", "", "127.0.0.1.evil.example"))
    everywhere = allowed_hosts("0.0.0.0")
    assert everywhere.allow("10.1.2.3:8750") and everywhere.allow("[fe80::1]:8750")  # an address cannot be rebound
    assert not everywhere.allow("evil.example") and allowed_hosts("0.0.0.0", ["*"]).allow("evil.example")
