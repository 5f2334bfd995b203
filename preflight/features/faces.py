"""Faces on the sampled RGB frames: boxes from mediapipe Tasks ``FaceDetector`` with BlazeFace
full-range (``models/face_detection_full_range_sparse.tflite``), then the lip opening and head
pose of the largest face (:mod:`preflight.features.landmarks`), in one pass as frames arrive.

Full-range first: on two people side by side the short-range model finds neither or only the
nearer face, and counting faces is the point. On a frame where full-range finds no face, the
short-range model (``models/face_detection_short_range.tflite``, made for faces near the camera)
looks again: full-range misses a face that fills most of the frame, a close-up cut at the brow or
the chin, which short-range finds. Boxes are in pixels of the sampled frame.
Reference: Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs", 2019.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from preflight.assets import model_path
from preflight.features.landmarks import HumanCheck, Landmarker
from preflight.features.native import mediapipe_tasks, quiet_stderr
from preflight.media import Media, Role

_FULL_RANGE, _SHORT_RANGE = "face_detection_full_range_sparse.tflite", "face_detection_short_range.tflite"
_detectors: dict[str, object] = {}
_create_lock = threading.Lock()
_human_lock = threading.Lock()  # one strict landmarker graph: one crop at a time
HUMAN_MIN_PX = 60  # faces smaller than this often fail the strict check even when they are people's
HUMAN_FRAMES = 3
_detect_lock = threading.Lock()  # the detector is one graph: one frame at a time


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    score: float


@dataclass(frozen=True)
class FaceTrack:
    """Faces found on each sampled frame."""

    times: np.ndarray  # seconds, one per frame
    faces: list[list[Box]]
    frame_width: int
    frame_height: int
    # The largest face's landmarks per frame; NaN where there is no face or it was not measured.
    opening: np.ndarray  # inner-lip gap / face height
    yaw: np.ndarray  # degrees
    pitch: np.ndarray  # degrees
    roll: np.ndarray  # degrees
    eyes_closed: np.ndarray | None = None  # the eyes' blink scores, 0 open to 1 shut (stills; None: not measured)

    @property
    def counts(self) -> np.ndarray:
        return np.array([len(f) for f in self.faces], dtype=int)

    @property
    def measured(self) -> np.ndarray:
        """Frames whose largest face has landmarks."""
        return ~np.isnan(self.opening)

    def within(self, start: float, end: float) -> FaceTrack:
        """The frames sampled from ``start`` to ``end`` s."""
        keep = (self.times >= start) & (self.times <= end)
        if keep.all():
            return self
        return FaceTrack(self.times[keep], [f for f, k in zip(self.faces, keep) if k], self.frame_width,
                         self.frame_height, self.opening[keep], self.yaw[keep], self.pitch[keep], self.roll[keep],
                         None if self.eyes_closed is None else self.eyes_closed[keep])


@dataclass(frozen=True)
class Humanness:
    """How many of :class:`~preflight.features.landmarks.HumanCheck`'s 7 crops took the largest
    face for a person's, on a few frames (the image, or 3 spread over a video)."""

    times: np.ndarray  # seconds, one per frame checked
    passes: np.ndarray  # crops accepted, 0-7, per frame checked

    @property
    def checked(self) -> int:
        return len(self.passes)


def humanness(media: Media, min_confidence: float) -> Humanness:
    """The largest face's human check on up to 3 frames where it is at least 60 px tall; computed once."""
    return media.shared(f"human:{min_confidence}", lambda: _humanness(media, min_confidence))


def _humanness(media: Media, min_confidence: float) -> Humanness:
    track = face_track(media, min_confidence)
    sized = [i for i, found in enumerate(track.faces) if found and max(b.height for b in found) >= HUMAN_MIN_PX]
    picks = [sized[j] for j in np.unique(np.linspace(0, len(sized) - 1, HUMAN_FRAMES).round().astype(int))] if sized else []
    passes = []
    # A graph of its own for the few frames asked, closed after: kept, it would hold tens of MB
    # for the rest of the process, and a new one costs a fiftieth of a second.
    with _human_lock:
        check = HumanCheck() if picks else None
        try:
            for i in picks:
                largest = max(track.faces[i], key=lambda b: b.width * b.height)
                passes.append(check.passes(media.rgb[i], (largest.x, largest.y, largest.width, largest.height)))
        finally:
            if check is not None:
                check.close()
    return Humanness(times=track.times[picks] if picks else np.zeros(0), passes=np.array(passes, dtype=int))


# Turns of the picture, clockwise, that would stand a face upright: a phone clip whose rotation
# flag was lost, or a camera mounted upside down, shows a face the detector cannot find as is.
TURNS = {90: 0, 180: 1, 270: 2}  # degrees clockwise -> cv2.rotate's code (ROTATE_90_CLOCKWISE, _180, _90_COUNTERCLOCKWISE)
_TURN_FRAMES = 3


def upright_turn(media: Media, min_confidence: float) -> int | None:
    """The clockwise turn (90, 180 or 270 degrees) under which the face is found more surely than
    as decoded, on most of 3 frames spread over the source, or None; computed once, and only when
    asked (the faces check asks when it fails)."""
    return media.shared(f"turn:{min_confidence}", lambda: _upright_turn(media, min_confidence))


def _upright_turn(media: Media, min_confidence: float) -> int | None:
    import cv2

    n = len(media.rgb)
    picks = np.unique(np.linspace(0, n - 1, _TURN_FRAMES).round().astype(int)) if n else []
    # BlazeFace finds many faces well off upright (an upside-down clip: one face in 78% of
    # frames, and stray extra ones), so a turn must beat the frame as it is, and every turn is
    # tried: the one that wins on most frames, most surely, is the one.
    wins: dict[int, tuple[int, float]] = {}
    found: dict[int, list[tuple[np.ndarray, Box]]] = {}
    for i in picks:
        frame = media.rgb[i]
        as_is, _ = _best(frame)
        for degrees, code in TURNS.items():
            turned = cv2.rotate(frame, code)
            score, box = _best(turned)
            won, total = wins.get(degrees, (0, 0.0))
            beat = box is not None and score >= min_confidence and score > as_is
            wins[degrees] = (won + beat, total + score)
            if beat:
                found.setdefault(degrees, []).append((turned, box))
    best = max(wins, key=wins.get, default=None)
    if best is None or 2 * wins[best][0] <= len(picks):
        return None
    # BlazeFace also finds "faces" in a turned bee, fish or tool; a picture turned upright shows a
    # face the landmark model finds too, on most frames where the turn won.
    landmarker = Landmarker(video=False)
    try:
        measured = sum(landmarker.measure(frame, (b.x, b.y, b.width, b.height), 0.0) is not None for frame, b in found[best])
    finally:
        landmarker.close()
    return best if 2 * measured > len(picks) else None


def _best(frame: np.ndarray) -> tuple[float, Box | None]:
    """The most confident face BlazeFace finds on ``frame``: its score and box (0 and None: none)."""
    mp, _, _ = mediapipe_tasks()

    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
    best = max(_boxes(_get_detector(), image, 0.0), key=lambda b: b.score, default=None)
    return (0.0, None) if best is None else (best.score, best)


def face_track(media: Media, min_confidence: float, *, landmarks: bool = True) -> FaceTrack:
    """Detect faces on every sampled frame of ``media`` as the frames arrive; computed once.
    ``landmarks`` False leaves the lip opening and pose NaN (``preflight fix`` needs only boxes,
    and the landmarker costs more than the detector)."""
    return media.shared(f"faces:{min_confidence}:{landmarks}", lambda: _track(media, min_confidence, landmarks))


def _track(media: Media, min_confidence: float, landmarks: bool) -> FaceTrack:
    mp, _, _ = mediapipe_tasks()  # loaded on first use

    full = _get_detector()
    landmarker = Landmarker(video=media.role is Role.VIDEO, eyes=media.role is Role.IMAGE) if landmarks else None
    frames = media.rgb
    faces: list[list[Box]] = []
    poses = []
    try:
        for i, frame in enumerate(frames):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
            # none found: a close-up, perhaps (the short-range model is made when first needed)
            boxes = _boxes(full, image, min_confidence) or \
                [_as_full_range(b) for b in _boxes(_get_detector(_SHORT_RANGE), image, min_confidence)]
            faces.append(boxes)
            largest = max(boxes, key=lambda b: b.width * b.height, default=None)
            # Frames arrive at the sampling rate; their times are known once decoding ends.
            pose = landmarker.measure(frame, (largest.x, largest.y, largest.width, largest.height),
                                      i / (media.sample_fps or 1.0)) if largest and landmarker else None
            poses.append((pose.opening, pose.yaw, pose.pitch, pose.roll, pose.eyes_closed) if pose else (np.nan,) * 5)
    finally:
        if landmarker is not None:
            landmarker.close()
    opening, yaw, pitch, roll, closed = (np.array(v, dtype=float) for v in zip(*poses)) if poses else (np.zeros(0),) * 5
    return FaceTrack(times=frames.times, faces=faces, frame_width=frames.width, frame_height=frames.height,
                     opening=opening, yaw=yaw, pitch=pitch, roll=roll,
                     eyes_closed=closed if media.role is Role.IMAGE else None)


def _boxes(detector, image, min_confidence: float) -> list[Box]:
    """The faces ``detector`` finds on ``image`` with at least ``min_confidence``."""
    with _detect_lock, quiet_stderr():
        result = detector.detect(image)
    return [Box(d.bounding_box.origin_x, d.bounding_box.origin_y, d.bounding_box.width, d.bounding_box.height,
                d.categories[0].score)
            for d in result.detections if d.categories and d.categories[0].score >= min_confidence]


def _as_full_range(box: Box) -> Box:
    """A short-range box as full-range draws the same face: on faces both models find, the
    short-range box is about 0.93 times the size, its centre about 0.05 of the size lower
    (eval/README.md), so the lip crops and the face's size read alike from either."""
    scale = 1 / 0.93
    width, height = box.width * scale, box.height * scale
    cx, cy = box.x + box.width / 2, box.y + box.height / 2 - 0.05 * max(width, height)
    return Box(cx - width / 2, cy - height / 2, width, height, box.score)


def _get_detector(model: str = _FULL_RANGE):
    with _create_lock:
        if model not in _detectors:
            mp, BaseOptions, vision = mediapipe_tasks()

            options = vision.FaceDetectorOptions(
                base_options=BaseOptions(model_asset_path=str(model_path(model))),
                running_mode=vision.RunningMode.IMAGE,
                # Scores are filtered by the policy's limit afterwards; ask for everything plausible.
                min_detection_confidence=0.3,
            )
            with quiet_stderr():  # loading, the first run and closing print native log lines
                detector = vision.FaceDetector.create_from_options(options)
                detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8)))
            _detectors[model] = detector

            def close() -> None:
                with quiet_stderr():
                    detector.close()

            # mediapipe closes its tasks through a thread pool that the interpreter shuts down
            # before plain atexit handlers run (and its __del__ fails later still); threading's
            # exit hooks run in reverse order, so this one runs before the pool goes.
            threading._register_atexit(close)
        return _detectors[model]
