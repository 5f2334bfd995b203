"""Graphics pasted over part of a clip that pop in and out: a region of the picture that
changes completely between two frames while nothing else does, and that changes back later to
what it showed before.

An editor's sticker, badge, card or cartoon appears in one frame and leaves in one frame; what a
camera films changes over several (a hand, a head turning, a mouth opening), and a cut or a
camera move changes the whole picture. Read on the decode's every-frame grey pictures
(``Media.grey``, 96 px), in two steps:

- a **step** at frame i: the pixels that change by more than ``LEVEL`` grey levels from frame
  i - 1 (closed with a 3x3 square) form a patch of 0.3-30% of the frame (at least 3 px each way,
  filling 40% of its box: not a line along an edge that moved) whose median change is at
  least ``STRONG``, while the rest of the frame changes by a median under ``REST`` (no cut, no
  camera move) and the region itself changes by a median under ``STILL`` from i - 2 to i - 1 and
  from i to i + 1, and it is not a thing that moved by up to ``SHIFT`` px (a plain sleeve or a
  ball moving changes as a step does, but it moved there): it was put there. Regions at the
  frame's edge (things come in and go out there) and regions centred on a face are left out: a
  face changes by itself (an eye shut or a mouth opened between two frames of a slow camera).
- a **pop**: two steps at least ``MIN_SHOWN_S`` apart, of regions within a factor 2 in area,
  where the second region after it looks as it did before the first (median difference under
  ``RESTORED`` grey levels: the picture under the graphic was there all along), or where what
  went at the second looks like what came at the first (their grey levels' quantiles within
  ``RESTORED``: the same graphic, moved while it was shown).

Footage that repeats frames (a slow webcam, a generated clip doubled to 25 fps) moves in steps
everywhere, so nothing is read where more than ``REPEATED`` of the frames change less than half
as much as both their neighbours while those move (``MOVING``): 0.16-0.40 for the two shared
generated clips that repeat frames and their copies, at most 0.06 for every camera clip.

Weak spots: a graphic drifting over a busy background (what went no longer looks like what came)
or sliding in from the edge (no step where it comes in) is not found; a screen in the scene that flashes content and back
reads as a pop. What the limits were set on: eval/README.md, "overlay".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVEL = 25  # grey levels: a pixel that changed
STRONG = 40  # grey levels: the median change of a step's region
REST = 4.0  # grey levels: the median change of the rest of the frame at a step
STILL = 8.0  # grey levels: the region's median change just before and after its step
RESTORED = 10.0  # grey levels: the median difference of the region before the first step and after the second
MIN_AREA, MAX_AREA = 0.003, 0.3  # of the frame: a step's region
MIN_SHOWN_S = 0.5
SHIFT = 4  # px of the grey frame (4% of its width): how far a thing may move in a frame and be found
REPEATED = 0.1  # share of frames changing under half as much as both (moving) neighbours: repeated frames
MOVING = 1.0  # grey levels, mean over the frame: a change from frame to frame that is motion, not noise

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of the grey frames


@dataclass(frozen=True)
class Step:
    frame: int  # the first frame that shows the change
    box: Box
    area: int  # pixels changed
    mask: np.ndarray  # (height, width) bool: the region


@dataclass(frozen=True)
class Pop:
    shown: int  # the first frame the graphic is on
    gone: int  # the first frame it is off again
    box: Box  # the region it covered when it came or went


def pops(grey: np.ndarray, fps: float, faces: list[list[Box]] | None = None) -> list[Pop]:
    """The graphics that pop in and out of ``grey`` (frames, height, width, uint8) at ``fps``.
    ``faces`` gives, per frame, face boxes in grey-frame pixels, whose regions do not count."""
    if len(grey) < 5 or _repeats(grey):
        return []
    found = steps(grey, faces)
    out = []
    for i, first in enumerate(found):
        for second in found[i + 1:]:
            if second.frame - first.frame < MIN_SHOWN_S * fps or not 0.5 <= second.area / first.area <= 2.0:
                continue
            before, after = grey[first.frame - 1], grey[second.frame]
            change = np.abs(before[second.mask].astype(np.int16) - after[second.mask].astype(np.int16))
            came, went = grey[first.frame][first.mask], grey[second.frame - 1][second.mask]
            if float(np.median(change)) < RESTORED or _alike(came, went) < RESTORED:
                out.append(Pop(shown=first.frame, gone=second.frame, box=_union(first.box, second.box)))
                break
    return out


def steps(grey: np.ndarray, faces: list[list[Box]] | None = None) -> list[Step]:
    """Regions that change at once in one frame while the rest of the picture stays (see the module)."""
    import cv2

    frames = grey.astype(np.int16)
    height, width = grey.shape[1:]
    size = height * width
    out = []
    for i in range(2, len(frames) - 1):
        change = np.abs(frames[i] - frames[i - 1])
        changed = change > LEVEL
        share = changed.mean()
        if share < MIN_AREA or share > 0.5:
            continue
        closed = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        for k in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[k])
            # A patch, not a line: an edge of the scene shifted by a fraction of a pixel lights up a line.
            if not MIN_AREA * size <= area <= MAX_AREA * size or min(w, h) < 3 or area < 0.4 * w * h:
                continue
            region = labels == k
            if float(np.median(change[region])) < STRONG or float(np.median(change[~region])) >= REST:
                continue
            if (float(np.median(np.abs(frames[i - 1] - frames[i - 2])[region])) >= STILL
                    or float(np.median(np.abs(frames[i + 1] - frames[i])[region])) >= STILL):
                continue
            box = (x, y, x + w, y + h)
            if x == 0 or y == 0 or x + w == width or y + h == height:
                continue  # at the frame's edge: a thing coming into the picture or leaving it
            if _moved(frames[i], frames[i - 1], region, box):
                continue
            if faces is not None and i < len(faces) and any(_inside(box, f) for f in faces[i]):
                continue
            out.append(Step(frame=i, box=box, area=area, mask=region))
    return out


def _alike(a: np.ndarray, b: np.ndarray) -> float:
    """How far apart two patches' grey levels lie (median gap between their quantiles): small for
    the same graphic wherever it has moved to."""
    q = np.linspace(0, 1, 33)
    return float(np.median(np.abs(np.quantile(a.astype(np.float64), q) - np.quantile(b.astype(np.float64), q))))


def _moved(now: np.ndarray, before: np.ndarray, region: np.ndarray, box: Box) -> bool:
    """Whether the region's change is a thing moving by up to ``SHIFT`` px: what it shows now was
    there in the frame before, shifted, and what it showed before is there now, shifted the same
    way. A graphic put on fails the first (it was nowhere); one taken off fails the second (it is
    nowhere now), although the scene it uncovers was there beside it."""
    x0, y0, x1, y1 = box
    height, width = now.shape
    ys, xs = np.nonzero(region[y0:y1, x0:x1])
    ys, xs = ys + y0, xs + x0
    for dy in range(-SHIFT, SHIFT + 1):
        for dx in range(-SHIFT, SHIFT + 1):
            if dx == dy == 0:
                continue
            ok = (ys - dy >= 0) & (ys - dy < height) & (xs - dx >= 0) & (xs - dx < width) \
                & (ys + dy >= 0) & (ys + dy < height) & (xs + dx >= 0) & (xs + dx < width)
            if ok.mean() < 0.8:
                continue
            y, x = ys[ok], xs[ok]
            came = float(np.median(np.abs(now[y, x] - before[y - dy, x - dx])))
            went = float(np.median(np.abs(before[y, x] - now[y + dy, x + dx])))
            if max(came, went) < STILL:
                return True
    return False


def _repeats(grey: np.ndarray) -> bool:
    """Whether the footage repeats frames: many frames that change less than half as much as both
    their neighbours while those move (a repeat changes only by the encoder's noise, the frame
    after it by the motion of two; in a still picture every change is noise and proves nothing)."""
    change = np.abs(np.diff(grey.astype(np.int16), axis=0)).mean(axis=(1, 2))
    if len(change) < 3:
        return False
    around = np.minimum(change[:-2], change[2:])
    dips = (change[1:-1] < 0.5 * around) & (around >= MOVING)
    return float(dips.mean()) > REPEATED


def _inside(a: Box, face: Box) -> bool:
    """Whether the centre of ``a`` lies on the face: its box, a tenth larger each side."""
    cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    mx, my = (face[2] - face[0]) / 10, (face[3] - face[1]) / 10
    return face[0] - mx <= cx <= face[2] + mx and face[1] - my <= cy <= face[3] + my


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
