"""Reading a check's upload as it streams in: each file part goes straight to a file the server
names (``<check id>-<role>``, in its private folder), counted against Mosaic's limit for its
role, and a body that passes a limit is refused there, before the rest of it is read.

The client's filename is kept only as a label for the report, never as a path.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from preflight.media import Role
from preflight.sources import MAX_BYTES

MAX_JSON_BYTES = 64_000
# a body can hold one file of each role, and its multipart framing
MAX_BODY_BYTES = sum(MAX_BYTES.values()) + 1_000_000


class BadUpload(Exception):
    """The request's body cannot be taken: ``status`` and ``reason`` say how the API answers."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


@dataclass
class Received:
    """The files of one upload: where the server put them, and what the client called them."""

    paths: dict[Role, Path] = field(default_factory=dict)
    labels: dict[Role, str] = field(default_factory=dict)


_MOSAIC_LIMITS = "Mosaic's: image 50 MB, audio 500 MB, video 5 GB"
_JSON_LIMIT = "a JSON body names URLs; to send files, upload them as multipart"


def refuse_declared(length: str | None, most: int, why: str = _MOSAIC_LIMITS) -> None:
    """A Content-Length over the limit is refused before a byte of the body is read."""
    if length is not None and length.isdigit() and int(length) > most:
        raise BadUpload(413, "upload.too_large", f"the request is {_size(int(length))}, over the {_size(most)} "
                        f"limit ({why})")


def refuse_declared_json(length: str | None) -> None:
    refuse_declared(length, MAX_JSON_BYTES, _JSON_LIMIT)


async def read_json(body: AsyncIterator[bytes]) -> bytes:
    data = b""
    async for chunk in body:
        data += chunk
        if len(data) > MAX_JSON_BYTES:
            raise BadUpload(413, "upload.too_large", f"a JSON body is at most {_size(MAX_JSON_BYTES)} ({_JSON_LIMIT})")
    return data


async def receive(content_type: str | None, body: AsyncIterator[bytes], folder: Path, check_id: str) -> Received:
    """Stream a multipart body (file parts named video, image and audio) into ``folder``.

    On any refusal the files written so far are deleted."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadUpload(415, "upload.type", "send multipart/form-data with the files as video, or image and audio; "
                        "or JSON with their URLs")
    part = _Part(folder, check_id)
    parser = MultipartParser(boundary, part.callbacks())
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        part.discard()
        raise BadUpload(400, "upload.malformed", f"the multipart body cannot be read ({exc})") from None
    except ClientDisconnect:
        part.discard()
        raise BadUpload(400, "upload.incomplete", "the client went away during the upload") from None
    except BaseException:
        part.discard()
        raise
    if part.writing is not None:
        part.discard()
        raise BadUpload(400, "upload.incomplete", "the upload ended in the middle of a file")
    return part.received



class _Part:
    """The parser's callbacks: headers of the part being read, then its bytes to its file."""

    def __init__(self, folder: Path, check_id: str) -> None:
        self.folder, self.check_id = folder, check_id
        self.received = Received()
        self.header: list[bytes] = [b"", b""]
        self.headers: dict[str, str] = {}
        self.writing: BinaryIO | None = None
        self.role: Role | None = None
        self.size = 0

    def callbacks(self) -> dict:
        return {"on_part_begin": self.begin, "on_header_field": self.field, "on_header_value": self.value,
                "on_header_end": self.header_end, "on_headers_finished": self.open, "on_part_data": self.data,
                "on_part_end": self.end}

    def begin(self) -> None:
        self.headers, self.header = {}, [b"", b""]

    def field(self, data: bytes, start: int, end: int) -> None:
        self.header[0] += data[start:end]

    def value(self, data: bytes, start: int, end: int) -> None:
        self.header[1] += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header[0].decode("latin-1").lower()] = self.header[1].decode("utf-8", "replace")
        self.header = [b"", b""]

    def open(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition"))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name not in {role.value for role in Role} or b"filename" not in options:
            raise BadUpload(400, "upload.field", f"unexpected form field {name[:40]!r}: send files named video, "
                            "image and audio")
        role = Role(name)
        if role in self.received.paths:
            raise BadUpload(400, "upload.field", f"two {role.value} files; a source set has one of each role")
        path = self.folder / f"{self.check_id}-{role.value}"
        # O_EXCL: never an existing file (nor a link) under the server's name
        self.writing = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        self.role, self.size = role, 0
        self.received.paths[role] = path
        self.received.labels[role] = label(options[b"filename"].decode("utf-8", "replace"), role)

    def data(self, data: bytes, start: int, end: int) -> None:
        assert self.writing is not None and self.role is not None
        self.size += end - start
        if self.size > MAX_BYTES[self.role]:
            raise BadUpload(413, "upload.too_large", f"the {self.role.value} is over Mosaic's "
                            f"{_size(MAX_BYTES[self.role])} limit for it; nothing more was read")
        self.writing.write(data[start:end])

    def end(self) -> None:
        self.close()

    def close(self) -> None:
        if self.writing is not None:
            self.writing.close()
            self.writing = None

    def discard(self) -> None:
        """Close and delete what was written: a refused upload leaves nothing behind."""
        self.close()
        for path in self.received.paths.values():
            path.unlink(missing_ok=True)


def label(filename: str, role: Role) -> str:
    """What the report calls an uploaded file: the last part of the client's name, printable,
    at most 100 characters (the role's name when nothing is left)."""
    last = re.split(r"[/\\]", filename)[-1]
    printable = "".join(ch for ch in last if ch.isprintable()).strip().lstrip(".")
    return printable[:100] or role.value


def _size(n: int) -> str:
    """Bytes in the unit that shows them: 5.00 GB, 500 MB, 64 kB, 900 bytes (never "0 MB")."""
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.0f} MB"
    return f"{n / 1e3:.0f} kB" if n >= 1e3 else f"{n} bytes"
