"""One onnxruntime session per bundled model, made on first use and shared by every thread."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from preflight.assets import model_path

_sessions: dict[str, Any] = {}
_lock = threading.Lock()
_release: Any = None  # RunOptions that shrink the arena at the end of a run, made on first use
# One large run at a time: each holds hundreds of MB while it runs, and one run already keeps a
# core busy (one intra-op thread); side by side they only add up the memory.
_large = threading.Lock()


def session(model: str) -> Any:
    """The ``onnxruntime.InferenceSession`` of ``models/<model>``: one thread, no log chatter.

    One intra-op thread: the analyzers already run side by side with the decoder on few cores.
    No memory pattern: a pattern is one block planned per input shape and kept beside the arena's
    own, so runs of a few shapes in a row (the chunks of :func:`run_all`) would hold two peaks.
    """
    with _lock:
        if model not in _sessions:
            import onnxruntime  # loaded on first use: the CLI imports it while ffmpeg decodes

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            options.enable_mem_pattern = False
            _sessions[model] = onnxruntime.InferenceSession(
                str(model_path(model)), options, providers=["CPUExecutionProvider"]
            )
        return _sessions[model]


def run_once(model: str, feeds: dict[str, Any]) -> list[Any]:
    """``session(model).run(None, feeds)`` for a large one-off input: :func:`run_all` of one."""
    return run_all(model, [feeds])[0]


def run_all(model: str, feeds: Iterable[dict[str, Any]]) -> list[list[Any]]:
    """Each of ``feeds`` through ``model`` in turn (the chunks of one long input), for large
    inputs: after the last run the session's memory arena gives back what the runs took.

    onnxruntime otherwise keeps each session's arena at its largest run for the life of the
    process (hundreds of MB for a conv net over seconds of frames or sound); a model run many
    times on small inputs keeps its arena (``session().run``). Between the runs of one call the
    arena stays: given back after every chunk, its pages were faulted in afresh by the next (CPU
    spent in the kernel, for nothing). ``feeds`` is read one ahead of the run,
    so a generator of chunks holds two at most. Large runs take turns, whichever thread asks.
    """
    global _release
    if _release is None:
        import onnxruntime

        options = onnxruntime.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        _release = options
    model_session = session(model)
    outputs: list[list[Any]] = []
    with _large:
        pending = None
        for feed in feeds:
            if pending is not None:
                outputs.append(model_session.run(None, pending))
            pending = feed
        if pending is not None:
            outputs.append(model_session.run(None, pending, _release))
    return outputs
