"""Stopping a run at once (Ctrl-C, the time limit) without a crash and without leftovers.

Native libraries (onnxruntime, mediapipe's TFLite) run inference on threads of their own. An
interpreter that exits the usual way while such a thread is mid-call runs the libraries' static
destructors under it, and its Python threads are torn down inside C++ frames: the process dies
of SIGABRT or SIGSEGV after printing "interrupted". So a run that must stop now:

1. stops feeding them: kills the child processes it registered (ffmpeg decoding, cutting);
2. deletes what it registered as partial: temporary files beside an output, temporary folders
   (downloads, a cut for ``create --fix``);
3. prints its one line, flushes what it printed, and leaves with ``os._exit``: no thread is
   joined, no destructor runs.

Everything here is registered by the code that makes it; :func:`interruptible` and
:func:`deadline` are for the command line, which owns the process (a library call never changes
signal handlers).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

_lock = threading.RLock()  # re-entrant: the SIGINT handler may run while its own thread holds it
_processes: weakref.WeakSet[subprocess.Popen] = weakref.WeakSet()
_files: set[Path] = set()
_folders: set[Path] = set()
_stopping = False


def process(proc: subprocess.Popen) -> subprocess.Popen:
    """Register a child process: killed if the run stops now (at once, if it is stopping already)."""
    with _lock:
        _processes.add(proc)
        if _stopping:
            proc.kill()
    return proc


def partial_file(path: Path) -> None:
    """Register a file that is deleted if the run stops before :func:`done_with` is called for it."""
    with _lock:
        _files.add(path)


def done_with(path: Path) -> None:
    """The file was kept (renamed into place) or deleted: no longer ours to delete."""
    with _lock:
        _files.discard(path)


@contextlib.contextmanager
def temporary_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder for the block, deleted after it, and also if the run stops now."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        folder = Path(name)
        with _lock:
            _folders.add(folder)
        try:
            yield folder
        finally:
            with _lock:
                _folders.discard(folder)


def stop_now(code: int, line: str | None = None) -> NoReturn:
    """Kill the registered children, delete the registered partial files and folders, print
    ``line`` on stderr, flush, and end the process with ``code``. Safe from any thread."""
    global _stopping
    with _lock:
        _stopping = True
        for proc in list(_processes):
            with contextlib.suppress(OSError):
                proc.kill()
        for path in list(_files):
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in list(_folders):
            shutil.rmtree(folder, ignore_errors=True)
        # In a thread, waited for a moment: a stream whose reader stopped reading must not hold the exit.
        flushing = threading.Thread(target=_flush, args=(line,), daemon=True)
        flushing.start()
        flushing.join(2.0)
        os._exit(code)


def _flush(line: str | None) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if line:
        with contextlib.suppress(Exception):
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


@contextlib.contextmanager
def interruptible(line: str = "interrupted", code: int = 130) -> Iterator[None]:
    """Within the block, SIGINT stops the run now (:func:`stop_now`).

    Python runs a signal handler only between bytecodes of the main thread, which may be inside a
    native call for a while (or for ever, in a hung library): the handler's C part also writes
    the signal's number to a socket, where a thread of ours waits to act on it at once. Main
    thread only; the previous handler comes back after the block.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # whoever started us wants it ignored
        yield
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    previous = signal.signal(signal.SIGINT, lambda *_: stop_now(code, line))
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)

    def watch() -> None:
        with contextlib.suppress(OSError):
            while data := reader.recv(64):
                if signal.SIGINT in data:
                    stop_now(code, line)

    threading.Thread(target=watch, name="preflight-sigint", daemon=True).start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous)
        writer.close()  # the watcher's recv ends
        reader.close()


@contextlib.contextmanager
def deadline(seconds: float, line: str, code: int) -> Iterator[Callable[[], None]]:
    """Within the block, a run still going after ``seconds`` is stopped now with ``line``.
    Yields a function that lifts the limit early (the part it bounds is over)."""
    timer = threading.Timer(seconds, stop_now, args=(code, line))
    timer.daemon = True
    timer.start()
    try:
        yield timer.cancel
    finally:
        timer.cancel()
