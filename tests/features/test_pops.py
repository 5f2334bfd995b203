"""Graphics that pop in and out, on grey frames made in numpy: what pops, and what only moves,
changes for good, cuts or repeats frames."""

import numpy as np

from preflight.features.pops import pops, steps

FPS = 25.0
H, W = 54, 96


def _scene(n: int = 100, seed: int = 0) -> np.ndarray:
    """A still scene with a camera's noise: a gradient, a few grey levels of grain a frame."""
    rng = np.random.default_rng(seed)
    base = np.tile(np.linspace(60, 180, W), (H, 1))
    return np.clip(base[None] + rng.normal(0, 1.5, (n, H, W)), 0, 255).astype(np.uint8)


def _disc(frames: np.ndarray, on: range, x: float, y: float, r: float = 7, level: int = 230) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    inside = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
    out = frames.copy()
    for i in on:
        out[i][inside] = level
    return out


def test_a_badge_put_on_and_taken_off_pops_where_and_when_it_was():
    grey = _disc(_scene(), range(25, 75), x=15, y=12)
    [pop] = pops(grey, FPS)
    assert (pop.shown, pop.gone) == (25, 75)
    x0, y0, x1, y1 = pop.box
    assert x0 <= 8 and x1 >= 22 and y0 <= 5 and y1 >= 19


def test_what_slides_in_or_stays_is_not_a_pop():
    sliding = _scene()
    for k, i in enumerate(range(20, 50)):  # in from the left edge and out at the right, 4 px a frame
        sliding = _disc(sliding, range(i, i + 1), x=-8 + 4 * k, y=20)
    assert pops(sliding, FPS) == []
    drifting = _scene()
    for k, i in enumerate(range(20, 80)):  # put on at 20, drifting 1 px a frame, taken off at 80: a pop
        drifting = _disc(drifting, range(i, i + 1), x=10 + k, y=20)
    assert [(p.shown, p.gone) for p in pops(drifting, FPS)] == [(20, 80)]
    stays = _disc(_scene(), range(25, 100), x=15, y=12)  # put on, never taken off: nothing restored
    assert steps(stays) and pops(stays, FPS) == []


def test_a_cut_and_a_blink_are_not_pops():
    cut = _scene()
    cut[50:] = 255 - cut[50:]  # the whole picture changes: a cut
    assert pops(cut, FPS) == []
    blink = _disc(_scene(), range(40, 44), x=50, y=25)  # gone after 4 frames: under half a second
    assert pops(blink, FPS) == []


def test_a_change_centred_on_a_face_is_left_out():
    grey = _disc(_scene(), range(25, 75), x=50, y=30)
    face = [[(35, 10, 65, 50)]] * len(grey)
    assert len(pops(grey, FPS)) == 1
    assert pops(grey, FPS, face) == []


def test_footage_that_repeats_frames_is_not_read():
    grey = _disc(_scene(), range(25, 75), x=15, y=12)
    moving = grey.astype(np.int16) + (np.arange(len(grey)) // 2 * 3 % 40)[:, None, None]  # a brightness drift in steps of 2 frames
    repeated = np.clip(moving, 0, 255).astype(np.uint8)
    repeated[1::2] = repeated[0::2][: len(repeated[1::2])]
    assert pops(repeated, FPS) == []


def test_a_badge_that_drifts_while_shown_pops_too():
    # put on at 25, moved 1 px every other frame (a drift), taken off at 75 over another part of the scene
    scene = _scene().astype(int)
    scene[:, :, 30:60] += np.clip(np.arange(len(scene)) - 30, 0, 40)[:, None, None]  # that part of the scene brightens slowly
    grey = np.clip(scene, 0, 255).astype(np.uint8)
    for i in range(25, 75):
        grey = _disc(grey, range(i, i + 1), x=15 + (i - 25) // 2, y=12)
    [pop] = pops(grey, FPS)
    assert (pop.shown, pop.gone) == (25, 75)
