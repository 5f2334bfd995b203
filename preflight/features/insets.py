"""Inset pictures: axis-aligned rectangles with sharp sides on every sampled frame, tracked over time.

An editor's inset, sticker, card or picture-in-picture is a rectangle pasted onto the picture:
four straight sides, each a step in colour along its whole length, level with the frame. A
camera rarely sees one (a door, a window or a frame on the wall, at an angle and occluded by
the person, breaks a side or tilts it). Each frame is searched at :data:`WORK_SIDE` px: strong
vertical edges (Sobel, the largest of the three colour channels, so a green card on a grey
curtain of the same brightness still shows) in runs of at least ``min_side`` of the frame's
height, paired with a run of the same extent (within :data:`_TOL` px) that sits ``min_side``-``max_side``
of the width to its right; the pair is a rectangle when horizontal edges cover 75% of its top
and of its bottom. Rectangles on consecutive frames (gaps of up to 2 frames) of the
same size (3% of the frame) near the same place are one :class:`Inset` track.

A round badge has no sides and is not seen; a card whose top a bright background swallows is
found on few frames (eval/README.md, "overlay").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORK_SIDE = 320  # px: the longest side searched; a 6% side is still 19 px
_LEVEL = 15  # a side's edge strength: Sobel (scaled by 1/4) of the strongest channel, grey levels
_TOL = 2  # px at WORK_SIDE: how far the ends of two sides may differ
_COVER = 0.75  # share of the top and of the bottom that must be edge
_SAME_PLACE = 4  # px: rectangles found this close on one frame are one


Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in a frame's pixels


@dataclass(frozen=True)
class Inset:
    """One rectangle followed over sampled frames: the frames it was found on and its box on each."""

    frames: tuple[int, ...]
    boxes: tuple[Rect, ...]

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]


def rectangles(frame: np.ndarray, min_side: float, max_side: float) -> list[Rect]:
    """The rectangles on one RGB frame whose sides are ``min_side``-``max_side`` of the frame's
    width and height, outermost only (a card's inner panels are not insets of their own)."""
    import cv2

    small, scale = _working(frame)
    h, w = small.shape[:2]
    horizontal, vertical = _edges(small)
    sides = _runs(vertical.T, int(min_side * h))  # (column, y0, y1)
    if len(sides) < 2:
        return []
    # Horizontal edge counts along each row, 2 rows either way, summed: a side's coverage in O(1).
    rows = cv2.dilate(horizontal.astype(np.uint8), np.ones((5, 1), np.uint8))
    across = np.pad(np.cumsum(rows, axis=1, dtype=np.int32), ((0, 0), (1, 0)))
    i, j = _paired(sides, _TOL)
    col, y0, y1 = sides[:, 0], sides[:, 1], sides[:, 2]
    i, j = np.where(col[i] <= col[j], i, j), np.where(col[i] <= col[j], j, i)  # left side first
    top, bottom = np.minimum(y0[i], y0[j]), np.maximum(y1[i], y1[j]) - 1
    gap = col[j] - col[i]
    keep = ((gap >= min_side * w) & (gap <= max_side * w) & (np.abs(y1[i] - y1[j]) <= _TOL)
            & (bottom - top <= max_side * h))
    i, j, top, bottom = i[keep], j[keep], top[keep], bottom[keep]
    left, right = col[i], col[j] + 1
    span = np.maximum(right - left, 1).astype(np.float32)
    closed = ((across[top, right] - across[top, left]) / span >= _COVER) & (
        (across[bottom, right] - across[bottom, left]) / span >= _COVER)
    found: list[Rect] = []
    for box in zip(left[closed], top[closed], right[closed], bottom[closed] + 1):
        box = tuple(round(int(v) / scale) for v in box)
        if not any(all(abs(a - b) <= _SAME_PLACE / scale for a, b in zip(box, other)) for other in found):
            found.append(box)
    return [b for b in found if not any(o != b and _inside(b, o, 2 / scale) for o in found)]


def track(per_frame: list[list[Rect]], width: int, height: int) -> list[Inset]:
    """Rectangles of the same size (3% of the frame) on frames at most 2 apart, within 15% of
    the frame of each other, joined into tracks."""
    done: list[list[tuple[int, Rect]]] = []
    live: list[list[tuple[int, Rect]]] = []
    for t, boxes in enumerate(per_frame):
        ended = [tr for tr in live if t - tr[-1][0] > 2]
        done += ended
        live = [tr for tr in live if tr not in ended]
        for box in boxes:
            match = next((tr for tr in live if tr[-1][0] < t and _same(tr[-1][1], box, width, height)), None)
            if match is None:
                live.append([(t, box)])
            else:
                match.append((t, box))
    return [Inset(frames=tuple(t for t, _ in tr), boxes=tuple(b for _, b in tr)) for tr in done + live]


def side_cover(frame: np.ndarray, box: Rect) -> float:
    """How much of ``box``'s outline is an edge on ``frame``: the median of its four sides' shares
    (each within a pixel). Near 1 where the rectangle is there, also with a person in front of
    one or two of its sides; low where it is gone, though a line of the scene may happen to lie
    along one side."""
    import cv2

    small, scale = _working(frame)
    horizontal, vertical = (cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0 for m in _edges(small))
    h, w = small.shape[:2]
    x0, y0, x1, y1 = (int(np.clip(round(v * scale), 0, lim - 1)) for v, lim in zip(box, (w, h, w, h)))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float(np.median([horizontal[y0, x0:x1].mean(), horizontal[y1, x0:x1].mean(),
                            vertical[y0:y1, x0].mean(), vertical[y0:y1, x1].mean()]))


def _working(frame: np.ndarray) -> tuple[np.ndarray, float]:
    """``frame`` at most :data:`WORK_SIDE` px on its longest side, and the scale it was brought to."""
    import cv2

    height, width = frame.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    if scale == 1.0:
        return frame, scale
    return cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA), scale


def _edges(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strong horizontal and vertical edges (bool, height x width): the largest channel's gradient,
    at least twice the other direction's."""
    import cv2

    blurred = cv2.GaussianBlur(frame, (3, 3), 0)

    def gradient(dx: int, dy: int) -> np.ndarray:
        g = cv2.convertScaleAbs(cv2.Sobel(blurred, cv2.CV_16S, dx, dy, ksize=3), alpha=0.25)
        if g.ndim == 2:
            return g.astype(np.int16)
        c = cv2.split(g)
        return cv2.max(cv2.max(c[0], c[1]), c[2]).astype(np.int16)

    gx, gy = gradient(1, 0), gradient(0, 1)
    return (gy > _LEVEL) & (gy > 2 * gx), (gx > _LEVEL) & (gx > 2 * gy)


def _runs(mask: np.ndarray, min_len: int, gap: int = 2) -> np.ndarray:
    """Runs of True along each row of ``mask`` (gaps of ``gap`` px closed), at least ``min_len``
    long, as rows of (row, start, end)."""
    import cv2

    closed = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, 2 * gap + 1), np.uint8))
    step = np.diff(np.pad(closed, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    starts, ends = np.argwhere(step == 1), np.argwhere(step == -1)
    long = (ends[:, 1] - starts[:, 1]) >= max(min_len, 2)
    return np.column_stack([starts[long, 0], starts[long, 1], ends[long, 1]])


def _paired(sides: np.ndarray, tol: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of ``sides`` (rows of column, y0, y1) whose tops lie within ``tol`` px of each
    other: sorted by top, each side meets only the few after it in that band (a window's blinds
    give hundreds of sides, and all pairs of them would cost more than the rest of the search)."""
    order = np.argsort(sides[:, 1], kind="stable")
    tops = sides[order, 1]
    band = np.searchsorted(tops, tops + tol, side="right") - np.arange(len(tops)) - 1
    firsts, seconds = [np.zeros(0, int)], [np.zeros(0, int)]
    for k in range(1, int(band.max(initial=0)) + 1):
        at = np.flatnonzero(band >= k)
        firsts.append(order[at])
        seconds.append(order[at + k])
    return np.concatenate(firsts), np.concatenate(seconds)


def _inside(box: Rect, other: Rect, slack: float) -> bool:
    return (other[0] <= box[0] + slack and other[1] <= box[1] + slack
            and other[2] >= box[2] - slack and other[3] >= box[3] - slack)


def _same(a: Rect, b: Rect, width: int, height: int) -> bool:
    return (abs((a[2] - a[0]) - (b[2] - b[0])) <= max(4, 0.03 * width)
            and abs((a[3] - a[1]) - (b[3] - b[1])) <= max(4, 0.03 * height)
            and abs(a[0] - b[0]) + abs(a[1] - b[1]) <= 0.15 * max(width, height))
