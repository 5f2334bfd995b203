"""scene_cuts: hard cuts and fades, from every frame of the video at 96 px, in grey.

Mosaic wants one continuous take. The change between two frames (0-255) is, as in PySceneDetect's
content score, the mean of the absolute grey-level difference and the share of pixels where the
edge map (Canny, dilated by a pixel, on contrast-stretched frames) differs: a jump cut moves the
head's contours, a blink or an exposure drift does not. A cut is a frame whose change is at least
``adaptive_ratio`` times the mean change within ``window_s`` either side and at least
``min_change`` (PySceneDetect's AdaptiveDetector): a hard cut stands 15-50x over its neighbourhood,
a jump cut about 5x, talking, blinking and nodding under 3x, and comparing with the neighbourhood
tells a sudden change from a speaker moving or a hand-held camera. A cut fails, except one leaving
at most ``edge_frames`` frames on one side: stray frames at an edge, which warn with the fix to trim
them. Frames going dark (mean grey <= ``dark_level``) after the start are a fade and warn; changes
into or out of a dark frame are left to that rule. Frames within ``repeat_below`` of the last
distinct frame (a 30 fps recording in a 60 fps project) are skipped.
Weak spots: a cut between two nearly identical framings or inside fast motion can hide (most jump
cuts of under a second in a still head: eval/README.md); a camera flash can look like a cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from preflight.media import Media, Role
from preflight.policy import Policy, SceneCutLimits
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Needs, Stretch, Timelines, clock

_KERNEL = np.ones((3, 3), np.uint8)

REASONS = {
    "scene_cuts.cut": "a hard cut: two shots in one clip",
    "scene_cuts.stray_frames": "one or two frames of another shot at the start or the end",
    "scene_cuts.fade": "the picture fades to black",
}


@dataclass(frozen=True)
class Scan:
    """The cut detector's findings over the distinct frames of a video."""

    times: np.ndarray  # seconds, one per distinct frame
    change: np.ndarray  # change[i]: frame i -> i + 1
    ratio: np.ndarray  # change[i] over its neighbourhood
    is_cut: np.ndarray  # per change: it marks a cut (edges included)
    dark: np.ndarray  # per frame: at or under the dark level

    @property
    def fps(self) -> float:
        return _fps(self.times)

    @property
    def cut_times(self) -> np.ndarray:
        """When each cut's new shot starts (seconds), stray frames at the edges included."""
        return self.times[np.flatnonzero(self.is_cut) + 1]

    @property
    def fade_times(self) -> np.ndarray:
        """Frames gone dark after the clip has started (a clip may open on black)."""
        return self.times[self.dark & np.maximum.accumulate(~self.dark)]

    def within(self, start: float, end: float) -> Scan:
        """The frames from ``start`` to ``end`` s and the changes between them (each change
        still judged against its neighbourhood in the whole video)."""
        keep = np.flatnonzero((self.times >= start) & (self.times <= end))
        if len(keep) == len(self.times):
            return self
        a, b = (int(keep[0]), int(keep[-1]) + 1) if len(keep) else (0, 0)
        pairs = slice(a, max(a, b - 1))
        return Scan(times=self.times[a:b], change=self.change[pairs], ratio=self.ratio[pairs],
                    is_cut=self.is_cut[pairs], dark=self.dark[a:b])


def scan(media: Media, limits: SceneCutLimits) -> Scan | None:
    """Every change of ``media``'s grey frames judged against its neighbourhood (None under 3 frames).
    ``preflight fix`` reads the cut times of a long recording from it.

    One pass as the frames arrive, holding two frames at a time (a streamed sequence keeps none):
    each frame is compared with the last distinct one, and only the per-frame numbers stay.
    """
    kept: list[int] = []
    grey: list[float] = []  # mean absolute difference from the last kept frame, per kept frame after the first
    edge: list[float] = []  # share of edge pixels that differ, x255, likewise
    dark: list[bool] = []
    head: list[np.ndarray] = []  # every frame until 3 distinct ones are seen: a still picture's fallback
    last = last_edges = None
    n = 0
    for n, frame in enumerate(media.grey, start=1):
        if len(kept) < 3:
            head.append(frame)
        current = frame.astype(np.float32)
        if last is not None:
            difference = float(np.abs(current - last).mean())
            # A 25 or 30 fps recording put in a 50 or 60 fps project repeats every frame; compared
            # with its repeat, each real change would stand out 2x from near-zero neighbours and
            # read as a cut. No cut is a change this small, so repeats are skipped.
            if difference < limits.repeat_below:
                continue
            grey.append(difference)
        edges = _edges(frame)
        if last_edges is not None:
            edge.append(float((edges != last_edges).mean()) * 255.0)
        kept.append(n - 1)
        dark.append(float(current.mean()) <= limits.dark_level)
        last, last_edges = current, edges
    if n < 3:
        return None
    times = media.grey.times
    if len(kept) < 3:  # a still picture: compare every frame with the next
        frames = np.stack(head)
        change = _content_change(frames)
        dark_frames = frames.mean(axis=(1, 2), dtype=np.float32) <= limits.dark_level
    else:
        times = times[np.array(kept)]
        change = (np.array(grey) + np.array(edge)) / 2.0
        dark_frames = np.array(dark)
    ratio = _neighbourhood_ratio(change, max(2, round(limits.window_s * _fps(times))))
    is_cut = (change >= limits.min_change) & (ratio >= limits.adaptive_ratio) & ~(dark_frames[:-1] | dark_frames[1:])
    return Scan(times=times, change=change, ratio=ratio, is_cut=is_cut, dark=dark_frames)


@dataclass(frozen=True)
class Cuts(Timelines):
    scan: Scan | None  # None: under 3 frames


def measure(media: Media, policy: Policy) -> Cuts:
    return Cuts(media.source, scan(media, policy.scene_cuts))


def judge(t: Cuts, window: Span, policy: Policy) -> list[Check]:
    limits = policy.scene_cuts
    source = t.source
    limit = f"no cut (change >= {limits.adaptive_ratio:g}x its neighbourhood and >= {limits.min_change:g})"
    found_scan = t.scan.within(window.start, window.end) if t.scan is not None else None
    if found_scan is None or len(found_scan.times) < 3:
        return [ANALYZER.check(source, Status.SKIPPED, value=None, limit=limit, message="too few frames to compare",
                               unit="")]
    times, change, ratio, is_cut = found_scan.times, found_scan.change, found_scan.ratio, found_scan.is_cut
    fps = found_scan.fps
    # A change that leaves only a frame or two on one side is a stray frame an editor or an
    # encoder left at the edge, not a second shot: it warns, and trimming those frames fixes it.
    n = len(times)
    edge = np.array([min(i + 1, n - i - 1) <= limits.edge_frames for i in range(n - 1)], dtype=bool)
    found = [(float(times[i + 1]), float(change[i]), float(ratio[i])) for i in np.flatnonzero(is_cut & ~edge)]
    strays = np.flatnonzero(is_cut & edge)

    fades = Span.merge(found_scan.fade_times, gap=2.0 / fps)

    if found:
        listed = ", ".join(f"{t:.2f} s (change {c:.0f}, {r:.1f}x)" for t, c, r in found[:5])
        return [ANALYZER.check(source, Status.FAIL, reason="scene_cuts.cut", value=len(found), limit=limit,
                               spans=[Span(start=round(t, 3), end=round(t, 3)) for t, _, _ in found],
                               message=f"{len(found)} cut(s) at {listed}",
                               fix="use one continuous take; trim to the longest stretch between the cuts")]
    if len(strays):
        head = [i + 1 for i in strays if i + 1 <= limits.edge_frames]  # frames before the change
        tail = [n - i - 1 for i in strays if i + 1 > limits.edge_frames]  # frames after it
        parts = ([f"the first {max(head)} frame(s)"] if head else []) + ([f"the last {max(tail)} frame(s)"] if tail else [])
        return [ANALYZER.check(source, Status.WARN, reason="scene_cuts.stray_frames", value=0, limit=limit,
                               spans=[Span(start=round(float(times[i + 1]), 3), end=round(float(times[i + 1]), 3)) for i in strays],
                               message=f"no cut, but {' and '.join(parts)} belong to another shot",
                               fix=f"trim {' and '.join(parts)}")]
    if fades:
        return [ANALYZER.check(source, Status.WARN, reason="scene_cuts.fade", value=0, limit=limit, spans=fades,
                               message=f"no hard cut, but the picture goes dark ({len(fades)} fade(s))",
                               fix="trim the fade; the avatar needs the face visible throughout")]
    return [ANALYZER.check(source, Status.PASS, value=0, limit=limit,
                           message=f"one continuous shot (largest change {change.max():.1f}, {ratio.max():.1f}x)")]


def avoid(t: Cuts, policy: Policy) -> list[Stretch]:
    """Each cut, with ``edge_frames`` frames either side (a window holding none of the other
    shot's frames has no stray frame to warn of), and the frames gone dark (a fade warns)."""
    if t.scan is None:
        return []
    scan, limits = t.scan, policy.scene_cuts
    guard = limits.edge_frames / scan.fps
    found = [Stretch(start=round(max(0.0, c - guard), 3), end=round(c + guard, 3), check="scene_cuts",
                     what="a scene cut", why=f"a scene cut at {clock(c)}") for c in scan.cut_times.tolist()]
    return found + Stretch.merged(scan.fade_times, 1.0 / scan.fps, "scene_cuts", "the picture is dark", Span.BRIDGED_S)


def _fps(times: np.ndarray) -> float:
    return (len(times) - 1) / max(float(times[-1] - times[0]), 1e-6)


def _content_change(frames: np.ndarray) -> np.ndarray:
    """The change between each frame and the next, for frames held together (a still picture's)."""
    grey = np.abs(np.diff(frames.astype(np.float32), axis=0)).mean(axis=(1, 2))
    edges = np.stack([_edges(f) for f in frames])
    edge = (edges[1:] != edges[:-1]).mean(axis=(1, 2)) * 255.0
    return (grey + edge) / 2.0


def _edges(frame: np.ndarray) -> np.ndarray:
    """Canny's edges of the contrast-stretched frame, dilated by a pixel."""
    return cv2.dilate(cv2.Canny(cv2.GaussianBlur(_stretched(frame), (3, 3), 0), 60, 120), _KERNEL) > 0


def _stretched(frame: np.ndarray) -> np.ndarray:
    """The frame scaled so its 99th percentile is 220. A fade dims every contour together, and
    unstretched they all drop under Canny's fixed thresholds on one frame, which reads as a cut."""
    gain = 220.0 / max(float(np.percentile(frame, 99)), 1.0)
    return cv2.convertScaleAbs(frame, alpha=min(gain, 16.0)) if gain > 1.05 else frame


def _neighbourhood_ratio(change: np.ndarray, k: int) -> np.ndarray:
    """change[i] over the mean of change[i-k..i+k] without i itself (fewer at the edges)."""
    padded = np.concatenate([[0.0], np.cumsum(change)])
    n = len(change)
    idx = np.arange(n)
    lo, hi = np.maximum(idx - k, 0), np.minimum(idx + k + 1, n)
    total = padded[hi] - padded[lo] - change
    count = np.maximum(hi - lo - 1, 1)
    return change / np.maximum(total / count, 0.5)


ANALYZER = Analyzer(checks=("scene_cuts",), roles=frozenset({Role.VIDEO}), policy="scene_cuts",
                    aspect=Aspect.PICTURE, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    avoid=avoid, needs=Needs(frames=True),
                    units={"scene_cuts": "cuts"})
