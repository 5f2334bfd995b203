"""overlay: burned-in text fails with its box, on video and on a still; a small corner mark warns;
clean footage passes."""

import re

import pytest

from conftest import check_of

from preflight.report import Status


@pytest.mark.slow
def test_clean_footage_passes(report_of):
    for name in ("talking_head.mp4", "two_faces.mp4", "cut.mp4"):
        assert check_of(report_of(name), "overlay").status is Status.PASS, name


@pytest.mark.slow
def test_caption_bar_fails_with_where_it_is(report_of):
    check = check_of(report_of("caption.mp4"), "overlay")
    assert check.status is Status.FAIL and check.value >= 0.01
    # drawtext puts the caption in the bottom 110 px of the 720 px frame
    x, y = map(int, re.search(r"at \((\d+), (\d+)\)", check.message).groups())
    assert y >= 600
    assert check.fix


@pytest.mark.slow
def test_small_corner_mark_warns(report_of):
    report = report_of("watermark.mp4")
    check = check_of(report, "overlay")
    assert check.status is Status.WARN and check.value < 0.01
    assert report.verdict == "go"


@pytest.mark.slow
def test_a_card_pasted_over_part_of_the_clip_fails(report_of):
    # no letters to read, shown for 2 of the clip's seconds, moving: found as an inset picture
    check = check_of(report_of("pasted.mp4"), "overlay")
    assert check.status is Status.FAIL and "inset picture" in check.message, check.message
    x, y = map(int, re.search(r"at \((\d+), (\d+)\)", check.message).groups())
    assert 60 <= x <= 100 and 40 <= y <= 80  # where it came in, 80 px in and 60 px down


@pytest.mark.slow
def test_a_round_badge_put_on_and_taken_off_fails(report_of):
    # no straight sides for the inset rectangles, no letters, away from a corner's edges
    check = check_of(report_of("badge.mp4"), "overlay")
    assert check.status is Status.FAIL and check.reason == "overlay.inset", check.message
    x, y = map(int, re.search(r"at \((\d+), (\d+)\)", check.message).groups())
    assert 50 <= x <= 110 and 30 <= y <= 90  # put at (80, 60), found on 96 px grey frames
    [shown] = check.spans
    assert abs(shown.start - 1.0) <= 0.05 and abs(shown.end - 3.0) <= 0.05


def test_a_caption_burned_into_a_still_fails(report_of):
    # a still has no motion to find an overlay by: its letters are looked for all the same
    check = check_of(report_of("face_caption.png"), "overlay")
    assert check.status is Status.FAIL and check.value >= 0.01
    assert check_of(report_of("face.png"), "overlay").status is Status.PASS


# -- the rules, on boxes made by hand --------------------------------------------------------

import numpy as np

from preflight.analyzers.overlay import _lines, _still_text
from preflight.features.faces import Box
from preflight.features.text import TextBox
from preflight.policy import OverlayLimits

LIMITS = OverlayLimits()


def _line(x, y, w=120.0, h=20.0, score=0.95, tilt=0.0):
    return TextBox(x=x, y=y, width=w, height=h, score=score, tilt=tilt)


def test_only_level_wide_confident_lines_off_the_face_count():
    face = Box(200, 100, 200, 220, 0.9)
    boxes = [_line(50, 400), _line(50, 300, tilt=8.0), _line(50, 200, w=30, h=30), _line(50, 100, score=0.55),
             _line(250, 180, w=60, h=25)]  # the last sits on the face: an eye
    assert _lines(boxes, 640, 480, [face], LIMITS) == [boxes[0]]


def test_text_that_drifts_with_the_scene_is_not_burned_in():
    seen = np.zeros((360, 640), dtype=bool)
    seen[100:125, 100:240] = True
    steady = [_line(100 + dx, 100, w=140, h=25) for dx in (0, 1, 0, 1, 0, 1)]
    drifting = [_line(100 + dx, 100, w=140, h=25) for dx in (0, 3, 6, 9, 12, 15)]
    assert _still_text(seen, [[b] for b in steady], LIMITS.text_drift).any()
    assert not _still_text(seen, [[b] for b in drifting], LIMITS.text_drift).any()


def test_a_caption_over_a_close_ups_chin_counts_but_a_mouth_does_not():
    # eval/cases stills: a lower third over a head-and-shoulders portrait (face box 68% of the frame)
    # is on the face box but not on the face: dropping it as "on a face" would be a false GO
    from preflight.analyzers.overlay import _lines
    from preflight.features.faces import Box
    from preflight.features.text import TextBox

    face = Box(x=60, y=60, width=300, height=380, score=0.95)
    caption = TextBox(x=15, y=410, width=315, height=30, score=0.95, tilt=0.0)
    mouth = TextBox(x=150, y=350, width=110, height=30, score=0.9, tilt=0.0)
    kept = _lines([caption, mouth], width=410, height=512, faces=[face], limits=LIMITS)
    assert kept == [caption]


def _letterboxed(frames=8, height=240, width=320, bar=40, seed=0):
    """Moving grain in a picture between two black bars, as a letterboxed film clip is."""
    rng = np.random.default_rng(seed)
    video = np.zeros((frames, height, width, 3), np.uint8)
    video[:, bar : height - bar] = rng.integers(60, 200, (frames, height - 2 * bar, width, 3), dtype=np.uint8)
    video[:, :bar] = rng.integers(0, 12, (frames, bar, width, 3), dtype=np.uint8)  # the encoder's noise in the bar
    return video


def test_the_picture_is_what_lies_between_the_bars():
    from preflight.analyzers.overlay import _picture

    assert _picture(_letterboxed()) == (0, 40, 320, 200)
    full = _letterboxed(bar=0)
    assert _picture(full) == (0, 0, 320, 240)
    full[:, :2] = 0  # two black rows at the top are an encoder's edge, not a bar
    assert _picture(full) == (0, 0, 320, 240)


def test_a_logo_in_the_pictures_corner_below_the_bar_is_in_a_corner():
    # vid_logo_bazigar re-encoded: its channel logo sits under the top bar, 20% down the frame,
    # and passed as "not in a corner"
    from preflight.analyzers.overlay import _corner_blobs, _picture

    video = _letterboxed()
    seen = np.zeros(video.shape[1:3], bool)
    seen[46:60, 280:310] = True  # the detector's blob on the logo, just under the bar
    assert _corner_blobs(seen, _picture(video), LIMITS).any()
    assert not _corner_blobs(seen, (0, 0, 320, 240), LIMITS).any()  # the frame's corner ends at 36 px


def test_a_faint_corner_mark_on_dark_footage_is_found_as_on_bright_footage():
    # vid_inset_vasa7 darker and flatter: the inset's edges fell under Canny's grey-level limits
    from preflight.analyzers.overlay import _corner_marks
    from preflight.policy import OverlayLimits

    rng = np.random.default_rng(1)
    bright = rng.integers(40, 220, (10, 240, 320, 3), dtype=np.uint8)  # moving grain: no static edges
    bright[:, 10:40, 250:310] = 230  # a static mark in the top-right corner
    bright[:, 14:36, 254:306] = 30
    dark = (bright.astype(np.float32) * 0.12 + 10).astype(np.uint8)  # the same footage, far darker and flatter
    for video in (bright, dark):
        marks, hints = _corner_marks(video, OverlayLimits(), (0, 0, 320, 240), [[]] * len(video))
        assert marks[10:40, 250:310].mean() > 0.5
        assert not marks[100:200, 50:200].any() and not hints.any()


def test_blinds_in_a_corner_under_a_camera_moving_along_them_only_warn():
    # HDTF-style close-up: the crop follows the head sideways; the level slats of window blinds in
    # the top-left corner stay on the same pixels, so their edges are static like a logo's
    from preflight.analyzers.overlay import _corner_marks
    from preflight.policy import OverlayLimits

    rng = np.random.default_rng(5)
    scene = rng.integers(40, 220, (240, 420, 3), dtype=np.uint8)
    scene[0:60, 0:180, :] = 200
    scene[2:60:6, 0:180, :] = 40  # slats: level dark lines across the top left of the scene
    pan = np.stack([scene[:, 10 * i : 10 * i + 320] for i in range(10)])  # the camera moves 10 px a frame sideways
    limits = OverlayLimits()
    marks, hints = _corner_marks(pan, limits, (0, 0, 320, 240), [[]] * len(pan))
    assert not marks[0:60, 0:100].any() and hints[0:60, 0:100].any()
    marks, _ = _corner_marks(pan, OverlayLimits(min_crossing=0), (0, 0, 320, 240), [[]] * len(pan))
    assert marks[0:60, 0:100].any()  # without the rule, a mark
    logo = pan.copy()
    logo[:, 10:40, 250:310] = 230  # a logo's box in the top-right corner, over the same moving scene
    logo[:, 14:36, 254:306] = 30
    marks, _ = _corner_marks(logo, limits, (0, 0, 320, 240), [[]] * len(logo))
    assert marks[10:40, 250:310].mean() > 0.5


def _room(frames=10, seed=2):
    """A locked-off shot of a wall lit from one side: the same picture every frame, with a little sensor noise."""
    rng = np.random.default_rng(seed)
    wall = np.linspace(60, 200, 320)[None, :, None] * np.ones((240, 1, 3))
    return np.stack([np.clip(wall + rng.integers(-2, 3, wall.shape), 0, 255).astype(np.uint8) for _ in range(frames)])


def test_a_static_corner_shape_in_a_furnished_still_scene_only_warns_and_a_room_wide_structure_is_not_a_mark():
    # a locked-off phone video's furniture is static and may sit in a corner: not a mark to fail on
    from preflight.analyzers.overlay import _corner_marks
    from preflight.policy import OverlayLimits

    video = _room()
    video[:, 10:40, 250:310] = 230  # a static shape in the top-right corner
    video[:, 14:36, 254:306] = 30
    marks, hints = _corner_marks(video, OverlayLimits(), (0, 0, 320, 240), [[]] * len(video))
    assert marks[10:40, 250:310].mean() > 0.5  # on a bare wall it stands out: an inset on a generated clip
    video[:, :, 150:154] = 250  # a window's frame from top to bottom, touching two corners
    video[:, 100:104, 40:140] = 250  # and a shelf
    marks, hints = _corner_marks(video, OverlayLimits(), (0, 0, 320, 240), [[]] * len(video))
    assert not marks.any() and not hints[:, 150:154].any()
    assert hints[10:40, 250:310].mean() > 0.5


def test_a_steady_two_line_caption_is_burned_in_though_its_lines_differ():
    # a lower third's name over a title makes one region whose two lines' tops differ by the line
    # spacing: that is not drifting text
    seen = np.zeros((512, 512), dtype=bool)
    seen[473:507, 211:300] = True
    lines = [[_line(211, 473, w=89, h=19), _line(226, 492, w=59, h=15)] for _ in range(6)]
    assert _still_text(seen, lines, LIMITS.text_drift)[480, 250]


def test_a_line_the_detector_splits_differently_on_each_frame_is_still_one_steady_line():
    # eval/cases: "Dr Ana Ruiz, Cardiologist" comes as one box on some frames and as two,
    # split at different places, on others
    seen = np.zeros((450, 450), dtype=bool)
    seen[343:369, 27:361] = True
    lines = [[_line(27, 343, w=265, h=25), _line(303, 343, w=58, h=26)], [_line(28, 343, w=269, h=24), _line(289, 343, w=71, h=25)],
             [_line(27, 343, w=332, h=26)]] * 2
    assert _still_text(seen, lines, LIMITS.text_drift)[355, 200]


def test_the_bar_under_burned_in_text_counts_with_it():
    from preflight.analyzers.overlay import _plates
    from preflight.policy import OverlayLimits

    rng = np.random.default_rng(3)
    frame = rng.integers(60, 200, (480, 640, 3), dtype=np.uint8)  # a camera's busy picture
    frame[420:470, :] = (139, 26, 26)  # a flat dark-red bar across the bottom
    frame[430:460, 250:390] = 255  # its letters, cutting it in two
    text = np.zeros((480, 640), dtype=bool)
    text[430:460, 250:390] = True
    plates = _plates(text, frame, OverlayLimits())
    assert plates[420:470, 5:635].mean() > 0.9
    frame[420:470, :] = rng.integers(100, 140, (50, 640, 3), dtype=np.uint8)  # a textured wall under scene text
    assert not _plates(text, frame, OverlayLimits()).any()


def test_a_flat_colourful_logo_in_a_stills_corner_is_found_with_its_name_but_not_a_photos_patch():
    from preflight.analyzers.overlay import _logos
    from preflight.policy import OverlayLimits
    import cv2

    rng = np.random.default_rng(4)
    photo = cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
    photo = np.clip(photo.astype(np.int16) + rng.integers(-4, 5, photo.shape), 0, 255).astype(np.uint8)
    assert _logos(photo, [], OverlayLimits()) == []
    logo = photo.copy()
    cv2.circle(logo, (590, 40), 22, (20, 60, 200), -1)  # a blue disc top-right
    name = _line(560, 66, w=60, h=14)  # its name under it
    [(x0, y0, x1, y1)] = _logos(logo, [name], OverlayLimits())
    assert x0 <= 570 and y0 <= 20 and x1 >= 612 and y1 >= 78
    assert _logos(logo, [], OverlayLimits())  # no letters needed
    middle = photo.copy()
    cv2.circle(middle, (320, 240), 22, (20, 60, 200), -1)  # the same disc in the middle: no corner
    assert _logos(middle, [], OverlayLimits()) == []
