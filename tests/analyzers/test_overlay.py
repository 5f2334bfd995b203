"""overlay: a burned-in caption fails with its box, a small corner mark warns, clean footage passes."""

import re

from conftest import check_of

from preflight.report import Status


def test_clean_footage_passes(report_of):
    for name in ("talking_head.mp4", "two_faces.mp4", "cut.mp4"):
        assert check_of(report_of(name), "overlay").status is Status.PASS, name


def test_caption_bar_fails_with_where_it_is(report_of):
    check = check_of(report_of("caption.mp4"), "overlay")
    assert check.status is Status.FAIL and check.value >= 0.01
    # drawtext puts the caption in the bottom 110 px of the 720 px frame
    x, y = map(int, re.search(r"at \((\d+), (\d+)\)", check.message).groups())
    assert y >= 600
    assert check.fix


def test_small_corner_mark_warns(report_of):
    report = report_of("watermark.mp4")
    check = check_of(report, "overlay")
    assert check.status is Status.WARN and check.value < 0.01
    assert report.verdict == "go"


def test_images_are_skipped_with_the_reason(report_of):
    check = check_of(report_of("face.png"), "overlay")
    assert check.status is Status.SKIPPED and "motion" in check.message
