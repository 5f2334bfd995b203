"""speech, loudness and clipping on espeak-ng speech, silence, and gain-changed copies."""

import pytest

from conftest import check_of

from preflight.report import Status


def test_speech_passes_on_speech(report_of):
    speech = check_of(report_of("speech.wav"), "speech")
    assert speech.status is Status.PASS and speech.value > 0.6
    assert check_of(report_of("talking_head.mp4"), "speech").status is Status.PASS


@pytest.mark.slow
def test_silence_fails_speech(report_of):
    for name in ("silence.wav", "silent.mp4"):
        speech = check_of(report_of(name), "speech")
        assert speech.status is Status.FAIL and speech.value == 0.0, name
        assert speech.spans and speech.spans[0].end - speech.spans[0].start > 7


@pytest.mark.slow
def test_speech_fails_without_audio(report_of):
    assert check_of(report_of("no_audio.mp4"), "speech").status is Status.FAIL


@pytest.mark.slow
def test_separate_voice_is_judged_not_the_video_track(report_of):
    report = report_of(video="silent.mp4", audio="speech.wav")
    speech = [c for c in report.checks if c.id == "speech"]
    assert len(speech) == 1 and speech[0].source.endswith("speech.wav")
    assert speech[0].status is Status.PASS


def test_loudness(report_of):
    assert check_of(report_of("speech.wav"), "loudness").status is Status.PASS
    quiet = check_of(report_of("speech_quiet.wav"), "loudness")
    assert quiet.status is Status.WARN and quiet.value < -35


def test_clipping(report_of):
    assert check_of(report_of("speech.wav"), "clipping").status is Status.PASS
    clipped = check_of(report_of("speech_clipped.wav"), "clipping")
    assert clipped.status is Status.WARN and clipped.value > 0.001
    assert report_of("speech_clipped.wav").verdict == "go"  # warnings do not block


# A window of the timelines, judged in microseconds: what `preflight fix` asks of every candidate.
import numpy as np
import pytest

from preflight.analyzers import speech
from preflight.features.vad import SpeechActivity
from preflight.policy import Policy
from preflight.report import Span


def test_speech_is_judged_over_the_window_it_is_given():
    spoken = speech.Speech("rec.wav", SpeechActivity(np.zeros(312), [(0.5, 4.0), (9.0, 9.5)], 10.0), False)
    [whole] = speech.judge(spoken, Span(start=0, end=10), Policy())
    [first] = speech.judge(spoken, Span(start=0, end=5), Policy())
    [second] = speech.judge(spoken, Span(start=5, end=10), Policy())
    assert whole.status is Status.FAIL and whole.value == 0.4
    assert first.status is Status.PASS and first.value == 0.7
    assert second.status is Status.FAIL and second.value == 0.1
    assert second.spans[0] == Span(start=5.0, end=9.0)  # the silence, in the recording's time


def test_loudness_is_the_windows_integrated_lufs_with_the_short_term_max_and_the_old_figure():
    # the field's measure is BS.1770 integrated loudness, not speech RMS in dBFS
    from preflight.analyzers import loudness
    from preflight.features.loudness import loudness as measure
    from preflight.media.stream import Audio

    rate, t = 16_000, np.arange(10 * 16_000) / 16_000
    samples = (np.sin(2 * np.pi * 997 * t) * np.where(t < 5, 10 ** (-20 / 20), 10 ** (-45 / 20))).astype(np.float32)
    timelines = loudness.Level("rec.wav", Audio(samples, rate), SpeechActivity(np.zeros(312), [(0.0, 10.0)], 10.0),
                               measure(Audio(samples, rate)))
    [whole, _] = loudness.judge(timelines, Span(start=0, end=10), Policy())
    [late, _] = loudness.judge(timelines, Span(start=5, end=10), Policy())
    assert whole.status is Status.PASS and whole.unit == "LUFS" and whole.value == pytest.approx(-23.0, abs=0.2)
    assert late.status is Status.WARN and late.reason == "loudness.quiet" and late.value == pytest.approx(-48.0, abs=0.2)
    assert late.details["short_term_max_lufs"] == pytest.approx(-48.0, abs=0.2)
    assert late.details["speech_rms_dbfs"] == pytest.approx(-48.0, abs=0.2)  # the old figure, for continuity
