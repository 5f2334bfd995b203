"""Closed eyes on stills: the score ``frontal`` judges (the landmarker's blink blendshapes, both
eyes' mean) and, for comparison, a geometric one (eval/README.md, "Closed eyes on a still").

    python eval/eyes.py DIR_OR_FILE... [--json out.json] [--videos]

Each picture is decoded and its faces measured as a check does (``face_track``: ``eyes_closed``,
0 open to 1 shut); for comparison, a second landmarker run on the same crop gives each eye's
blink score and the eye-aspect ratio (lid gap over eye width, both eyes' mean, from the mesh's
points: about 0.2-0.45 open, under 0.07 shut). Printed per file, one JSON line each. With ``--videos``, videos too (which
``frontal`` does not judge on their eyes): the frames sampled as a check samples them, and the
median, the 90th percentile and the share over the policy's still limit of their eyes' scores
(the landmarker scoring them as a still's are).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from preflight.assets import model_path  # noqa: E402
from preflight.features.faces import face_track  # noqa: E402
from preflight.features.landmarks import _crop  # noqa: E402
from preflight.features.native import mediapipe_tasks, quiet_stderr  # noqa: E402
from preflight.media.decode import decode  # noqa: E402
from preflight.media.probe import probe  # noqa: E402
from preflight.policy import Policy  # noqa: E402

# Each eye in the 478-point mesh: its two corners, then two (upper lid, lower lid) pairs.
EYES = ((33, 133, ((160, 144), (158, 153))), (263, 362, ((385, 380), (387, 373))))
IMAGES = {".jpg", ".jpeg", ".png", ".webp", ".avif", ".bmp"}
VIDEOS = {".mp4", ".mov", ".webm", ".mkv"}


def _aspect(points) -> float:
    def d(a: int, b: int) -> float:
        return math.hypot(points[a].x - points[b].x, points[a].y - points[b].y)
    return float(np.mean([sum(d(u, lo) for u, lo in lids) / (len(lids) * max(d(o, i), 1e-6)) for o, i, lids in EYES]))


def measure(path: Path, task) -> dict:
    mp, _, _ = mediapipe_tasks()
    media = decode(probe(path), sample_fps=1.0, with_audio=False)
    track = face_track(media, Policy().faces.min_confidence)
    row: dict = {"file": path.name}
    box = max(track.faces[0], key=lambda b: b.width * b.height, default=None)
    if box is None:
        return {**row, "face": None}
    row["face_px"] = round(max(box.width, box.height) * media.probe.video.height / media.rgb.height)
    if not track.measured[0]:
        return {**row, "face": "no landmarks"}
    row["eyes_closed"] = round(float(track.eyes_closed[0]), 3)
    crop = _crop(media.rgb[0], (box.x, box.y, box.width, box.height))
    with quiet_stderr():
        result = task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop)))
    if not result.face_blendshapes:
        return row
    row["aspect"] = round(_aspect(result.face_landmarks[0]), 3)
    scores = {c.category_name: c.score for c in result.face_blendshapes[0]}
    row.update({k: round(scores[k], 3) for k in ("eyeBlinkLeft", "eyeBlinkRight", "eyeSquintLeft", "eyeSquintRight",
                                                 "eyeLookDownLeft", "eyeLookDownRight")})
    return row


def measure_video(path: Path, task) -> dict:
    """A video's sampled frames, each face scored as a still's would be (a check scores none)."""
    mp, _, _ = mediapipe_tasks()
    policy = Policy()
    media = decode(probe(path), sample_fps=policy.faces.sample_fps, with_audio=False)
    track = face_track(media, policy.faces.min_confidence, landmarks=False)
    scores = []
    for frame, faces in zip(media.rgb, track.faces):
        box = max(faces, key=lambda b: b.width * b.height, default=None)
        if box is None:
            continue
        crop = _crop(frame, (box.x, box.y, box.width, box.height))
        with quiet_stderr():
            result = task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop)))
        if result.face_blendshapes:
            s = {c.category_name: c.score for c in result.face_blendshapes[0]}
            scores.append((s["eyeBlinkLeft"] + s["eyeBlinkRight"]) / 2)
    if not scores:
        return {"file": path.name, "face": None}
    x = np.array(scores)
    return {"file": path.name, "frames": len(x), "median": round(float(np.median(x)), 3),
            "p90": round(float(np.percentile(x, 90)), 3),
            "over_limit": round(float(np.mean(x > policy.frontal.image_eyes_closed_above)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--videos", action="store_true", help="measure the videos found too")
    args = parser.parse_args()
    _, BaseOptions, vision = mediapipe_tasks()
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
        running_mode=vision.RunningMode.IMAGE, num_faces=1, output_face_blendshapes=True)
    with quiet_stderr():
        task = vision.FaceLandmarker.create_from_options(options)
    kinds = IMAGES | (VIDEOS if args.videos else set())
    files = sorted(f for p in args.paths for f in ([p] if p.is_file() else p.iterdir()) if f.suffix.lower() in kinds)
    rows = []
    for f in files:
        try:
            row = measure(f, task) if f.suffix.lower() in IMAGES else measure_video(f, task)
        except Exception as exc:  # an evaluation run reports what it could not read and goes on
            row = {"file": f.name, "error": str(exc)[:80]}
        row["dir"] = f.parent.name
        rows.append(row)
        print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
