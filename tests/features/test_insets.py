"""Inset rectangles on synthetic frames: a camera-like background (blurred texture and grain)
with a pasted card, found where it is, tracked, and told from a rectangle that belongs to the scene."""

import numpy as np
import pytest

from preflight.analyzers.overlay import _pasted
from preflight.features.insets import rectangles, side_cover, track
from preflight.policy import OverlayLimits

LIMITS = OverlayLimits()

H, W = 360, 480
CARD = (60, 50)  # width, height in px


def _scene(n: int, seed: int = 0) -> np.ndarray:
    """``n`` frames of a soft textured background with fresh grain on each."""
    import cv2

    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.uniform(60, 200, (H, W, 3)).astype(np.float32), (0, 0), 6)
    frames = texture[None] + rng.normal(0, 3, (n, H, W, 3))
    return np.clip(frames, 0, 255).astype(np.uint8)


def _paste(frames: np.ndarray, at: list[tuple[int, int] | None]) -> np.ndarray:
    """A test card (three colour bars) pasted with its top-left corner at ``at[i]`` on frame i."""
    out = frames.copy()
    w, h = CARD
    card = np.zeros((h, w, 3), np.uint8)
    for k, colour in enumerate([(230, 40, 40), (40, 230, 40), (40, 40, 230)]):
        card[:, k * w // 3 : (k + 1) * w // 3] = colour
    for frame, where in zip(out, at):
        if where is not None:
            x, y = where
            frame[y : y + h, x : x + w] = card
    return out


def test_a_pasted_card_is_found_where_it_is_and_nowhere_else():
    frames = _paste(_scene(3), [None, (100, 80), None])
    assert rectangles(frames[0], 0.06, 0.6) == [] and rectangles(frames[2], 0.06, 0.6) == []
    (box,) = rectangles(frames[1], 0.06, 0.6)  # the card, not its three bars
    assert all(abs(a - b) <= 3 for a, b in zip(box, (100, 80, 100 + CARD[0], 80 + CARD[1]))), box


def test_its_frames_make_one_track_that_follows_it():
    at = [None] * 3 + [(60 + 8 * i, 80) for i in range(8)] + [None] * 3
    frames = _paste(_scene(len(at)), at)
    (inset,) = track([rectangles(f, 0.06, 0.6) for f in frames], W, H)
    assert (inset.first, inset.last) == (3, 10)
    assert inset.boxes[-1][0] - inset.boxes[0][0] >= 8 * 7 - 4
    assert side_cover(frames[2], inset.boxes[0]) < 0.3 < side_cover(frames[3], inset.boxes[0])


@pytest.mark.parametrize("motion", ["pops in and out", "drifts across"])
def test_a_card_that_pops_in_or_drifts_is_pasted(motion):
    n = 20
    at = [None] * 5 + [(60 + (6 * i if motion == "drifts across" else 0), 80) for i in range(10)] + [None] * 5
    found = _pasted(_paste(_scene(n), at), LIMITS)
    assert found[80 + CARD[1] // 2, 60 + CARD[0] // 2]  # where it was
    assert found.mean() < 0.1 and not found[:40].any()


def test_a_rectangle_there_all_along_is_part_of_the_scene():
    # a frame on the wall: the same rectangle on every frame, and the person passing in front of
    # it hiding its left side for a few frames
    import cv2

    frames = _paste(_scene(20), [(200, 120)] * 20)
    arm = np.zeros((H, W), np.float32)
    cv2.ellipse(arm, (205, 200), (30, 110), 15, 0, 360, 1.0, -1)
    arm = cv2.GaussianBlur(arm, (0, 0), 3)[..., None]  # a limb: round, soft-edged
    frames[8:12] = (frames[8:12] * (1 - arm) + 90 * arm).astype(np.uint8)
    assert not _pasted(frames, LIMITS).any()
