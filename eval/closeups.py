"""Close-ups: how BlazeFace's two models find a face that fills more and more of the frame, how
their boxes differ, and the close-up family of whole clips (eval/README.md, "Close-ups").

    .venv/bin/python eval/closeups.py detect ../shared/media/good_*.mp4 eval/out/fetched/*.mp4
    .venv/bin/python eval/closeups.py family eval/out/closeups ../shared/media/good_*.mp4 ...

``detect``: six frames of each clip; around the face full-range finds, windows (square, 9:16,
16:9) in which the face's box is 30-90% of the height, scaled to 640 px; per size, the frames each
model misses at the policy's 0.5; then, on faces both find, the short-range box against the
full-range one (centre offset and size, in full-range box sizes). ``family``: each clip cut to one
fixed square with the face's box at 60, 75 and 90% of it, 720x720, the sound copied; check them
with ``preflight check --format json`` before and after a change and compare the reports.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from preflight.assets import model_path  # noqa: E402
from preflight.features.native import mediapipe_tasks  # noqa: E402

SIZES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
ASPECTS = (1.0, 9 / 16, 16 / 9)  # window width / height
LIMIT = 0.5  # the policy's faces.min_confidence


class Detectors:
    def __init__(self) -> None:
        self.mp, base, vision = mediapipe_tasks()

        def make(name: str):
            options = vision.FaceDetectorOptions(base_options=base(model_asset_path=str(model_path(name))),
                                                 running_mode=vision.RunningMode.IMAGE, min_detection_confidence=0.2)
            return vision.FaceDetector.create_from_options(options)

        self.full = make("face_detection_full_range_sparse.tflite")
        self.short = make("face_detection_short_range.tflite")

    def best(self, which, rgb: np.ndarray) -> tuple[float, tuple[float, float, float, float] | None]:
        """The most confident face: its score and box (x, y, w, h), or (0, None)."""
        image = self.mp.Image(image_format=self.mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        found = [d for d in which.detect(image).detections if d.categories]
        if not found:
            return 0.0, None
        d = max(found, key=lambda d: d.categories[0].score)
        b = d.bounding_box
        return d.categories[0].score, (b.origin_x, b.origin_y, b.width, b.height)


def frames(path: Path, n: int = 6) -> list[np.ndarray]:
    """``n`` RGB frames spread over the clip."""
    duration = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                     str(path)], capture_output=True, text=True, check=True).stdout)
    out = []
    for k in range(n):
        png = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{duration * (k + 0.5) / n:.3f}", "-i", str(path),
                              "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-"], capture_output=True).stdout
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        if image is not None:
            out.append(np.ascontiguousarray(image[:, :, ::-1]))
    return out


def window(box, size: float, aspect: float, height: int, width: int) -> tuple[int, int, int, int] | None:
    """(x0, y0, w, h) of the window in which the face's box is ``size`` of the height, or None when
    it does not fit in the frame; centred on the face, a tenth of its height lower."""
    x, y, w, h = box
    wh = h / size
    ww = wh * aspect
    if wh > height or ww > width:
        return None
    x0 = int(np.clip(x + w / 2 - ww / 2, 0, width - ww))
    y0 = int(np.clip(y + h / 2 + 0.1 * h - wh / 2, 0, height - wh))
    return x0, y0, int(ww), int(wh)


def detect(paths: list[Path]) -> None:
    d = Detectors()
    missed: dict[float, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # frames, full, short, both
    pairs: dict[float, list[tuple[float, float, float]]] = defaultdict(list)
    for path in paths:
        for rgb in frames(path):
            score, box = d.best(d.full, rgb)
            if box is None or score < LIMIT:
                continue
            for size in (0.0, *SIZES):  # 0: the frame as it is (box pairs only)
                for aspect in ASPECTS if size else (None,):
                    crop = rgb
                    if size:
                        where = window(box, size, aspect, *rgb.shape[:2])
                        if where is None:
                            continue
                        x0, y0, w, h = where
                        scale = 640 / max(w, h)
                        crop = cv2.resize(rgb[y0:y0 + h, x0:x0 + w], (max(2, round(w * scale)), max(2, round(h * scale))),
                                          interpolation=cv2.INTER_AREA)
                    f, fb = d.best(d.full, crop)
                    s, sb = d.best(d.short, crop)
                    if size:
                        row = missed[size]
                        row[0] += 1
                        row[1] += f < LIMIT
                        row[2] += s < LIMIT
                        row[3] += max(f, s) < LIMIT
                    if size in (0.0, 0.5, 0.7) and f >= LIMIT and s >= LIMIT:
                        side = max(fb[2], fb[3])
                        pairs[size].append(((sb[0] + sb[2] / 2 - fb[0] - fb[2] / 2) / side,
                                            (sb[1] + sb[3] / 2 - fb[1] - fb[3] / 2) / side, max(sb[2], sb[3]) / side))
    print("face box / window height, frames, missed by full-range, by short-range, by both")
    for size in SIZES:
        n, full, short, both = missed[size]
        print(f"{size:.1f}  {n:4d}  {full:4d} ({100 * full / max(n, 1):.1f}%)  {short:3d}  {both:3d}")
    print("short-range box against full-range's, in full-range box sizes: median (5th-95th percentile)")
    for size, got in sorted(pairs.items()):
        a = np.array(got)
        cells = [f"{name} {np.median(a[:, i]):+.3f} ({np.percentile(a[:, i], 5):+.3f}..{np.percentile(a[:, i], 95):+.3f})"
                 for i, name in enumerate(("dx", "dy", "size"))]
        print(f"{'as is' if size == 0 else f'at {size:.1f}'}: {len(a)} pairs; " + "; ".join(cells))


def family(out: Path, paths: list[Path]) -> None:
    d = Detectors()
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        found = [b for s, b in (d.best(d.full, rgb) for rgb in frames(path)) if b is not None and s >= LIMIT]
        if not found:
            continue
        box = tuple(np.median(np.array(found, float), axis=0))
        height, width = frames(path, 1)[0].shape[:2]
        for size in (0.6, 0.75, 0.9):
            where = window(box, size, 1.0, height, width)
            if where is None:
                continue
            x0, y0, side, _ = where
            side -= side % 2
            name = out / f"zoom{round(size * 100)}_{path.name}"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), "-vf", f"crop={side}:{side}:{x0}:{y0},scale=720:720",
                            "-c:v", "libx264", "-crf", "18", "-preset", "veryfast", "-c:a", "copy", str(name)], check=True)
            print(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("detect").add_argument("clips", nargs="+", type=Path)
    made = sub.add_parser("family")
    made.add_argument("out", type=Path)
    made.add_argument("clips", nargs="+", type=Path)
    args = parser.parse_args()
    if args.what == "detect":
        detect(args.clips)
    else:
        family(args.out, args.clips)


if __name__ == "__main__":
    main()
