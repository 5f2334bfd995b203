"""What the user named: files or URLs, with a role given (--video/--image/--audio) or inferred
from their streams, gathered into one source set. URLs are fetched to temporary files first, and
``-`` (standard input, as ffmpeg reads it) is read to one."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import sys
from collections.abc import Iterator, Mapping
from os import PathLike
from pathlib import Path

from preflight import shutdown
from preflight.download import Limits, download, is_url
from preflight.errors import UsageError
from preflight.media import Probe, Role, probe

PathArg = str | PathLike[str]
STDIN = "-"  # the source on standard input

# Mosaic's documented per-type limits, which also cap what a URL may make us download.
MAX_BYTES = {Role.IMAGE: 50_000_000, Role.AUDIO: 500_000_000, Role.VIDEO: 5_000_000_000}


@dataclasses.dataclass(frozen=True)
class Sources:
    """One avatar's sources as the user named them: ``files`` whose roles their streams decide,
    and files named for a role. Each is a path or an http(s) URL."""

    files: tuple[PathArg, ...] = ()
    video: PathArg | None = None
    image: PathArg | None = None
    audio: PathArg | None = None

    @property
    def named(self) -> dict[Role, PathArg]:
        """The sources named for a role."""
        given = ((Role.VIDEO, self.video), (Role.IMAGE, self.image), (Role.AUDIO, self.audio))
        return {role: path for role, path in given if path}


@dataclasses.dataclass(frozen=True)
class Local:
    """The sources as local paths; ``origin`` maps a downloaded file's path back to its URL."""

    sources: Sources
    origin: dict[str, str]


@contextlib.contextmanager
def local_copies(sources: Sources, limits: Limits | None = None) -> Iterator[Local]:
    """Download every URL among the sources, and read standard input for ``-``, into a temporary
    folder that lives for the block.

    The size cap is the role's Mosaic limit (the largest for an unnamed role) unless ``limits``
    is given. ``origin`` is for naming: a download is probed under its URL (:func:`source_set`'s
    ``labels``), so no error names the temporary path (a server's message must not show its folders).
    """
    given_all = [str(x) for x in (*sources.files, *sources.named.values())]
    if given_all.count(STDIN) > 1:
        raise UsageError("'-' (standard input) can name one source only")
    if not any(is_url(x) or x == STDIN for x in given_all):
        yield Local(sources, {})
        return
    with shutdown.temporary_folder(prefix="preflight-") as tmp:
        origin: dict[str, str] = {}

        def fetch(given: PathArg | None, role: Role | None) -> PathArg | None:
            if not is_url(given) and str(given) != STDIN:
                return given
            cap = limits or Limits(max_bytes=MAX_BYTES[role] if role else max(MAX_BYTES.values()))
            folder = tmp / str(len(origin))  # one folder each: two URLs may end in the same name
            folder.mkdir()
            path = download(str(given), folder, cap) if is_url(given) else _read_stdin(folder, cap.max_bytes)
            origin[str(path)] = str(given)
            return path

        fetched = {role.value: fetch(given, role) for role, given in sources.named.items()}
        yield Local(Sources(tuple(fetch(f, None) for f in sources.files), **fetched), origin)


def _read_stdin(folder: Path, max_bytes: int) -> Path:
    """Standard input, copied to ``folder/stdin`` (the probe tells what it is), up to ``max_bytes``."""
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("'-' reads the media from standard input, which is a terminal: pipe or redirect a file into it")
    path = folder / "stdin"
    with path.open("wb") as out:
        copied = 0
        while block := sys.stdin.buffer.read(1 << 20):
            copied += len(block)
            if copied > max_bytes:
                raise UsageError(f"standard input is over {max_bytes // 1_000_000} MB, Mosaic's limit for it")
            out.write(block)
    if copied == 0:
        raise UsageError("standard input is empty: pipe a media file into '-'")
    return path


def sha256_of(path: PathArg) -> str:
    """The file's sha256, read in 1 MB blocks (call it on regular files: a FIFO would block)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def source_set(sources: Sources, labels: Mapping[str, str] | None = None) -> list[Probe]:
    """Probe every source and settle its role and its name (:attr:`Probe.source`): its label in
    ``labels`` (by the path as given), else its path. One source of each role at most.

    A named role must fit the file, except that any file with sound can serve as the voice
    audio (its picture is then ignored).
    """
    labels = labels or {}

    def label(given: PathArg) -> str:
        return labels.get(str(given), labels.get(str(Path(given)), ""))

    chosen: list[Probe] = []
    for role, given in sources.named.items():
        found = probe(Path(given), label(given))
        if role is Role.AUDIO and found.audio is not None:
            found = dataclasses.replace(found, role=Role.AUDIO)
        elif found.role is not role:
            raise UsageError(f"{found.source.label}: given as the {role.value}, but it is {_a(found.role)}")
        chosen.append(found)
    chosen += [probe(Path(p), label(p)) for p in sources.files]
    if not chosen:
        raise UsageError("no source given: name a video, an image and an audio, or an image or audio alone")
    roles = [p.role for p in chosen]
    for role in Role:
        if roles.count(role) > 1:
            paths = ", ".join(p.source.label for p in chosen if p.role is role)
            raise UsageError(
                f"{roles.count(role)} {role.value} sources ({paths}); a source set has one of each role. "
                "Check them one at a time, or use `preflight batch` for many"
            )
    return chosen


def _a(role: Role) -> str:
    return "an image" if role is Role.IMAGE else f"{'an' if role is Role.AUDIO else 'a'} {role.value} file"
