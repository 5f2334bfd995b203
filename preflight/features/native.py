"""Keeping native libraries' log lines off a library user's stderr.

mediapipe's C++ side (LiteRT, absl logging) writes some 60 INFO and WARNING lines to file
descriptor 2 while it loads a model, runs it the first time and closes it ("Sparsity tensors may
not yet be fully supported", "Created TensorFlow Lite XNNPACK delegate", ...). No setting turns
them off, and a library must not print. Those three moments happen once per model per process,
so fd 2 points at /dev/null for just that long; what any thread writes to stderr in that window
is lost too, a cost paid once and for a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """fd 2 to /dev/null for the ``with`` block (set PREFLIGHT_DEBUG to keep the lines)."""
    if os.environ.get("PREFLIGHT_DEBUG"):
        yield
        return
    with _lock:
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError, OSError):
            pass
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
