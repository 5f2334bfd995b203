"""speech, loudness and clipping on espeak-ng speech, silence, and gain-changed copies."""

from conftest import check_of

from preflight.report import Status


def test_speech_passes_on_speech(report_of):
    speech = check_of(report_of("speech.wav"), "speech")
    assert speech.status is Status.PASS and speech.value > 0.6
    assert check_of(report_of("talking_head.mp4"), "speech").status is Status.PASS


def test_silence_fails_speech(report_of):
    for name in ("silence.wav", "silent.mp4"):
        speech = check_of(report_of(name), "speech")
        assert speech.status is Status.FAIL and speech.value == 0.0, name
        assert speech.spans and speech.spans[0].end - speech.spans[0].start > 7


def test_speech_fails_without_audio(report_of):
    assert check_of(report_of("no_audio.mp4"), "speech").status is Status.FAIL


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
