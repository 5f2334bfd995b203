"""frontal: a face looking at the camera passes; past the policy's angles a video warns and a still
turned well away fails; a still whose eyes look closed warns."""

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


def _still(yaw: float, eyes: float | None = 0.05):
    """A still's pose timeline: one frame, one face, the head turned ``yaw`` degrees, the eyes
    scored ``eyes`` shut (0 open, 1 shut; None: not measured)."""
    import numpy as np

    from preflight.analyzers.frontal import Pose
    from preflight.features.faces import Box, FaceTrack
    from preflight.media import Role
    from preflight.roles import Source

    one = np.array([0.0])
    track = FaceTrack(one, [[Box(200, 100, 200, 240, 0.9)]], 640, 480, np.array([0.02]), np.array([yaw]),
                      np.array([5.0]), np.array([0.0]), None if eyes is None else np.array([eyes]))
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


@pytest.mark.parametrize(("yaw", "eyes", "status", "reason"), [
    (5.0, 0.05, Status.PASS, None), (5.0, 0.49, Status.PASS, None), (5.0, None, Status.PASS, None),
    (5.0, float("nan"), Status.PASS, None), (5.0, 0.7, Status.WARN, "frontal.eyes_closed"),
    (-33.0, 0.7, Status.WARN, "frontal.eyes_closed"), (50.0, 0.7, Status.FAIL, "frontal.profile")])
def test_a_still_whose_eyes_look_closed_warns(yaw, eyes, status, reason):
    # heavy lids narrowed half shut score up to about 0.5; most shut eyes 0.56-0.81 (eval/README.md)
    from preflight.analyzers.frontal import judge
    from preflight.report import Span

    (check,) = judge(_still(yaw, eyes), Span(start=0.0, end=0.0), preflight.Policy())
    assert (check.status, check.reason) == (status, reason), check
    if reason == "frontal.eyes_closed":
        assert "eyes look closed" in check.message and "eyes open" in check.fix
        assert check.details["eyes_closed"] == eyes


def test_a_video_is_not_judged_on_its_eyes():
    # blinks come and go: a video is judged on its head's pose alone, whatever its eyes score
    import numpy as np

    from preflight.analyzers.frontal import Pose, judge
    from preflight.features.faces import Box, FaceTrack
    from preflight.media import Role
    from preflight.report import Span
    from preflight.roles import Source

    n = 25
    track = FaceTrack(np.arange(n) / 5.0, [[Box(200, 100, 200, 240, 0.9)]] * n, 640, 360, np.full(n, 0.02),
                      np.zeros(n), np.zeros(n), np.zeros(n), np.full(n, 0.9))
    (check,) = judge(Pose(Source(Path("ada.mp4"), Role.VIDEO), Role.VIDEO, track, 5.0), Span(start=0.0, end=5.0),
                     preflight.Policy())
    assert check.status is Status.PASS


def test_a_still_s_eyes_are_scored_and_a_video_s_are_not(fixture_path):
    # the fixture's face looks into the lens: its eyes score open; a video's frames are not scored
    import numpy as np

    from preflight.features.faces import face_track
    from preflight.media.decode import decode
    from preflight.media.probe import probe

    policy = preflight.Policy()
    still = face_track(decode(probe(fixture_path("face.png")), sample_fps=1.0, with_audio=False), policy.faces.min_confidence)
    assert still.eyes_closed is not None and 0.0 <= still.eyes_closed[0] < policy.frontal.image_eyes_closed_above
    video = decode(probe(fixture_path("lowres.mp4")), sample_fps=1.0, with_audio=False)
    track = face_track(video, policy.faces.min_confidence)
    assert track.eyes_closed is None and np.isfinite(track.yaw).any()
