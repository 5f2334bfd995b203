"""faces and face_size on generated video and images (a real face photo)."""

import pytest

from conftest import check_of

from preflight.report import Status


def test_one_face_passes(report_of):
    for name in ("talking_head.mp4", "face.png"):
        report = report_of(name)
        assert check_of(report, "faces").status is Status.PASS
        assert check_of(report, "face_size").status is Status.PASS


@pytest.mark.slow
def test_two_faces_fail_with_spans(report_of):
    video = check_of(report_of("two_faces.mp4"), "faces")
    assert video.status is Status.FAIL
    assert video.spans and video.spans[0].end - video.spans[0].start > 5
    image = check_of(report_of("two_faces.png"), "faces")
    assert image.status is Status.FAIL and image.value == 0.0 and image.details["most_faces"] == 2


def test_no_face_fails(report_of):
    image = check_of(report_of("no_face.png"), "faces")
    assert image.status is Status.FAIL and image.value == 0.0 and image.details["most_faces"] == 0


def test_a_face_filling_the_frame_is_found(report_of):
    # a close-up cut at the brow and the chin, which the full-range detector does not find
    report = report_of("face_closeup.png")
    assert check_of(report, "faces").status is Status.PASS and check_of(report, "faces").value == 1.0
    assert check_of(report, "face_size").value > 0.8


def test_face_leaving_frame_fails(report_of):
    # cut.mp4 shows the face for 4.5 s, then a photo without one for 4.5 s
    faces = check_of(report_of("cut.mp4"), "faces")
    assert faces.status is Status.FAIL
    assert any(s.start >= 4.0 for s in faces.spans)


def test_small_face_warns(report_of):
    import preflight

    policy = preflight.Policy.model_validate({"faces": {"size_warn_below": 0.9}})
    from conftest import FIXTURES

    report = preflight.check(FIXTURES / "face.png", policy=policy)
    assert check_of(report, "face_size").status is Status.WARN


def test_an_animal_face_is_not_a_person(fixture_path):
    # a proboscis monkey's face, which BlazeFace scores 0.73: a face, but not a person's
    import pytest

    from conftest import FIXTURES

    import preflight

    if not (FIXTURES / "monkey.png").exists():
        pytest.skip("monkey.png could not be made here (it needs apt-get download gcompris-qt-data)")
    report = preflight.check(FIXTURES / "monkey.png")
    faces = check_of(report, "faces")
    assert faces.status is Status.FAIL and "person" in faces.message
    assert report.verdict == "no-go"


def test_a_face_the_landmarker_finds_nothing_on_is_not_a_person(fixture_path):
    # a palace's carvings, where BlazeFace finds one small "face" the landmarker cannot place
    import pytest

    from conftest import FIXTURES

    import preflight

    if not (FIXTURES / "palace.png").exists():
        pytest.skip("palace.png could not be made here (it needs apt-get download gcompris-qt-data)")
    report = preflight.check(image=FIXTURES / "palace.png", audio=FIXTURES / "speech.wav")
    faces = check_of(report, "faces")
    assert faces.status is Status.FAIL and faces.reason == "faces.not_human", faces.message
    assert report.verdict == "no-go"


def test_a_picture_without_a_face_is_not_called_turned(fixture_path):
    # a bee: BlazeFace finds a "face" in it turned on its side; turning the photo would not help
    import pytest

    from conftest import FIXTURES

    import preflight

    if not (FIXTURES / "bee.png").exists():
        pytest.skip("bee.png could not be made here (it needs apt-get download gcompris-qt-data)")
    faces = check_of(preflight.check(FIXTURES / "bee.png"), "faces")
    assert faces.status is Status.FAIL and faces.reason == "faces.none", faces.message


@pytest.mark.slow
def test_a_picture_turned_over_or_on_its_side_says_how_to_turn_it(tmp_path):
    """A phone clip whose rotation flag was lost shows the face sideways or upside down: the
    detector finds none as is, and the message says which turn makes it upright."""
    import subprocess

    import cv2

    from conftest import FIXTURES

    import preflight

    face = cv2.imread(str(FIXTURES / "face.png"))
    # turned 90 degrees clockwise, it needs 270 more (a quarter turn back) to stand upright
    for code, needed in ((cv2.ROTATE_180, 180), (cv2.ROTATE_90_CLOCKWISE, 270)):
        path = tmp_path / f"turned_{needed}.png"
        cv2.imwrite(str(path), cv2.rotate(face, code))
        faces = check_of(preflight.check(path), "faces")
        assert faces.status is Status.FAIL and faces.reason == "faces.turned", faces.message
        assert f"turned {needed} degrees clockwise" in faces.message and "transpose" in faces.fix
    video = tmp_path / "upside_down.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(FIXTURES / "talking_head.mp4"), "-vf", "hflip,vflip",
                    "-c:a", "copy", str(video)], check=True)
    faces = check_of(preflight.check(video), "faces")
    assert faces.reason == "faces.turned" and "upside down" in faces.message


def test_no_face_at_all_is_not_read_as_turned(report_of):
    assert check_of(report_of("no_face.png"), "faces").reason == "faces.none"


def test_a_second_face_outside_the_window_does_not_count():
    import numpy as np

    from preflight.analyzers import faces
    from preflight.features.faces import Box, FaceTrack, Humanness
    from preflight.media import Role
    from preflight.policy import Policy
    from preflight.report import Span

    times = np.arange(50) / 5.0  # 10 s at 5 frames a second
    one, two = [Box(200, 80, 120, 150, 0.9)], [Box(200, 80, 120, 150, 0.9), Box(480, 90, 100, 130, 0.8)]
    found = [two if 6.0 <= t < 8.0 else one for t in times]
    level = np.zeros(50)
    track = FaceTrack(times, found, 640, 360, np.full(50, 0.03), level, level, level)
    person = Humanness(times=times[[0, 25, 49]], passes=np.array([7, 7, 7]))
    seen = faces.Faces("rec.mp4", Role.VIDEO, track, 5.0, human=lambda: person, upright=lambda: None)
    whole, size = faces.judge(seen, Span(start=0, end=10), Policy())
    before, _ = faces.judge(seen, Span(start=0, end=5.5), Policy())
    assert whole.status is Status.FAIL and whole.reason == "faces.several" and whole.spans[0].start == 6.0
    assert before.status is Status.PASS and before.value == 1.0 and size.status is Status.PASS


def test_two_upright_faces_side_by_side_are_two_faces_not_a_picture_on_its_side():
    # a side-by-side photo: the landmarker measures an upright face, so no turn is tried (a turned
    # copy can find one of the faces a little more surely by chance)
    import numpy as np

    from preflight.analyzers import faces
    from preflight.features.faces import Box, FaceTrack
    from preflight.media import Role
    from preflight.policy import Policy
    from preflight.report import Span

    def unasked():
        raise AssertionError("no turn is tried for upright faces")

    two = [Box(40, 80, 200, 240, 0.9), Box(380, 90, 200, 240, 0.9)]
    track = FaceTrack(np.zeros(1), [two], 640, 480, np.array([0.03]), np.array([2.0]), np.array([4.0]), np.array([1.0]))
    still = faces.Faces("pair.jpg", Role.IMAGE, track, 1.0, human=unasked, upright=unasked)
    count, _ = faces.judge(still, Span(start=0, end=0), Policy())
    assert count.status is Status.FAIL and count.reason == "faces.several"


def test_a_window_avoids_what_fails_any_window_and_its_judgment_weighs_the_rest():
    import numpy as np

    from preflight.analyzers import faces
    from preflight.features.faces import Box, FaceTrack
    from preflight.media import Role
    from preflight.policy import Policy
    from preflight.report import Span

    times = np.arange(300) / 5.0  # 60 s at 5 frames a second
    one, two = [Box(200, 80, 120, 150, 0.9)], [Box(200, 80, 120, 150, 0.9), Box(480, 90, 100, 130, 0.8)]
    found = [one] * 300
    for i in (20, 21):  # 2+ faces for 0.4 s: under the run limit
        found[i] = two
    for i in (100, 101, 102):  # for 0.6 s: fails wherever it is
        found[i] = two
    for i in range(150, 160):  # no face for 2 s: a share of a window
        found[i] = []
    for i in range(200, 217):  # for 3.4 s: more than a fifth of any window
        found[i] = []
    nan = np.full(300, np.nan)
    track = FaceTrack(times, found, 640, 360, nan, nan, nan, nan)  # boxes only, as a streamed decode gives

    def unasked():
        raise AssertionError("a box-only judgment asks for no landmarks")

    boxes = faces.Faces("rec.mp4", Role.VIDEO, track, 5.0, human=unasked, upright=unasked, landmarks=False)
    stretches = faces.avoid(boxes, Policy())
    assert [(s.what, s.start, s.end) for s in stretches] == [("2+ faces in the frame", 19.9, 20.5),
                                                             ("no face in the frame", 39.9, 43.3)]
    # the 2 s without a face: under a fifth of a 10 s window or a 15 s one passes; half of a 4 s one fails
    short, _ = faces.judge(boxes, Span(start=25.0, end=35.0), Policy())
    long, size = faces.judge(boxes, Span(start=24.0, end=38.9), Policy())
    assert short.status is Status.PASS and long.status is Status.PASS
    tight, _ = faces.judge(boxes, Span(start=29.0, end=33.0), Policy())
    assert tight.status is Status.FAIL and tight.reason == "faces.none"
    assert size.status is Status.PASS and faces.guide(boxes).face(0.0, 10.0) == round(150 / 360, 3)
