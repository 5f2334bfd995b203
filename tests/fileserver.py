"""A web server on 127.0.0.1 that serves the fixtures and the ways a media link goes wrong, for
the URL-source tests.

    /files/NAME   a fixture, with its media type      /missing   404
    /page.html    a web page, not media               /huge      announces 10 GB
    /endless      a chunked body that never ends      /short     ends before its Content-Length
    /stall        headers, then nothing for 30 s      /loop      redirects to itself
    /moved/NAME   a redirect to /files/NAME
"""

from __future__ import annotations

import mimetypes
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FileServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits: list[str] = []
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FileServer:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-answer is what several tests do on purpose


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            server.hits.append(self.path)
            path = self.path
            if path.startswith("/files/"):
                file = server.folder / path.removeprefix("/files/")
                if not file.is_file():
                    return self._status(404)
                data = file.read_bytes()
                self._head(200, mimetypes.guess_type(file.name)[0] or "application/octet-stream", len(data))
                self.wfile.write(data)
            elif path.startswith("/moved/"):
                self._redirect("/files/" + path.removeprefix("/moved/"))
            elif path == "/loop":
                self._redirect("/loop")
            elif path == "/page.html":
                data = b"<html><body>a video page</body></html>"
                self._head(200, "text/html; charset=utf-8", len(data))
                self.wfile.write(data)
            elif path == "/huge":
                self._head(200, "video/mp4", 10_000_000_000)
                self.wfile.write(b"\0" * 1024)
            elif path == "/short":
                self._head(200, "video/mp4", 100_000)
                self.wfile.write(b"\0" * 1000)
                self.close_connection = True
            elif path == "/stall":
                self._head(200, "video/mp4", 100_000)
                self.wfile.flush()
                time.sleep(30)
            elif path == "/endless":
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"\0" * 65536
                try:
                    while True:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:
                    pass
                self.close_connection = True
            else:
                self._status(404)

        def _head(self, status: int, kind: str, length: int) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def _status(self, status: int) -> None:
            self._head(status, "text/plain", 0)

        def _redirect(self, to: str) -> None:
            self.send_response(302)
            self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
