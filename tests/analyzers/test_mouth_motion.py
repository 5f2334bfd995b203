"""mouth_motion: lips that move with the voice pass; a still photo under speech fails."""

import pytest

from conftest import check_of

from preflight.report import Status


def test_speaking_face_passes(report_of):
    check = check_of(report_of("talking_head.mp4"), "mouth_motion")
    assert check.status is Status.PASS and check.value >= 0.02


@pytest.mark.slow
def test_still_photo_with_speech_fails_over_the_speech(report_of):
    report = report_of("still_photo.mp4")
    check = check_of(report, "mouth_motion")
    assert check.status is Status.FAIL and check.value < 0.02
    assert check.spans and check.fix
    assert report.verdict == "no-go"


@pytest.mark.slow
def test_a_separate_voice_is_judged_on_all_frames(report_of):
    report = report_of(video="no_audio.mp4", audio="speech.wav")
    assert check_of(report, "mouth_motion").status is Status.PASS


@pytest.mark.slow
def test_no_speech_means_nothing_to_judge(report_of):
    assert check_of(report_of("silent.mp4"), "mouth_motion").status is Status.SKIPPED


def test_images_and_audio_have_no_mouth_motion(report_of):
    report = report_of(image="face.png", audio="speech.wav")
    assert not [c for c in report.checks if c.id == "mouth_motion"]
