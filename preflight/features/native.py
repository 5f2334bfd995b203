"""Keeping native libraries' log lines off a library user's stderr.

mediapipe's C++ side (LiteRT, absl logging) writes some 60 INFO and WARNING lines to file
descriptor 2 while it loads a model and closes it ("Sparsity tensors may not yet be fully
supported", "Created TensorFlow Lite XNNPACK delegate", ...), and now and then while it runs one
("Input tensor memory is not aligned ...", whenever a buffer happens to be misaligned). No setting
turns them off, and a library must not print. So fd 2 points at /dev/null while any mediapipe
call runs (several threads may be inside at once: the first in redirects, the last out
restores). What another thread writes to stderr in those moments is lost too: the price of a
native library that logs unasked.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_inside = 0
_saved: int | None = None


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """fd 2 to /dev/null for the ``with`` block (set PREFLIGHT_DEBUG to keep the lines)."""
    if os.environ.get("PREFLIGHT_DEBUG"):
        yield
        return
    global _inside, _saved
    with _lock:
        if _inside == 0:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError, OSError):
                pass
            _saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _saved is not None:
                os.dup2(_saved, 2)
                os.close(_saved)
                _saved = None
