"""Face landmarks: mediapipe Tasks ``FaceLandmarker`` (``models/face_landmarker.task``, 478 points
and the head's pose), run on a crop around a face box BlazeFace found.

The crop is a square twice the box's size, so faces too small for the landmarker's own
short-range detector are still measured and the landmark model sees every face at one scale.
From the points:

- lip opening: inner-lip gap (points 13 and 14) over the face height (10 to 152), unitless;
  about 0 with the lips closed, 0.05-0.10 in open vowels.
- yaw, pitch and roll, degrees, from the face's transformation matrix (0, 0, 0 facing the
  camera upright; a roll near 90 means the face, or the whole picture, lies on its side).
- eyes closed (stills only, ``eyes=True``): the bundle's blendshape model's eyeBlinkLeft and
  eyeBlinkRight scores, their mean; near 0 with the eyes open, 0.5-0.8 shut.

Reference: Kartynnik et al., "Real-time Facial Surface Geometry from Monocular Video on Mobile
GPUs", CVPR Workshops 2019.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from preflight.assets import model_path
from preflight.features.native import mediapipe_tasks, quiet_stderr

CROP_SCALE = 2.0
_UPPER_LIP, _LOWER_LIP, _FOREHEAD, _CHIN = 13, 14, 10, 152
_BLINKS = ("eyeBlinkLeft", "eyeBlinkRight")


@dataclass(frozen=True)
class Pose:
    opening: float  # inner-lip gap / face height
    yaw: float  # degrees, + = the face turns to the image's left
    pitch: float  # degrees, + = the face tilts down
    roll: float  # degrees, + = the face lies turned counter-clockwise in the image
    eyes_closed: float  # the eyes' blink blendshapes, mean (0 open, 1 shut); NaN when not measured


class Landmarker:
    """One landmarker for one stream of frames (VIDEO mode tracks from frame to frame); ``eyes``
    also scores the eyes' closure (the blendshape model: for stills, whose eyes are judged)."""

    def __init__(self, *, video: bool, eyes: bool = False) -> None:
        _, BaseOptions, vision = mediapipe_tasks()

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=1,
            output_facial_transformation_matrixes=True,
            output_face_blendshapes=eyes,
        )
        self._video = video
        with quiet_stderr():  # model loading prints native log lines
            self._task = vision.FaceLandmarker.create_from_options(options)

    def measure(self, frame: np.ndarray, box: tuple[float, float, float, float], time_s: float) -> Pose | None:
        """The pose of the face in ``box`` (x, y, width, height in frame pixels), or None."""
        mp, _, _ = mediapipe_tasks()

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(_crop(frame, box)))
        with quiet_stderr():
            if self._video:
                result = self._task.detect_for_video(image, int(round(time_s * 1000)))
            else:
                result = self._task.detect(image)
        if not result.face_landmarks:
            return None
        points = result.face_landmarks[0]
        opening = _distance(points, _UPPER_LIP, _LOWER_LIP) / max(_distance(points, _FOREHEAD, _CHIN), 1e-6)
        yaw, pitch, roll = _angles(np.array(result.facial_transformation_matrixes[0]))
        scores = {c.category_name: c.score for c in result.face_blendshapes[0]} if result.face_blendshapes else {}
        closed = float(np.mean([scores[b] for b in _BLINKS])) if all(b in scores for b in _BLINKS) else math.nan
        return Pose(opening=opening, yaw=yaw, pitch=pitch, roll=roll, eyes_closed=closed)

    def close(self) -> None:
        with quiet_stderr():
            self._task.close()


class HumanCheck:
    """Whether a face is a person's: the landmarker held to a strict face-presence score.

    The landmark model's presence score is high for people (photos and video frames: median
    logit 21) and low for animals (median -15), but single crops overlap (a proboscis monkey
    reached 7.7, the least confident clean human photo 8.8). So the face is cut 7 ways (the usual
    2x crop; 1.6x and 3x; the 2x crop shifted by 12% of the box sideways, down, and up-left; and
    mirrored) and each must find a face at detection 0.8 and presence logit 9: people's faces at
    least 60 px tall pass all 7 in most photos and nearly every video frame, no animal passed more
    than 4 of 7 (eval/README.md, "faces"). Drawn, painted and carved human faces mostly pass:
    that is not what this tells apart.
    """

    VARIANTS = ((2.0, 0.0, 0.0, False), (1.6, 0.0, 0.0, False), (3.0, 0.0, 0.0, False), (2.0, 0.12, 0.0, False),
                (2.0, 0.0, 0.12, False), (2.0, -0.12, -0.12, False), (2.0, 0.0, 0.0, True))
    MIN_DETECTION, MIN_PRESENCE = 0.8, 1 / (1 + math.exp(-9.0))

    def __init__(self) -> None:
        _, BaseOptions, vision = mediapipe_tasks()

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
            min_face_detection_confidence=self.MIN_DETECTION,
            min_face_presence_confidence=self.MIN_PRESENCE,
        )
        with quiet_stderr():  # model loading prints native log lines
            self._task = vision.FaceLandmarker.create_from_options(options)

    def passes(self, frame: np.ndarray, box: tuple[float, float, float, float]) -> int:
        """How many of the 7 crops of the face in ``box`` the strict landmarker accepts."""
        mp, _, _ = mediapipe_tasks()

        count = 0
        for scale, dx, dy, mirror in self.VARIANTS:
            crop = _crop(frame, box, scale, dx, dy)
            if min(crop.shape[:2]) < 8:
                continue
            if mirror:
                crop = crop[:, ::-1]
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop))
            with quiet_stderr():
                count += bool(self._task.detect(image).face_landmarks)
        return count

    def close(self) -> None:
        with quiet_stderr():
            self._task.close()


def _crop(frame: np.ndarray, box: tuple[float, float, float, float], scale: float = CROP_SCALE,
          dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    x, y, w, h = box
    height, width = frame.shape[:2]
    side = scale * max(w, h)
    cx, cy = x + w / 2 + dx * w, y + h / 2 + dy * h
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return frame[y0:y1, x0:x1]


def _distance(points, a: int, b: int) -> float:
    # Crops are near-square, so normalised coordinates keep their proportions.
    return math.hypot(points[a].x - points[b].x, points[a].y - points[b].y)


def _angles(matrix: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch and roll (degrees) of the face's rotation (the matrix's upper-left 3x3)."""
    r = matrix[:3, :3]
    yaw = math.degrees(math.atan2(r[0, 2], r[2, 2]))
    pitch = math.degrees(math.atan2(-r[1, 2], math.hypot(r[0, 2], r[2, 2])))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll
