"""One onnxruntime session per bundled model, made on first use and shared by every thread."""

from __future__ import annotations

import threading
from typing import Any

from preflight.assets import model_path

_sessions: dict[str, Any] = {}
_lock = threading.Lock()


def session(model: str) -> Any:
    """The ``onnxruntime.InferenceSession`` of ``models/<model>``: one thread, no log chatter.

    One intra-op thread: the analyzers already run side by side with the decoder on
    few cores (the lip-sync model's visual encoder, the last and costliest step, runs two halves
    of its input at once instead: see :mod:`preflight.features.sync`).
    """
    with _lock:
        if model not in _sessions:
            import onnxruntime  # loaded on first use: the CLI imports it while ffmpeg decodes

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            _sessions[model] = onnxruntime.InferenceSession(
                str(model_path(model)), options, providers=["CPUExecutionProvider"]
            )
        return _sessions[model]
