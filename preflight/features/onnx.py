"""One onnxruntime session per bundled model, made on first use and shared by every thread."""

from __future__ import annotations

import threading
from typing import Any

from preflight.assets import model_path

_sessions: dict[str, Any] = {}
_lock = threading.Lock()


def session(model: str, threads: int = 1) -> Any:
    """The ``onnxruntime.InferenceSession`` of ``models/<model>``: ``threads`` threads, no log chatter.

    One intra-op thread by default: the analyzers already run side by side with the decoder on
    few cores. The lip-sync model's visual encoder, the last and costliest step, takes two.
    """
    with _lock:
        if model not in _sessions:
            import onnxruntime  # loaded on first use: the CLI imports it while ffmpeg decodes

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            _sessions[model] = onnxruntime.InferenceSession(
                str(model_path(model)), options, providers=["CPUExecutionProvider"]
            )
        return _sessions[model]
