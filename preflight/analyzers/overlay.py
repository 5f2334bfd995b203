"""overlay: text, captions, logos or lower thirds burned into the picture.

Mosaic learns the face and the scene; a caption bar or a logo burned in ends up in the avatar.
Footage moves (the person, the camera's drift, the grain), an overlay does not: its edges sit on
the same pixels in every frame. The check runs Canny edges on each sampled frame (640 px) and
keeps the pixels that are an edge in at least 90% of them, joins nearby static edges into
regions and keeps the text-like ones: at least 8% of the region's pixels are edges (strokes)
and it is at least 1.5 times as wide as tall (a word, a line, a bar). It warns on a mark of 0.1%
of the frame or more and fails when such marks cover 1% of the frame (a one-line caption on a
512 px frame covers about 4%). It reports each region's box in source pixels and the share of
frames its edges are in.

On the labelled clips, the only static edges outside the captioned one are a seam between two
side-by-side videos (tall and sparse, so not text-like) and a few isolated pixels.
Weak spots: a perfectly locked-off camera on a static, textured background (a bookshelf, a sign)
can look like an overlay; an overlay shown for less than 90% of the clip, moving text
(a ticker) and images (one frame has no motion to compare with) are not checked.
"""

from __future__ import annotations

import numpy as np

from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Status

_MIN_FRAMES = 5
_MIN_DENSITY = 0.08
_MIN_ASPECT = 1.5


def analyze(media: Media, policy: Policy) -> list[Check]:
    if media.role is Role.AUDIO:
        return []
    limits = policy.overlay
    source = str(media.probe.path)
    limit = f"no static text-like marks (warn >= {limits.warn_area:.1%}, fail >= {limits.fail_area:.0%} of the frame)"
    if media.role is Role.IMAGE:
        return [Check(id="overlay", source=source, status=Status.SKIPPED, value=None, unit="share of frame",
                      limit=limit, message="a single image has no motion to tell an overlay from the picture")]
    frames = media.rgb.array()
    if len(frames) < _MIN_FRAMES:
        return [Check(id="overlay", source=source, status=Status.SKIPPED, value=None, unit="share of frame",
                      limit=limit, message="too few frames to tell what stays still")]
    height, width = frames.shape[1:3]
    regions, presence = _static_text_regions(frames, limits.min_presence, min_area=limits.warn_area * width * height)
    scale_x, scale_y = media.probe.video.width / width, media.probe.video.height / height
    area = sum(w * h for _, _, w, h in regions) / (width * height)
    if not regions:
        return [Check(id="overlay", source=source, status=Status.PASS, value=round(area, 4), unit="share of frame",
                      limit=limit, message="no static text-like marks")]
    boxes = ", ".join(
        f"{round(w * scale_x)}x{round(h * scale_y)} at ({round(x * scale_x)}, {round(y * scale_y)})"
        for x, y, w, h in regions[:3]
    )
    status = Status.FAIL if area >= limits.fail_area else Status.WARN
    return [Check(id="overlay", source=source, status=status, value=round(area, 4), unit="share of frame",
                  limit=limit,
                  message=f"static text-like marks cover {area:.1%} of the frame in {presence:.0%} of frames: {boxes}",
                  fix="use footage without captions, logos or titles burned in (export it before they are added)")]


def _static_text_regions(
    frames: np.ndarray, min_presence: float, min_area: float
) -> tuple[list[tuple[int, int, int, int]], float]:
    """Text-like regions (x, y, w, h, largest first; at least ``min_area`` px) of edges that
    never move, and the share of frames those edges are in."""
    import cv2

    edges = np.zeros(frames.shape[1:3], dtype=np.float32)
    for frame in frames:
        edges += cv2.Canny(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), 100, 200) > 0
    presence = edges / len(frames)
    static = presence >= min_presence
    height, width = static.shape
    # Joins letters into words and words into a line; a line's gaps are about a letter wide.
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, width // 60), max(3, height // 120)))
    joined = cv2.morphologyEx(static.astype(np.uint8), cv2.MORPH_CLOSE, kernel)
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    regions = []
    for x, y, w, h, _ in stats[1:count]:
        box = static[y : y + h, x : x + w]
        if w >= _MIN_ASPECT * h and box.mean() >= _MIN_DENSITY and w * h >= min_area:
            regions.append((int(x), int(y), int(w), int(h)))
    regions.sort(key=lambda r: -r[2] * r[3])
    inside = np.zeros_like(static)
    for x, y, w, h in regions:
        inside[y : y + h, x : x + w] = static[y : y + h, x : x + w]
    share = float(presence[inside].mean()) if inside.any() else 0.0
    return regions, share
