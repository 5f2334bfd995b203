"""The bundled models' sessions: a series of large runs gives what each run gives alone."""

import cv2
import numpy as np

from preflight.features import onnx
from preflight.features.text import detect_text, detect_text_each


def test_runs_in_one_turn_give_each_run_s_own_output_in_order():
    rng = np.random.default_rng(3)
    # Chunks of two shapes, as a long input's last chunk is shorter.
    feeds = [{"crops": rng.uniform(0, 255, (1, frames, 112, 112)).astype(np.float32)} for frames in (20, 20, 13)]
    alone = [onnx.session("light_asd_visual.onnx").run(None, feed)[0] for feed in feeds]
    together = onnx.run_all("light_asd_visual.onnx", iter(feeds))
    assert len(together) == 3
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(b[0], a)
    assert onnx.run_all("light_asd_visual.onnx", []) == []


def test_text_in_several_frames_is_the_text_of_each(fixture_path):
    frames = [np.full((360, 640, 3), 200, np.uint8) for _ in range(3)]
    for i, frame in enumerate(frames):  # dark bars of letter-like strokes, a different row each
        for x in range(40, 400, 24):
            frame[60 + 100 * i : 90 + 100 * i, x : x + 12] = 20
    frames.append(cv2.imread(str(fixture_path("face_caption.png")))[:, :, ::-1])  # another size
    each = detect_text_each(frames)
    assert each == [detect_text(frame) for frame in frames]
    assert [len(boxes) for boxes in each] == [1, 1, 1, 1]
