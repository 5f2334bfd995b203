"""noise: clean speech passes; pink noise under it warns, then fails as it grows."""

from conftest import check_of

from preflight.report import Status


def test_clean_speech_passes(report_of):
    noise = check_of(report_of("speech.wav"), "noise")
    assert noise.status is Status.PASS and noise.value > 30


def test_noise_under_speech_warns_then_fails(report_of):
    noisy = check_of(report_of("speech_noisy.wav"), "noise")
    assert noisy.status is Status.WARN and 20 <= noisy.value < 25
    drowned = check_of(report_of("speech_in_noise.wav"), "noise")
    assert drowned.status is Status.FAIL and drowned.value < 20
    assert report_of("speech_in_noise.wav").verdict == "no-go"


def test_digital_silence_is_not_noise(report_of):
    assert check_of(report_of("silence.wav"), "noise").status is Status.SKIPPED
