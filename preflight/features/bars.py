"""Letterbox and pillarbox bars: the rows and columns at the picture's edges that stay black.

An edge row or column is a bar when every pixel of it, in every frame given, in every channel, is
at most ``BAR_LEVEL`` (black plus the encoder's noise); a run of them thinner than ``MIN_BAR`` of
the frame is an encoder's edge, not a bar. A dark scene that is black to the edge for the whole
clip reads as a bar too (a night shot's black sky); a bar of any other colour is not found.
"""

from __future__ import annotations

import numpy as np

BAR_LEVEL = 24  # of 255: a letterbox bar's brightest pixel (black, plus the encoder's noise)
MIN_BAR = 0.02  # of the frame's height or width: thinner black edges are not bars

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1


def inside_bars(frames: np.ndarray) -> Rect:
    """The picture inside the bars of ``frames`` (n, height, width, 3): (x0, y0, x1, y1) in their pixels."""
    # (height, width): black in every frame, every channel. Frames first, then channels: numpy's
    # max over axes (0, 3) at once strides through the array and took 0.56 s for 15 s of frames.
    dark = np.maximum.reduce(frames, axis=0).max(axis=2) <= BAR_LEVEL
    rows, cols = dark.all(axis=1), dark.all(axis=0)

    def inside(bar: np.ndarray) -> tuple[int, int]:
        n = len(bar)
        first = int(np.argmin(bar)) if not bar.all() else 0
        last = n - int(np.argmin(bar[::-1])) if not bar.all() else n
        return (first if first >= MIN_BAR * n else 0), (last if n - last >= MIN_BAR * n else n)

    (y0, y1), (x0, x1) = inside(rows), inside(cols)
    return x0, y0, x1, y1
