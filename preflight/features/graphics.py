"""Flat graphics in a picture: regions of one flat, saturated colour with a sharp border, as a
logo's or a channel bug's shapes are drawn.

A camera's picture is never flat: light falls off, the sensor and the encoder add noise, and
saturated colours come with shading. A drawn graphic's fill is one colour, its pixels within a
grey level or two, and it ends in a step. On the picture at most ``long_side`` px: pixels whose
3x3 neighbourhood spans at most ``_FLAT`` grey levels in every channel are flat; each 4-connected
region of them of at least 0.02% of the picture is a :class:`Region` with the spread of its
colour (the largest channel's standard deviation), how colourful it is (the mean gap between
its pixels' largest and smallest channel) and the contrast with what lies 2 px around it (the
median of the largest channel's difference from the region's mean colour). What counts as a
graphic is the caller's rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_FLAT = 10  # grey levels: a 3x3 neighbourhood's range, largest channel
_MIN_AREA = 0.0002  # of the picture


@dataclass(frozen=True)
class Region:
    x: float  # box in pixels of the given picture
    y: float
    width: float
    height: float
    spread: float  # grey levels: the largest channel's standard deviation over the region
    colour: float  # grey levels: mean (largest - smallest channel) over the region
    contrast: float  # grey levels: median difference of the pixels 2 px around from the region's colour
    edge: bool  # touches the picture's edge


def flat_regions(rgb: np.ndarray, long_side: int = 640) -> list[Region]:
    """The flat regions of an RGB picture (height, width, 3)."""
    import cv2

    height, width = rgb.shape[:2]
    scale = min(1.0, long_side / max(height, width))
    small = rgb if scale == 1.0 else cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    square = np.ones((3, 3), np.uint8)
    span = (cv2.dilate(small, square).astype(np.int16) - cv2.erode(small, square)).max(axis=2)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((span <= _FLAT).astype(np.uint8), connectivity=4)
    out = []
    for i in np.flatnonzero(stats[:, 4] >= _MIN_AREA * h * w):
        if i == 0:
            continue
        x, y, bw, bh, _ = (int(v) for v in stats[i])
        x0, y0, x1, y1 = max(0, x - 3), max(0, y - 3), min(w, x + bw + 3), min(h, y + bh + 3)
        mine = (labels[y0:y1, x0:x1] == i).astype(np.uint8)
        pixels = small[y0:y1, x0:x1][mine > 0].astype(np.float32)
        mean = pixels.mean(axis=0)
        ring = (cv2.dilate(mine, np.ones((5, 5), np.uint8)) - cv2.dilate(mine, square)) > 0
        around = small[y0:y1, x0:x1][ring].astype(np.float32)
        contrast = float(np.median(np.abs(around - mean).max(axis=1))) if len(around) else 0.0
        out.append(Region(x=x / scale, y=y / scale, width=bw / scale, height=bh / scale,
                          spread=round(float(pixels.std(axis=0).max()), 2),
                          colour=round(float((pixels.max(axis=1) - pixels.min(axis=1)).mean()), 1),
                          contrast=round(contrast, 1), edge=x == 0 or y == 0 or x + bw == w or y + bh == h))
    return out
