"""frontal: a face looking at the camera passes; past the policy's angles it warns, never fails."""

from pathlib import Path

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


def _still(yaw: float):
    """A still's pose timeline: one frame, one face, the head turned ``yaw`` degrees."""
    import numpy as np

    from preflight.analyzers.frontal import Pose
    from preflight.features.faces import Box, FaceTrack
    from preflight.media import Role
    from preflight.roles import Source

    one = np.array([0.0])
    track = FaceTrack(one, [[Box(200, 100, 200, 240, 0.9)]], 640, 480, np.array([0.02]), np.array([yaw]),
                      np.array([5.0]), np.array([0.0]))
    return Pose(Source(Path("ada.png"), Role.IMAGE), Role.IMAGE, track, 1.0)


@pytest.mark.parametrize(("yaw", "status"), [(12.0, Status.PASS), (-33.0, Status.WARN), (44.0, Status.FAIL),
                                             (-50.0, Status.FAIL)])
def test_a_still_turned_past_the_image_limit_fails_and_a_little_turned_warns(yaw, status):
    from preflight.analyzers.frontal import judge
    from preflight.report import Span

    (check,) = judge(_still(yaw), Span(start=0.0, end=0.0), preflight.Policy())
    assert check.status is status, check
    if status is Status.FAIL:
        assert check.reason == "frontal.profile" and "profile" in check.message and "faces the camera" in check.fix


def test_a_video_turned_away_the_whole_time_only_warns():
    # interviews look off-camera by 30-40 degrees: a video keeps its frames that face the camera
    import numpy as np

    from preflight.analyzers.frontal import Pose, judge
    from preflight.features.faces import Box, FaceTrack
    from preflight.media import Role
    from preflight.report import Span
    from preflight.roles import Source

    n = 25
    times = np.arange(n) / 5.0
    track = FaceTrack(times, [[Box(200, 100, 200, 240, 0.9)]] * n, 640, 360, np.full(n, 0.02), np.full(n, 50.0),
                      np.zeros(n), np.zeros(n))
    (check,) = judge(Pose(Source(Path("ada.mp4"), Role.VIDEO), Role.VIDEO, track, 5.0), Span(start=0.0, end=5.0),
                     preflight.Policy())
    assert check.status is Status.WARN and check.reason == "frontal.turned_away"
