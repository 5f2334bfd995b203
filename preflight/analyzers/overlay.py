"""overlay: text, captions, logos, lower thirds or an inset picture burned into the picture.

Mosaic learns the face and the scene; a caption bar, a watermark or an inset ends up in the avatar.
Found on 6 sampled frames (640 px) or the image, and every frame's grey picture: burned-in text
(PaddleOCR's DB detector: level lines in text boxes on 60% of the frames, steady within 1% of the
frame, where scene text moves with the camera) with its flat plate (``graphic_spread``); static
edges in a corner (``min_presence`` of the frames, within ``mark_span``); inset rectangles and
graphics of any shape that pop in and out (:mod:`~preflight.features.insets`,
:mod:`~preflight.features.pops`); on a still, flat colourful logos near a corner. The union's area
fails at ``fail_area`` (a one-line caption on a 512 px frame covers about 4%), warns at
``warn_area``. Static is evidence only where the scene moves: a corner mark fails when the scene's
edges around it change by ``around_moving`` (a hand-held camera sways 7-22 grey levels, a locked-off
room under 1.3), else only where it stands out from the scene's own static structure; edges that run
nearly all one way (``min_crossing``: blinds, a shelf, which a camera moving along them leaves on
the same pixels) only warn. A still's text fails only where it is placed as a caption.
Weak spots: level lettering behind the speaker on a locked-off camera reads as burned in; a
scrolling ticker, text shown under 60% of a clip and a graphic that slides in are missed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features.bars import inside_bars
from preflight.features.faces import Box, FaceTrack, face_track
from preflight.features.graphics import flat_regions
from preflight.features.insets import Inset, Rect, rectangles, side_cover, track
from preflight.features.pops import pops
from preflight.features.text import TextBox, detect_text, detect_text_each
from preflight.media import Media, Role
from preflight.policy import OverlayLimits, Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Needs, Timelines
from preflight.roles import Source

REASONS = {
    "overlay.text": "burned-in text: a caption, a lower third, a title (it fails)",
    "overlay.text_minor": "burned-in text that only warns: small, or on a still not placed as a caption",
    "overlay.mark": "a static mark in a corner large enough to fail: a logo or an inset",
    "overlay.mark_minor": "a small static mark or logo in a corner",
    "overlay.inset": "a picture pasted over part of the clip: a card, a sticker or an inset that pops in or out",
}

# How the picture is sampled and what shape a line of text has; the limits are in ``policy.overlay``.
_TEXT_FRAMES = 6  # sampled frames the text detector reads
_MAX_TILT = 3.0  # degrees: a caption is level
_MIN_ASPECT = 2.0  # a line is at least twice as wide as tall
_IMAGE_LONG_SIDE = 960  # px: a still's size for the text detector
_MIN_FRAMES = 5  # sampled frames needed to tell what stays still
_INSET_MIN, _INSET_MAX = 0.06, 0.6  # of the frame's width and height: an inset's sides
_THUMB = 16  # cells a side of the thumbnail on which a cut is told from motion
_FEATURE_WIDTH = 0.6  # of the face box: wider than any eye, brow or mouth the detector lights up


@dataclass(frozen=True)
class Marks(Timelines):
    """What covers the picture, as masks over the sampled frame (or the image)."""

    text: np.ndarray | None  # burned-in text; None: too few frames to tell what stays still
    marks: np.ndarray  # static marks in a corner, over a moving scene
    hints: np.ndarray  # warn only: static shapes in a corner of a still scene, the text detector's blobs on a corner logo
    pasted: np.ndarray  # pictures pasted over part of the clip
    shown: list[Span]  # when graphics popping in and out were shown
    scale: tuple[float, float]  # source pixels per mask pixel, across and down
    caption: bool | None  # an image: some line reads as a caption (None for a video)


def measure(media: Media, policy: Policy) -> Marks:
    limits = policy.overlay
    source = media.source
    track = face_track(media, policy.faces.min_confidence)
    faces = track.faces
    if media.role is Role.IMAGE:
        return _image(media, source, faces[0] if faces else [], limits)
    frames = media.rgb.array()
    if len(frames) < _MIN_FRAMES:
        none = np.zeros((0, 0), dtype=bool)
        return Marks(source, None, none, none, none, [], (1.0, 1.0), None)
    height, width = frames.shape[1:3]
    picks = np.unique(np.linspace(0, len(frames) - 1, _TEXT_FRAMES).round().astype(int))
    text_seen = np.zeros((height, width), np.float32)
    blob_seen = np.zeros((height, width), np.float32)
    all_lines: list[list[TextBox]] = []  # each sampled frame's
    for i, boxes in zip(picks, detect_text_each([frames[i] for i in picks])):
        lines = _lines(boxes, width, height, faces[i] if i < len(faces) else [], limits)
        all_lines.append(lines)
        text_seen += _mask(lines, width, height)
        blob_seen += _mask([b for b in boxes if b not in lines], width, height)
    text = _still_text(text_seen / len(picks) >= limits.text_presence, all_lines, limits.text_drift)
    if text.any():
        text |= _plates(text, frames[picks[len(picks) // 2]], limits)
    small = min(width, height) < limits.min_side_px
    picture = _picture(frames)
    marks, hints = (np.zeros_like(text), np.zeros_like(text)) if small else _corner_marks(frames, limits, picture, faces)
    if not small:
        hints |= _corner_blobs(blob_seen / len(picks) >= limits.text_presence, picture, limits)
    popped, shown = _pops(media, track, width, height)
    pasted = (np.zeros_like(text) if small else _pasted(frames, limits)) | popped
    scale = (media.probe.video.width / width, media.probe.video.height / height)
    return Marks(source, text, marks, hints, pasted, shown, scale, None)


def judge(t: Marks, window: Span, policy: Policy) -> list[Check]:
    limits = policy.overlay
    limit = f"no burned-in text or marks (warn >= {limits.warn_area:.1%}, fail >= {limits.fail_area:.0%} of the frame)"
    if t.text is None:
        return [ANALYZER.check(t.source, Status.SKIPPED, value=None, limit=limit,
                               message="too few frames to tell what stays still")]
    if t.caption is not None:  # an image: its text, and logos in its corners
        status = _grade(float(t.text.mean()), limits) if t.text.any() else Status.PASS
        if status is Status.FAIL and not t.caption:
            status = Status.WARN  # text in the middle of a still may be part of the scene
        if t.marks.any() and _grade(float(t.marks.mean()), limits) is not Status.PASS:
            status = max(status, _grade(float(t.marks.mean()), limits), key=_SEVERITY.index)
        covered = t.text | t.marks
        found = [(kind, words) for kind, words, m in (("text", "burned-in text", t.text), ("mark", "a logo in a corner", t.marks))
                 if m.any()]
        if t.marks.any() and _grade(float(t.marks.mean()), limits) is status:
            found.reverse()  # the logo is what the verdict rests on
        return [_check(t.source, limit, status, float(covered.mean()), found, _box(covered, t.scale) if found else "")]
    covered = t.text | t.marks | t.hints | t.pasted
    area = float(covered.mean())
    found = [(kind, words) for kind, words, m in (
        ("text", "burned-in text", t.text), ("mark", "a static mark in a corner", t.marks),
        ("mark", "a static shape in a corner (a logo, or part of a still scene)", t.hints & ~t.marks),
        ("inset", "an inset picture that pops in or out", t.pasted)) if m.any()]
    status = _grade(float((t.text | t.marks | t.pasted).mean()), limits) if found else Status.PASS
    if t.hints.any() and status is Status.PASS:
        status = Status.WARN
    return [_check(t.source, limit, status, area, found, _box(covered, t.scale) if found else "", t.shown)]


def _image(media: Media, source: Source, faces: list[Box], limits: OverlayLimits) -> Marks:
    frame = media.rgb[0]
    height, width = frame.shape[:2]
    lines = _lines(detect_text(frame, _IMAGE_LONG_SIDE), width, height, faces, limits)
    logos = _logos(frame, lines, limits)
    covered = _mask(lines, width, height) > 0
    caption = any(b.width >= limits.caption_width * width or b.y + b.height <= limits.caption_top * height
                  or b.y >= limits.caption_bottom * height for b in lines)
    marks = np.zeros_like(covered)
    for x0, y0, x1, y1 in logos:
        marks[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))] = True
    none = np.zeros_like(covered)
    return Marks(source, covered, marks, none, none, [], (media.probe.video.width / width, media.probe.video.height / height),
                 caption)


def _logos(frame: np.ndarray, lines: list[TextBox], limits: OverlayLimits) -> list[tuple[float, float, float, float]]:
    """Logos in the corners of a still: flat graphics (:mod:`preflight.features.graphics`) within
    ``logo_zone`` of a corner and off the picture's edge, one colour (spread at most
    ``graphic_spread``), colourful (``graphic_colour``) and sharply bordered (``graphic_contrast``),
    with the flat fills of any colour touching them and the text lines in the same corner (a logo's
    name): per corner, the box around them all."""
    height, width = frame.shape[:2]
    zone = limits.logo_zone

    def corner(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int] | None:
        across = 0 if x1 <= zone * width else (1 if x0 >= (1 - zone) * width else None)
        down = 0 if y1 <= zone * height else (1 if y0 >= (1 - zone) * height else None)
        return None if across is None or down is None else (across, down)

    boxes: dict[tuple[int, int], list[float]] = {}
    flat = [r for r in flat_regions(frame) if not r.edge and r.spread <= limits.graphic_spread]
    for r in flat:
        if r.colour < limits.graphic_colour or r.contrast < limits.graphic_contrast:
            continue
        at = corner(r.x, r.y, r.x + r.width, r.y + r.height)
        if at is not None:
            boxes[at] = _join(boxes.get(at), (r.x, r.y, r.x + r.width, r.y + r.height))
    for at, box in boxes.items():  # the logo's other fills, of any colour, that touch it
        for r in flat:
            if (r.x <= box[2] + 2 and r.x + r.width >= box[0] - 2 and r.y <= box[3] + 2 and r.y + r.height >= box[1] - 2
                    and corner(r.x, r.y, r.x + r.width, r.y + r.height) == at):
                boxes[at] = _join(boxes[at], (r.x, r.y, r.x + r.width, r.y + r.height))
    for b in lines:
        at = corner(b.x, b.y, b.x + b.width, b.y + b.height)
        if at in boxes:
            boxes[at] = _join(boxes[at], (b.x, b.y, b.x + b.width, b.y + b.height))
    return [tuple(b) for b in boxes.values()]


def _join(a: list[float] | None, b: tuple[float, float, float, float]) -> list[float]:
    return list(b) if a is None else [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def _check(source: Source, limit: str, status: Status, area: float, found: list[tuple[str, str]], box: str,
           spans: list[Span] | None = None) -> Check:
    if status is Status.PASS:
        return ANALYZER.check(source, status, value=round(area, 4), limit=limit, message="no burned-in text or marks")
    kinds = [kind for kind, _ in found]  # (kind, words), what the verdict rests on first
    if kinds[0] == "text":
        reason = "overlay.text" + ("" if status is Status.FAIL else "_minor")
    elif "inset" in kinds:
        reason = "overlay.inset"
    else:
        reason = "overlay.mark" + ("" if status is Status.FAIL else "_minor")
    return ANALYZER.check(source, status, reason=reason, value=round(area, 4), limit=limit, spans=spans or [],
                          message=f"{' and '.join(words for _, words in found)} cover {area:.1%} of the frame, around {box}",
                          fix="use footage without captions, logos, titles or insets burned in (export it before they are added)")


_SEVERITY = [Status.PASS, Status.WARN, Status.FAIL]


def _grade(area: float, limits: OverlayLimits) -> Status:
    if area >= limits.fail_area:
        return Status.FAIL
    return Status.WARN if area >= limits.warn_area else Status.PASS


def _lines(boxes: list[TextBox], width: int, height: int, faces: list[Box], limits: OverlayLimits) -> list[TextBox]:
    """The boxes that look like a line of text rather than a face, an eye or a shirt the detector
    lit up. An eye, a brow or a mouth is level and twice as wide as tall, but spans at most about
    half the face's width: such lines centred on a face do not count, while a caption laid over a
    close-up's chin (a lower third on a head-and-shoulders portrait) is wider than that."""
    def on_a_face(b: TextBox) -> bool:
        cx, cy = b.x + b.width / 2, b.y + b.height / 2
        return any(f.x <= cx <= f.x + f.width and f.y <= cy <= f.y + f.height and b.width < _FEATURE_WIDTH * f.width
                   for f in faces)

    return [b for b in boxes if b.tilt <= _MAX_TILT and b.width >= _MIN_ASPECT * b.height
            and limits.min_line_height * height <= b.height <= limits.max_line_height * height
            and b.score >= limits.min_line_score
            and not on_a_face(b)]


def _mask(boxes: list[TextBox], width: int, height: int) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    for b in boxes:
        mask[int(b.y) : int(np.ceil(b.y + b.height)), int(b.x) : int(np.ceil(b.x + b.width))] = 1.0
    return mask


def _box(mask: np.ndarray, scale: tuple[float, float]) -> str:
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min() * scale[0], (xs.max() + 1) * scale[0], ys.min() * scale[1], (ys.max() + 1) * scale[1]
    return f"{round(x1 - x0)}x{round(y1 - y0)} px at ({round(x0)}, {round(y0)})"


def _still_text(seen: np.ndarray, lines: list[list[TextBox]], drift: float) -> np.ndarray:
    """The regions of ``seen`` whose lines (``lines``: each sampled frame's) stay put: burned-in
    text sits within a pixel or two from frame to frame, text on something in the scene moves with
    the camera (a sign in a street shot drifted 15 px and overlapped itself enough to look present
    throughout). Each row of text is judged on its own (a name over a title is two rows), and a
    frame's boxes on one row as one span (the detector splits a line at a comma on some frames)."""

    import cv2

    height, width = seen.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(seen.astype(np.uint8), connectivity=8)
    out = np.zeros_like(seen)
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        inside = [(k, b) for k, found in enumerate(lines) for b in found
                  if b.x < x + w and b.x + b.width > x and b.y < y + h and b.y + b.height > y]
        if inside and all(_steady(_spans(row), width, height, drift) for row in _rows(inside)):
            out |= labels == i
    return out


def _plates(text: np.ndarray, frame: np.ndarray, limits: OverlayLimits) -> np.ndarray:
    """The plates burned-in text is drawn on: flat regions of one colour (spread at most
    ``graphic_spread``: drawn, never filmed) that touch a text region and lie on its rows, a lower
    third's bar or a caption's box (the letters may cut it in parts), each at most ``max_plate`` of
    the frame. The bar is as much of the overlay as its letters."""
    import cv2

    height, width = text.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(text.astype(np.uint8), connectivity=8)
    regions = [r for r in flat_regions(frame) if r.spread <= limits.graphic_spread
               and r.width * r.height <= limits.max_plate * width * height]
    out = np.zeros_like(text)
    for x, y, w, h, _ in stats[1:count]:
        for r in regions:
            touches = r.x <= x + w + 2 and r.x + r.width >= x - 2 and r.y <= y + h + 2 and r.y + r.height >= y - 2
            if touches and r.y >= y - h and r.y + r.height <= y + 2 * h:
                out[int(r.y) : int(np.ceil(r.y + r.height)), int(r.x) : int(np.ceil(r.x + r.width))] = True
    return out


def _rows(lines: list[tuple[int, TextBox]]) -> list[list[tuple[int, TextBox]]]:
    """(frame, box) pairs grouped by the row of text they are: a box whose centre lies within half
    a line of a row's first box is that row again."""
    rows: list[list[tuple[int, TextBox]]] = []
    for k, b in sorted(lines, key=lambda kb: kb[1].y + kb[1].height / 2):
        row = next((r for r in rows if abs((b.y + b.height / 2) - (r[0][1].y + r[0][1].height / 2)) <= r[0][1].height / 2), None)
        if row is None:
            rows.append([(k, b)])
        else:
            row.append((k, b))
    return rows


def _spans(row: list[tuple[int, TextBox]]) -> list[tuple[float, float, float, float]]:
    """Each frame's boxes on a row as one span: (left, top, right, bottom)."""
    spans: dict[int, list[float]] = {}
    for k, b in row:
        s = spans.setdefault(k, [b.x, b.y, b.x + b.width, b.y + b.height])
        s[:] = [min(s[0], b.x), min(s[1], b.y), max(s[2], b.x + b.width), max(s[3], b.y + b.height)]
    return [tuple(s) for s in spans.values()]


def _steady(spans: list[tuple[float, float, float, float]], width: int, height: int, drift: float) -> bool:
    """Whether one row of text stays put: a caption that changes its words keeps one edge (or its
    centre) and its line's height, within ``drift`` of the frame."""
    left, top, right, bottom = (np.array(v) for v in zip(*spans))
    across = min(np.ptp(left), np.ptp(right), np.ptp((left + right) / 2))
    down = min(np.ptp(top), np.ptp(bottom))
    return across <= drift * width and down <= drift * height


def _picture(frames: np.ndarray) -> Rect:
    """The picture inside letterbox or pillarbox bars (:func:`~preflight.features.bars.inside_bars`).
    A channel logo sits in the picture's corner, below the bar (a film clip's logo 20% down a
    letterboxed frame)."""
    return inside_bars(frames)


def _in_corner(x: float, y: float, w: float, h: float, picture: Rect, corner: float) -> bool:
    x0, y0, x1, y1 = picture
    width, height = x1 - x0, y1 - y0
    return ((x <= x0 + corner * width or x + w >= x1 - corner * width)
            and (y <= y0 + corner * height or y + h >= y1 - corner * height))


def _corner_blobs(seen: np.ndarray, picture: Rect, limits: OverlayLimits) -> np.ndarray:
    """Regions the text detector lights up in most frames, in a corner of the picture and small: a
    logo's strokes excite it even without letters (faces and clothes it lights up are larger,
    central, and move)."""
    import cv2

    height, width = seen.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(seen.astype(np.uint8), connectivity=8)
    out = np.zeros_like(seen)
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if w * h <= limits.max_logo * width * height and _in_corner(x, y, w, h, picture, limits.corner):
            out |= labels == i
    return out


def _corner_marks(frames: np.ndarray, limits: OverlayLimits, picture: Rect,
                  faces: list[list[Box]]) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of static marks in a corner of the picture: (marks, hints). A mark is a compact region
    of edges on the same pixels in most frames (its box within ``mark_span`` of the picture each
    way from a corner; a larger one is the scene's own structure, a window frame or a shelf) whose
    surroundings move: the scene's edges around it, away from the person, change by a median of
    ``around_moving`` grey levels or more from one sampled frame to the next (a camera's sway,
    drift or zoom). On a still scene (a locked-off camera) every edge is static, and a shelf, a
    tile or a picture on the wall is as still as a logo: such a region is only a hint, which warns,
    unless the corner regions stand out from the scene's own static structure (its other static
    regions cover less than half their area: an inset on a blank wall), when they are marks. A
    region whose edges run nearly all one way (``min_crossing``) is only a hint too: blinds or a
    shelf stay on the same pixels while the camera moves along their lines.
    Bars are cut off first (2 px into the picture): their border with the picture is a static
    edge the width of the frame."""
    import cv2

    x0, y0, x1, y1 = picture
    if (x0, y0, x1, y1) != (0, 0, frames.shape[2], frames.shape[1]):
        inner = (x0 + 2 * (x0 > 0), y0 + 2 * (y0 > 0), x1 - 2 * (x1 < frames.shape[2]), y1 - 2 * (y1 < frames.shape[1]))
        out = [np.zeros(frames.shape[1:3], dtype=bool) for _ in range(2)]
        crop = frames[:, inner[1] : inner[3], inner[0] : inner[2]]
        shifted = [[Box(f.x - inner[0], f.y - inner[1], f.width, f.height, f.score) for f in found] for found in faces]
        for whole, part in zip(out, _corner_marks(crop, limits, (0, 0, crop.shape[2], crop.shape[1]), shifted)):
            whole[inner[1] : inner[3], inner[0] : inner[2]] = part
        return out[0], out[1]
    height, width = frames.shape[1:3]
    edges = np.zeros((height, width), dtype=np.float32)
    change = np.zeros((height, width), dtype=np.float32)  # mean change from one sampled frame to the next
    last = None
    for frame in frames:
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        edges += cv2.Canny(_stretched_grey(frame, grey), 100, 200) > 0
        if last is not None:
            change += cv2.absdiff(grey, last)
        last = grey
    change /= max(len(frames) - 1, 1)
    static = edges / len(frames) >= limits.min_presence
    seen = edges > 0  # an edge in some frame: where a moving scene changes
    person = _person(faces, width, height)
    # Joins letters into words and the strokes of a logo into one mark.
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, width // 60), max(3, height // 120)))
    joined = cv2.morphologyEx(static.astype(np.uint8), cv2.MORPH_CLOSE, kernel)
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    marks, hints = np.zeros_like(static), np.zeros_like(static)
    still: list[Rect] = []  # corner regions on a still scene
    elsewhere = 0  # area of the scene's other static regions
    for x, y, w, h, _ in stats[1:count]:
        if w * h < limits.warn_area * width * height or static[y : y + h, x : x + w].mean() < limits.min_density:
            continue
        if not _in_corner(x, y, w, h, picture, limits.corner) or w > limits.mark_span * width or h > limits.mark_span * height:
            elsewhere += w * h
        elif _crossing(static[y : y + h, x : x + w]) < limits.min_crossing:
            hints[y : y + h, x : x + w] = True
        elif _around(change, seen & ~person, (x, y, x + w, y + h)) >= limits.around_moving:
            marks[y : y + h, x : x + w] = True
        else:
            still.append((x, y, x + w, y + h))
    # On a still scene a corner region stands out only where the scene has little static structure
    # of its own: a generated clip's inset on a blank wall, not a shelf in a furnished room.
    stands_out = elsewhere < 0.5 * sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in still)
    for x0, y0, x1, y1 in still:
        (marks if stands_out else hints)[y0:y1, x0:x1] = True
    return marks, hints


def _crossing(static: np.ndarray) -> float:
    """How much a region's static edges run both ways: of its edge pixels on level runs (a static
    neighbour left or right, none above or below) and on upright runs, the fewer over the more. A
    logo's or a letter's outline runs both ways (0.6-0.9); blinds or a shelf's edge one way (under 0.1)."""
    padded = np.pad(static, 1)
    level = padded[1:-1, :-2] | padded[1:-1, 2:]
    upright = padded[:-2, 1:-1] | padded[2:, 1:-1]
    across, down = int(np.sum(static & level & ~upright)), int(np.sum(static & upright & ~level))
    return min(across, down) / max(across, down, 1)


def _around(change: np.ndarray, scene: np.ndarray, box: Rect) -> float:
    """The median change (grey levels, one sampled frame to the next) of the scene's edge pixels in
    a ring around ``box`` (a quarter of its longer side wide, at least 4 px); 0 with fewer than 20
    such pixels (a plain wall around a mark says nothing of the camera)."""
    x0, y0, x1, y1 = box
    height, width = change.shape
    m = max(4, (max(x1 - x0, y1 - y0) + 3) // 4)
    ring = np.zeros_like(scene)
    ring[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m] = True
    ring[y0:y1, x0:x1] = False
    values = change[ring & scene]
    return float(np.median(values)) if len(values) >= 20 else 0.0


def _person(faces: list[list[Box]], width: int, height: int) -> np.ndarray:
    """Where the speaker is on some sampled frame: each face's box widened by a face each side and
    run down to the bottom of the frame (the shoulders and the body move with speech)."""
    out = np.zeros((height, width), dtype=bool)
    for found in faces:
        for f in found:
            out[max(0, int(f.y - 0.3 * f.height)) :, max(0, int(f.x - f.width)) : int(f.x + 2 * f.width)] = True
    return out


def _pasted(frames: np.ndarray, limits: OverlayLimits) -> np.ndarray:
    """Pixels of inset rectangles (:mod:`preflight.features.insets`) seen on at least
    ``inset_frames`` sampled frames that pop in or out mid-clip: their outline gone (under
    ``inset_gone``) just before they are first seen or just after they are last seen, while the
    rest of the picture stays (see ``_popped``).
    An editor's card, sticker or inset appears and goes at once, held still or moving; a door or a
    frame on the wall is there all along, and a person passing in front of it hides only part of
    its outline. Whether it moves is not asked: a handheld camera moves the scene's rectangles too."""
    height, width = frames.shape[1:3]
    out = np.zeros((height, width), dtype=bool)
    for inset in track([rectangles(f, _INSET_MIN, _INSET_MAX) for f in frames], width, height):
        if len(inset.frames) < limits.inset_frames or not _popped(frames, inset, limits):
            continue
        for x0, y0, x1, y1 in inset.boxes:
            out[y0:y1, x0:x1] = True
    return out


def _pops(media: Media, track: FaceTrack, width: int, height: int) -> tuple[np.ndarray, list[Span]]:
    """Pixels (of the sampled frames) that graphics popping in and out covered, and when they were shown
    (:mod:`preflight.features.pops`, on every frame's grey picture), away from the faces: a badge,
    a sticker or a card of any shape that is put over the clip for a while and taken off."""
    out, shown = np.zeros((height, width), dtype=bool), []
    if media.grey is None or len(media.grey) < 5 or len(track.times) == 0:
        return out, shown
    grey = media.grey.array()
    gh, gw = grey.shape[1:]
    sx, sy = gw / width, gh / height
    # each frame takes the faces of the sampled frame at or just after it (5 a second)
    sampled = np.clip(np.searchsorted(track.times, media.grey.times), 0, len(track.times) - 1)
    # A face's own changes (an eye shut, a mouth opened between two frames) are not graphics.
    boxes = [[(int(f.x * sx), int(f.y * sy), int(np.ceil((f.x + f.width) * sx)), int(np.ceil((f.y + f.height) * sy)))
              for f in track.faces[j]] for j in sampled]
    times = media.grey.times
    for pop in pops(grey, media.probe.video.fps or 25.0, boxes):
        x0, y0, x1, y1 = pop.box
        out[int(y0 / sy) : int(np.ceil(y1 / sy)), int(x0 / sx) : int(np.ceil(x1 / sx))] = True
        shown.append(Span(start=round(float(times[pop.shown]), 2), end=round(float(times[pop.gone]), 2)))
    return out, shown


def _popped(frames: np.ndarray, inset: Inset, limits: OverlayLimits) -> bool:
    """Whether ``inset`` is gone from one of the two frames before its first or after its last
    (the detector can miss it on the frame it is last shown), while the rest of the picture stays.
    At a cut every rectangle of the shot goes with the rest, so the rest must stay: on a 16 x 16
    thumbnail, away from the inset's cells, its mean change is under ``cut_change`` grey levels
    (cuts change it far more than a talking head's motion does)."""
    def gone(shown: int, other: int, box: Rect) -> bool:
        if not 0 <= other < len(frames) or side_cover(frames[other], box) >= limits.inset_gone:
            return False
        return _rest_change(frames[shown], frames[other], box) < limits.cut_change

    return any(gone(inset.first, inset.first - k, inset.boxes[0]) or gone(inset.last, inset.last + k, inset.boxes[-1])
               for k in (1, 2))


def _rest_change(a: np.ndarray, b: np.ndarray, box: Rect) -> float:
    """Mean change (grey levels, largest channel) between two frames' 16 x 16 thumbnails, leaving
    out the cells ``box`` touches: the coarse picture, which a cut changes and motion hardly does."""
    import cv2

    height, width = a.shape[:2]
    n = _THUMB
    small = [cv2.resize(f, (n, n), interpolation=cv2.INTER_AREA).astype(np.int16) for f in (a, b)]
    rest = np.ones((n, n), dtype=bool)
    x0, y0, x1, y1 = box
    rest[y0 * n // height : -(-y1 * n // height), x0 * n // width : -(-x1 * n // width)] = False
    return float(np.abs(small[0] - small[1]).max(axis=2)[rest].mean()) if rest.any() else 0.0


def _stretched_grey(frame: np.ndarray, grey: np.ndarray | None = None) -> np.ndarray:
    """The frame in grey (``grey``, if given, is it already), its 1st-99th percentile stretched to
    0-255: Canny's limits are in grey levels, so a darker or flatter camera would otherwise show
    fewer edges of the same mark."""
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if grey is None else grey
    lo, hi = np.percentile(grey[::4, ::4], (1, 99))
    if hi - lo < 8:  # a flat frame: nothing to stretch, only noise to amplify
        return grey
    return cv2.convertScaleAbs(grey, alpha=255.0 / (hi - lo), beta=-lo * 255.0 / (hi - lo))


ANALYZER = Analyzer(checks=("overlay",), roles=frozenset({Role.VIDEO, Role.IMAGE}), policy="overlay",
                    aspect=Aspect.PICTURE, reasons=REASONS, measure=measure, judge=judge, windowed=False,
                    needs=Needs(frames=True, landmarks=True, model=True),
                    units={"overlay": "share of frame"})
