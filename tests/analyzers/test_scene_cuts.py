"""scene_cuts: a hard cut fails at its time, one take passes, a fade warns."""

import pytest

from conftest import check_of

from preflight.report import Status


def test_hard_cut_fails_at_its_time(report_of):
    cuts = check_of(report_of("cut.mp4"), "scene_cuts")
    assert cuts.status is Status.FAIL and cuts.value == 1
    assert abs(cuts.spans[0].start - 4.5) < 0.1


@pytest.mark.slow
def test_one_take_passes(report_of):
    for name in ("talking_head.mp4", "two_faces.mp4", "lowres.mp4"):
        assert check_of(report_of(name), "scene_cuts").status is Status.PASS, name


@pytest.mark.slow
def test_fade_warns(report_of):
    fade = check_of(report_of("fade.mp4"), "scene_cuts")
    assert fade.status is Status.WARN
    assert fade.spans and fade.spans[0].start > 7.5


# -- on synthetic frames (no decode) -------------------------------------------------------------

import subprocess

import cv2
import numpy as np
import pytest
from conftest import SHARED_MEDIA
from synthetic import media

import preflight

from preflight.analyzers import scene_cuts
from preflight.media import Role
from preflight.policy import Policy


def _shot(seed: int, n: int, bursts: bool = False) -> np.ndarray:
    """``n`` frames of one textured scene drifting smoothly (0.4 px a frame), with sensor noise;
    ``bursts``: moving in bursts instead (0-2 px a frame), as a speaker's head does."""
    rng = np.random.default_rng(seed)
    speed = 2.0 * np.abs(np.sin(np.arange(n) / 3.0)) ** 3 if bursts else np.full(n, 0.4)
    offset = np.cumsum(speed)
    scene = cv2.GaussianBlur(rng.uniform(0, 255, (80, 260)).astype(np.float32), (0, 0), 3)
    scene = cv2.normalize(scene, None, 20, 235, cv2.NORM_MINMAX)
    frames = []
    for i in range(n):
        moved = cv2.warpAffine(scene, np.float32([[1, 0, -offset[i]], [0, 1, 0]]), (260, 80))
        frames.append(moved[10:64, 10:106] + rng.normal(0, 1.5, (54, 96)))
    return np.stack(frames).clip(0, 255).astype(np.uint8)


def _judge(frames: np.ndarray, fps: float = 25.0):
    [check] = scene_cuts.ANALYZER.run(media(Role.VIDEO, grey=frames, fps=fps), Policy())
    return check


def test_stray_frames_at_either_edge_warn_with_the_trim():
    main = _shot(1, 100)
    other = _shot(2, 5)
    for frames, words in ((np.concatenate([other[:1], main[1:]]), "first 1"),
                          (np.concatenate([other[:2], main[2:]]), "first 2"),
                          (np.concatenate([main[:-1], other[:1]]), "last 1")):
        check = _judge(frames)
        assert check.status is Status.WARN, check.message
        assert words in check.fix


def test_a_cut_away_from_the_edges_fails():
    frames = np.concatenate([_shot(1, 50), _shot(2, 50)])
    check = _judge(frames)
    assert check.status is Status.FAIL and abs(check.spans[0].start - 2.0) < 0.05
    # three frames of another shot at the start are a shot, not a stray frame
    assert _judge(np.concatenate([_shot(2, 3), _shot(1, 97)])).status is Status.FAIL


def test_repeated_frames_are_not_cuts():
    # a 25 fps recording in a 50 fps project: every frame twice, with a little coding noise
    base = _shot(3, 100, bursts=True).astype(np.int16)
    assert _judge(base.clip(0, 255).astype(np.uint8)).status is Status.PASS
    rng = np.random.default_rng(4)
    doubled = np.repeat(base, 2, axis=0) + (rng.random((200, *base.shape[1:])) < 0.2) * rng.choice([-1, 1], (200, *base.shape[1:]))
    assert _judge(doubled.clip(0, 255).astype(np.uint8), fps=50.0).status is Status.PASS


@pytest.mark.slow
@pytest.mark.parametrize("clip,rate", [("good_aoc.mp4", 50), ("good_aoc.mp4", 60), ("good_katie.mp4", 60)])
def test_a_real_clip_put_in_a_faster_project_has_no_cut(tmp_path, clip, rate):
    # each frame repeated, re-encoded, as an editor's project at 50 or 60 fps does: no frame is a cut.
    # Without the sound (-an): scene_cuts judges the picture alone, and the sound's checks are skipped.
    if not (SHARED_MEDIA / clip).exists():
        pytest.skip(f"no {clip} in {SHARED_MEDIA}")
    out = tmp_path / f"fps{rate}.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(SHARED_MEDIA / clip), "-vf", f"fps={rate}", "-c:v", "libx264",
                    "-preset", "veryfast", "-an", str(out)], check=True)
    check = check_of(preflight.check(out), "scene_cuts")
    assert check.status is Status.PASS, check.message


def test_a_window_on_one_side_of_a_cut_has_none():
    from preflight.report import Span

    cuts = scene_cuts.measure(media(Role.VIDEO, grey=np.concatenate([_shot(1, 100), _shot(2, 100)]), fps=25.0), Policy())
    whole, before, across = (scene_cuts.judge(cuts, Span(start=a, end=b), Policy())[0]
                             for a, b in ((0, 8), (0, 3.9), (3, 6)))
    assert whole.status is Status.FAIL and whole.spans[0].start == 4.0
    assert before.status is Status.PASS
    assert across.status is Status.FAIL and across.spans[0].start == 4.0
