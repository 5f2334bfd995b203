"""Recording level: the gain that brings a clip's loud frames to one reference level.

The speech and sound-event models hear level as well as sound (see :func:`level_gain`'s
callers), so they are given every clip at one level: its loud frames, the 90th percentile of
32 ms frame power, at ``LEVEL_DBFS``. That is the shared recordings' median (they span -41 to
-7 dBFS), so the limits measured on them hold. The gain is capped so that near-silence is not
raised into noise, and a silent clip is left alone.
"""

from __future__ import annotations

import numpy as np

LEVEL_DBFS = -20.0
MAX_GAIN_DB = 30.0
_FRAME, _HOP = 512, 256  # 32 ms frames, 16 ms hop, at 16 kHz


def level_gain(samples: np.ndarray) -> float:
    """The factor (linear) that brings ``samples``' loud frames to :data:`LEVEL_DBFS`, at most +30 dB."""
    if len(samples) < _FRAME:
        return 1.0
    frames = np.lib.stride_tricks.sliding_window_view(samples, _FRAME)[::_HOP]
    loud = float(np.percentile(np.mean(frames.astype(np.float64) ** 2, axis=1), 90))
    if loud <= 0:
        return 1.0
    return float(10 ** (min(LEVEL_DBFS - 10 * np.log10(loud), MAX_GAIN_DB) / 20))
