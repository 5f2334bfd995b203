"""Text in a picture: PaddleOCR's DB text detector, PP-OCRv6 tiny (``models/text_detector.onnx``),
through onnxruntime.

The network maps an image to a per-pixel probability of text. As PaddleOCR does: the picture
(BGR, scaled so its long side is ``long_side`` and both sides are multiples of 32) is normalised
to (x / 255 - 0.5) / 0.5; the map is cut at 0.3; each connected region whose mean probability is
0.5 or more is a text box, grown by area x 1.5 / perimeter on each side (the network is trained
on shrunk boxes). Boxes are returned in pixels of the given frame, with the tilt of the
region's minimum-area rectangle: burned-in text is level, text on things in the scene often is
not.

Reference: Liao et al., "Real-time Scene Text Detection with Differentiable Binarization",
AAAI 2020; PaddlePaddle, PaddleOCR PP-OCRv6, https://github.com/PaddlePaddle/PaddleOCR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from preflight.features import onnx

_MAP_THRESHOLD = 0.3
_BOX_THRESHOLD = 0.5
_UNCLIP = 1.5
_MIN_SIDE = 3  # px of the map: smaller regions are noise


@dataclass(frozen=True)
class TextBox:
    x: float
    y: float
    width: float
    height: float
    score: float  # mean text probability inside the region
    tilt: float  # degrees from level, 0-45

    @property
    def area(self) -> float:
        return self.width * self.height


def detect_text(rgb: np.ndarray, long_side: int = 640) -> list[TextBox]:
    """Text boxes in an RGB frame (height, width, 3), in that frame's pixels."""
    return detect_text_each([rgb], long_side)[0]


def detect_text_each(frames: Sequence[np.ndarray], long_side: int = 640) -> list[list[TextBox]]:
    """:func:`detect_text` of each frame, the detector's runs one after the other in one turn."""
    sizes = [_map_size(*rgb.shape[:2], long_side) for rgb in frames]
    outs = onnx.run_all("text_detector.onnx", ({"x": _input(rgb, size)} for rgb, size in zip(frames, sizes)))
    return [_boxes(out[0][0, 0], rgb.shape[1] / map_w, rgb.shape[0] / map_h)
            for out, rgb, (map_w, map_h) in zip(outs, frames, sizes)]


def _map_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(width, height) the detector sees: the long side at most ``long_side``, both multiples of 32."""
    scale = min(1.0, long_side / max(height, width))
    return max(32, round(width * scale / 32) * 32), max(32, round(height * scale / 32) * 32)


def _input(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    bgr = cv2.resize(rgb[:, :, ::-1], size, interpolation=cv2.INTER_AREA)
    x = (bgr.astype(np.float32) / 255.0 - 0.5) / 0.5
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def _boxes(probability: np.ndarray, sx: float, sy: float) -> list[TextBox]:
    mask = (probability > _MAP_THRESHOLD).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = []
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if min(w, h) < _MIN_SIDE:
            continue
        region = labels[y : y + h, x : x + w] == i
        score = float(probability[y : y + h, x : x + w][region].mean())
        if score < _BOX_THRESHOLD:
            continue
        points = np.column_stack(np.nonzero(region)[::-1]).astype(np.float32)
        (_, _), (rw, rh), angle = cv2.minAreaRect(points)
        tilt = abs(angle) % 90
        tilt = min(tilt, 90 - tilt)
        grow = area * _UNCLIP / max(2 * (w + h), 1)
        x0, y0 = max(0.0, x - grow), max(0.0, y - grow)
        x1 = min(probability.shape[1], x + w + grow)
        y1 = min(probability.shape[0], y + h + grow)
        boxes.append(TextBox(x=x0 * sx, y=y0 * sy, width=(x1 - x0) * sx, height=(y1 - y0) * sy,
                             score=round(score, 3), tilt=round(float(tilt), 1)))
    return boxes
