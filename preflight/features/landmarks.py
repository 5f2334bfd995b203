"""Face landmarks: mediapipe Tasks ``FaceLandmarker`` (``models/face_landmarker.task``, 478 points
and the head's pose), run on a crop around a face box BlazeFace found.

The crop is a square twice the box's size, so faces too small for the landmarker's own
short-range detector are still measured and the landmark model sees every face at one scale.
From the points:

- lip opening: inner-lip gap (points 13 and 14) over the face height (10 to 152), unitless;
  about 0 with the lips closed, 0.05-0.10 in open vowels.
- yaw and pitch, degrees, from the face's transformation matrix (0, 0 facing the camera).

Reference: Kartynnik et al., "Real-time Facial Surface Geometry from Monocular Video on Mobile
GPUs", CVPR Workshops 2019.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from preflight.assets import model_path

CROP_SCALE = 2.0
_UPPER_LIP, _LOWER_LIP, _FOREHEAD, _CHIN = 13, 14, 10, 152


@dataclass(frozen=True)
class Pose:
    opening: float  # inner-lip gap / face height
    yaw: float  # degrees, + = the face turns to the image's left
    pitch: float  # degrees, + = the face tilts down


class Landmarker:
    """One landmarker for one stream of frames (VIDEO mode tracks from frame to frame)."""

    def __init__(self, *, video: bool) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=1,
            output_facial_transformation_matrixes=True,
        )
        self._video = video
        self._task = vision.FaceLandmarker.create_from_options(options)

    def measure(self, frame: np.ndarray, box: tuple[float, float, float, float], time_s: float) -> Pose | None:
        """The pose of the face in ``box`` (x, y, width, height in frame pixels), or None."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(_crop(frame, box)))
        if self._video:
            result = self._task.detect_for_video(image, int(round(time_s * 1000)))
        else:
            result = self._task.detect(image)
        if not result.face_landmarks:
            return None
        points = result.face_landmarks[0]
        opening = _distance(points, _UPPER_LIP, _LOWER_LIP) / max(_distance(points, _FOREHEAD, _CHIN), 1e-6)
        yaw, pitch = _angles(np.array(result.facial_transformation_matrixes[0]))
        return Pose(opening=opening, yaw=yaw, pitch=pitch)

    def close(self) -> None:
        self._task.close()


def _crop(frame: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = box
    height, width = frame.shape[:2]
    side = CROP_SCALE * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return frame[y0:y1, x0:x1]


def _distance(points, a: int, b: int) -> float:
    # Crops are near-square, so normalised coordinates keep their proportions.
    return math.hypot(points[a].x - points[b].x, points[a].y - points[b].y)


def _angles(matrix: np.ndarray) -> tuple[float, float]:
    """Yaw and pitch (degrees) of the face's rotation (the matrix's upper-left 3x3)."""
    r = matrix[:3, :3]
    yaw = math.degrees(math.atan2(r[0, 2], r[2, 2]))
    pitch = math.degrees(math.atan2(-r[1, 2], math.hypot(r[0, 2], r[2, 2])))
    return yaw, pitch
