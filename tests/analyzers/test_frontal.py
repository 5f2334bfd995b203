"""frontal: a face looking at the camera passes; past the policy's angles it warns, never fails."""

import pytest

from conftest import check_of

import preflight
from preflight.report import Status


def test_facing_the_camera_passes(report_of):
    for name in ("talking_head.mp4", "face.png"):
        check = check_of(report_of(name), "frontal")
        assert check.status is Status.PASS and check.value == 0.0, name


@pytest.mark.slow
def test_turned_beyond_the_limit_warns(fixture_path):
    # The astronaut's head is tilted about 7 degrees; a 3 degree limit counts every frame as turned.
    policy = preflight.Policy.model_validate({"frontal": {"max_pitch": 3.0}})
    report = preflight.check(str(fixture_path("talking_head.mp4")), policy=policy)
    check = check_of(report, "frontal")
    assert check.status is Status.WARN and check.value > 0.9
    assert "pitch" in check.message and check.spans
    assert report.verdict == "go"


def test_no_face_is_skipped(report_of):
    assert check_of(report_of("no_face.png"), "frontal").status is Status.SKIPPED
