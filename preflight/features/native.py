"""Keeping native libraries' log lines off a library user's stderr, and mediapipe's package
from importing what the project never calls.

mediapipe's C++ side (LiteRT, absl logging) writes some 60 INFO and WARNING lines to file
descriptor 2 while it loads a model and closes it ("Sparsity tensors may not yet be fully
supported", "Created TensorFlow Lite XNNPACK delegate", ...), and now and then while it runs one
("Input tensor memory is not aligned ...", whenever a buffer happens to be misaligned). No setting
turns them off, and a library must not print. So fd 2 points at /dev/null while any mediapipe
call runs (several threads may be inside at once: the first in redirects, the last out
restores). What another thread writes to stderr in those moments is lost too: the price of a
native library that logs unasked.

``mediapipe``'s package ``__init__`` imports every task it has: the audio tasks (sounddevice,
pydub), the text tasks, and the drawing helpers, which import ``matplotlib.pyplot``. The face
detector and the landmarker need none of them; :func:`mediapipe_tasks` imports the package with
those modules' bodies deferred until something reads from them (``importlib.util.LazyLoader``),
which saves about half a CPU-second and 70 MB a process.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

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


# mediapipe modules the project never uses, whose imports cost the most (see the module docstring).
_UNUSED = frozenset({"mediapipe.tasks.python.audio", "mediapipe.tasks.python.text",
                     "mediapipe.tasks.python.vision.drawing_utils", "mediapipe.tasks.python.vision.drawing_styles"})


class _Deferred(importlib.abc.MetaPathFinder):
    """Finds the ``_UNUSED`` modules as the other finders do, with a loader that runs their body
    only when an attribute of theirs is first read."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name not in _UNUSED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def mediapipe_tasks() -> tuple[ModuleType, Any, ModuleType]:
    """``(mediapipe, mediapipe.tasks.python.BaseOptions, mediapipe.tasks.python.vision)``, the
    package imported without running its unused tasks' modules."""
    if "mediapipe" not in sys.modules and not any(isinstance(f, _Deferred) for f in sys.meta_path):
        sys.meta_path.insert(0, _Deferred())
    import mediapipe
    from mediapipe.tasks.python import BaseOptions, vision

    return mediapipe, BaseOptions, vision
