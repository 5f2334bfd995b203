"""Where a command writes: every output is checked before any work starts, and written whole or
not at all.

- An output may not be an input (the same path, a symbolic link to it or a hard link of it:
  the same device and inode), nor another output of the same run.
- It is a file, or absent, in a folder that exists and may be written; an output written as
  it goes (``--jsonl``) may also be a pipe or a device. A folder, or an output that cannot be
  written, is refused at once, not after minutes of analysis.
- A file is written to a temporary name beside it, new for each run (two runs writing one OUT
  never share it), and renamed over it once complete. A run stopped at once (Ctrl-C, the time
  limit) deletes its temporaries (:mod:`preflight.shutdown`).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from preflight import shutdown
from preflight.errors import UsageError

PathArg = str | os.PathLike[str]


def refuse_unsafe(outputs: Mapping[str, PathArg | None], inputs: Iterable[PathArg], *,
                  streamed: Collection[str] = ()) -> None:
    """Raise :class:`UsageError` unless every output (by the option that names it; None and
    ``-``, stdout, are left out) can be written and is neither an input nor another output.
    ``streamed`` names the outputs written as they go, which may be pipes or devices."""
    named = {flag: Path(p) for flag, p in outputs.items() if p is not None and str(p) != "-"}
    sources = {}
    for given in inputs:
        if (identity := _identity(Path(given))) is not None:
            sources.setdefault(identity, Path(given))
    seen: dict[object, str] = {}
    for flag, path in named.items():
        _writable(flag, path, streamed=flag in streamed)
        identity = _identity(path)
        if identity in sources:
            raise UsageError(f"{path}: {flag} names an input ({sources[identity]}); it would be overwritten. "
                             "Name another file")
        for key in (os.path.realpath(path), identity):
            if key is not None and key in seen:
                raise UsageError(f"{path}: named by both {seen[key]} and {flag}; give each its own file")
            if key is not None:
                seen[key] = flag


def sibling(path: Path) -> Path:
    """A new empty file beside ``path``, named for this run alone and registered as partial: it
    is deleted if the run stops now. :func:`keep` or :func:`discard` it."""
    stem = path.stem[:150]  # the random part and the suffix must still fit the name's 255 bytes
    for _ in range(100):
        temporary = path.with_name(f".{stem}.{secrets.token_hex(6)}.partial{path.suffix}")
        shutdown.partial_file(temporary)  # before it exists: a stop in between leaves nothing
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temporary
        except FileExistsError:
            shutdown.done_with(temporary)
        except OSError:
            shutdown.done_with(temporary)
            raise
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def keep(temporary: Path, path: Path) -> None:
    """The temporary, complete, renamed over ``path``."""
    os.replace(temporary, path)
    shutdown.done_with(temporary)


def discard(temporary: Path) -> None:
    temporary.unlink(missing_ok=True)
    shutdown.done_with(temporary)


def write_atomically(path: Path, text: str, what: str = "the report") -> None:
    """``text`` in ``path`` whole, or nothing written: beside it first, then renamed over it."""
    try:
        temporary = sibling(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what} ({exc.strerror})") from None
    try:
        temporary.write_text(text, encoding="utf-8")
        keep(temporary, path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what} ({exc.strerror})") from None
    finally:
        discard(temporary)


def _identity(path: Path) -> tuple[int, int] | None:
    """The file a path names (links followed) as (device, inode); None when there is none."""
    try:
        found = path.stat()
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


def _writable(flag: str, path: Path, *, streamed: bool) -> None:
    try:
        found = path.stat()
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise UsageError(f"{path}: {flag} cannot be written ({exc.strerror})") from None
    if found is not None:
        if stat.S_ISDIR(found.st_mode):
            raise UsageError(f"{path}: {flag} names a folder; name a file")
        if not stat.S_ISREG(found.st_mode) and not (streamed and (stat.S_ISCHR(found.st_mode) or stat.S_ISFIFO(found.st_mode))):
            raise UsageError(f"{path}: {flag} names a device, pipe or socket, not a file; name a file")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise UsageError(f"{path}: {flag}'s folder {folder} does not exist")
    if found is not None and (streamed or not stat.S_ISREG(found.st_mode)):  # written in place
        if not os.access(path, os.W_OK):
            raise UsageError(f"{path}: {flag} cannot be written (permission denied)")
    elif not os.access(folder, os.W_OK | os.X_OK):  # a new file beside it, renamed over it
        raise UsageError(f"{path}: {flag} cannot be written: its folder {folder} is read-only to this user")
