"""scene_cuts: a hard cut fails at its time, one take passes, a fade warns."""

from conftest import check_of

from preflight.report import Status


def test_hard_cut_fails_at_its_time(report_of):
    cuts = check_of(report_of("cut.mp4"), "scene_cuts")
    assert cuts.status is Status.FAIL and cuts.value == 1
    assert abs(cuts.spans[0].start - 4.5) < 0.1


def test_one_take_passes(report_of):
    for name in ("talking_head.mp4", "two_faces.mp4", "lowres.mp4"):
        assert check_of(report_of(name), "scene_cuts").status is Status.PASS, name


def test_fade_warns(report_of):
    fade = check_of(report_of("fade.mp4"), "scene_cuts")
    assert fade.status is Status.WARN
    assert fade.spans and fade.spans[0].start > 7.5
