"""Face landmarks on the sampled RGB frames: mediapipe Tasks ``FaceLandmarker``
(``models/face_landmarker.task``, 478 points and the head's pose), VIDEO running mode.

Each frame is cropped to a square around the largest face BlazeFace found there (twice the box),
so faces too small for the landmarker's own short-range detector are still measured, and the
landmark model sees the face at one scale whatever the frame size. From the points:

- lip opening: inner-lip gap (points 13 and 14) over the face height (10 to 152), unitless;
  about 0 with the lips closed, 0.05-0.10 in open vowels.
- yaw and pitch, degrees, from the face's transformation matrix (0, 0 facing the camera).

Reference: Kartynnik et al., "Real-time Facial Surface Geometry from Monocular Video on Mobile
GPUs", CVPR Workshops 2019.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from preflight.assets import model_path
from preflight.features.faces import face_track
from preflight.media import Media, Role

CROP_SCALE = 2.0
_UPPER_LIP, _LOWER_LIP, _FOREHEAD, _CHIN = 13, 14, 10, 152

_lock = threading.Lock()  # a landmarker keeps per-stream state: one stream at a time


@dataclass(frozen=True)
class LandmarkTrack:
    """Per sampled frame; NaN where no face was measured."""

    times: np.ndarray  # seconds
    opening: np.ndarray  # inner-lip gap / face height
    yaw: np.ndarray  # degrees, + = the face turns to the image's left
    pitch: np.ndarray  # degrees, + = the face tilts down

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.opening)


def landmark_track(media: Media, min_confidence: float) -> LandmarkTrack:
    """Landmarks of the main face on every sampled frame of ``media``; computed once per source."""
    return media.shared(f"landmarks:{min_confidence}", lambda: _track(media, min_confidence))


def _track(media: Media, min_confidence: float) -> LandmarkTrack:
    import mediapipe as mp

    faces = face_track(media, min_confidence)
    n = len(faces.faces)
    opening, yaw, pitch = (np.full(n, np.nan) for _ in range(3))
    with _lock:
        landmarker = _new_landmarker(video=media.role is Role.VIDEO)
        try:
            for i, (frame, boxes) in enumerate(zip(media.rgb, faces.faces)):
                if not boxes:
                    continue
                crop = _crop(frame, max(boxes, key=lambda b: b.width * b.height))
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop))
                if media.role is Role.VIDEO:
                    result = landmarker.detect_for_video(image, int(round(faces.times[i] * 1000)))
                else:
                    result = landmarker.detect(image)
                if not result.face_landmarks:
                    continue
                points = result.face_landmarks[0]
                opening[i] = _distance(points, _UPPER_LIP, _LOWER_LIP) / max(_distance(points, _FOREHEAD, _CHIN), 1e-6)
                yaw[i], pitch[i] = _angles(np.array(result.facial_transformation_matrixes[0]))
        finally:
            landmarker.close()
    return LandmarkTrack(times=faces.times, opening=opening, yaw=yaw, pitch=pitch)


def _crop(frame: np.ndarray, box) -> np.ndarray:
    h, w = frame.shape[:2]
    side = CROP_SCALE * max(box.width, box.height)
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
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


def _new_landmarker(*, video: bool):
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
        running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
        num_faces=1,
        output_facial_transformation_matrixes=True,
    )
    return vision.FaceLandmarker.create_from_options(options)
