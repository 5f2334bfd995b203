"""duration, streams, decodable, resolution: both sides of each."""

import pytest
from conftest import check_of

from preflight.report import Status


def test_duration(report_of):
    assert check_of(report_of("talking_head.mp4"), "duration").status is Status.PASS
    short = check_of(report_of("short.mp4"), "duration")
    assert short.status is Status.FAIL and short.value < 4.0
    assert check_of(report_of("long.mp4"), "duration").status is Status.FAIL
    assert check_of(report_of("speech_short.wav"), "duration").status is Status.FAIL
    assert check_of(report_of("speech.wav"), "duration").status is Status.PASS
    assert not [c for c in report_of("face.png").checks if c.id == "duration"]


def test_streams(report_of):
    assert check_of(report_of("talking_head.mp4"), "streams").status is Status.PASS
    assert check_of(report_of("no_audio.mp4"), "streams").status is Status.FAIL
    with_voice = report_of(video="no_audio.mp4", audio="speech.wav")
    assert check_of(with_voice, "streams").status is Status.PASS
    assert with_voice.verdict == "go"
    short_sound = check_of(report_of("short_sound.mp4"), "streams")
    assert short_sound.status is Status.WARN
    assert short_sound.spans[0].start == pytest.approx(6.0, abs=0.1)
    assert check_of(report_of("short_sound.mp4"), "decodable").status is Status.PASS


def test_decodable(report_of):
    assert check_of(report_of("talking_head.mp4"), "decodable").status is Status.PASS
    truncated = check_of(report_of("truncated.mp4"), "decodable")
    assert truncated.status is Status.FAIL
    assert truncated.spans and truncated.spans[0].start < 7.0
    assert report_of("truncated.mp4").verdict == "no-go"


def test_resolution(report_of):
    assert check_of(report_of("talking_head.mp4"), "resolution").status is Status.PASS
    assert check_of(report_of("lowres.mp4"), "resolution").status is Status.WARN
    tiny = check_of(report_of("tiny.mp4"), "resolution")
    assert tiny.status is Status.FAIL and tiny.value == 180
