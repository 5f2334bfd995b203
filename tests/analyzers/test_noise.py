"""noise: the reported dB is close to the true SNR of speech mixed with noise at a known level,
and the check fails where the background competes with the voice."""

import subprocess

import numpy as np
import pytest
from conftest import FIXTURES, check_of
from synthetic import media

from preflight.analyzers import noise
from preflight.features.vad import detect
from preflight.media import Audio, Role
from preflight.policy import Policy
from preflight.report import Status


def _speech() -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(FIXTURES / "speech.wav"), "-f", "f32le", "-ac", "1",
                          "-ar", "16000", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32).copy()


def _mix(speech: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``speech`` with white noise at ``snr_db`` under its active level (power over its VAD spans)."""
    spans = detect(Audio(speech), 0.5).spans
    active = np.concatenate([speech[int(a * 16000):int(b * 16000)] for a, b in spans])
    level = float(np.mean(active.astype(np.float64) ** 2))
    rng = np.random.default_rng(seed)
    return (speech + rng.standard_normal(len(speech)) * np.sqrt(level / 10 ** (snr_db / 10))).astype(np.float32)


@pytest.fixture(scope="module")
def speech():
    return _speech()


@pytest.mark.parametrize("snr", [0, 5, 10, 20])
def test_the_estimate_is_close_to_the_true_snr(speech, snr):
    # within 3 dB of the true SNR (what the separation loses of a voice reads
    # as background, so it errs low at 20 dB)
    [check] = noise.ANALYZER.run(media(Role.AUDIO, samples=_mix(speech, snr)), Policy())
    assert abs(check.value - snr) <= 3.0, check.message


def test_the_background_competing_with_the_voice_fails(speech):
    # speech over real noise at 0 dB SNR: the background as loud as the voice
    [loud] = noise.ANALYZER.run(media(Role.AUDIO, samples=_mix(speech, 0)), Policy())
    assert loud.status is Status.FAIL and loud.fix
    [borderline] = noise.ANALYZER.run(media(Role.AUDIO, samples=_mix(speech, 12)), Policy())
    assert borderline.status is Status.WARN
    # at 25 dB white hiss the SNR passes (the separation keeps espeak's synthetic voice poorly, so
    # it reads some dB low); DNSMOS's listener score may still call it intrusive (a warning)
    [hiss] = noise.ANALYZER.run(media(Role.AUDIO, samples=_mix(speech, 25)), Policy())
    assert hiss.status in (Status.PASS, Status.WARN) and hiss.value >= 15
    [quiet] = noise.ANALYZER.run(media(Role.AUDIO, samples=_mix(speech, 40)), Policy())
    assert quiet.status is Status.PASS


def test_clean_speech_passes(report_of):
    # espeak's synthetic voice: what the separation cannot keep of it reads as background (16 dB)
    check = check_of(report_of("speech.wav"), "noise")
    assert check.status is Status.PASS and check.value > 15


def test_noise_that_comes_and_goes_is_measured_through_its_lulls(speech):
    # a background taken from the lulls alone reads intermittent noise as far quieter than it is. Here
    # bursts of noise, 0.15 s on and 0.35 s off, at 5 dB SNR over the whole clip (mean power)
    rng = np.random.default_rng(3)
    n = len(speech)
    on = ((np.arange(n) / 16_000) % 0.5) < 0.15
    bursts = rng.standard_normal(n).astype(np.float32) * on
    spans = detect(Audio(speech), 0.5).spans
    level = float(np.mean(np.concatenate([speech[int(a * 16000):int(b * 16000)] for a, b in spans]).astype(np.float64) ** 2))
    gain = np.sqrt(level / 10 ** 0.5 / np.mean(bursts.astype(np.float64) ** 2))
    [check] = noise.ANALYZER.run(media(Role.AUDIO, samples=(speech + gain * bursts).astype(np.float32)), Policy())
    assert check.status is Status.FAIL and abs(check.value - 5) <= 3.0, check.message


def test_digital_silence_is_not_measured(report_of):
    assert check_of(report_of("silence.wav"), "noise").status is Status.SKIPPED



def test_silence_put_before_a_late_sound_is_not_its_background(speech):
    # a noisy voice whose track starts 2 s after the picture: the decode pads 2 s of zeros, which
    # would read as a perfect background (72 dB): they are left out
    mixed = _mix(speech, 5)
    lead = 2 * 16_000
    padded = np.concatenate([np.zeros(lead, np.float32), mixed])
    [check] = noise.ANALYZER.run(media(Role.AUDIO, samples=padded, lead=lead), Policy())
    assert check.status is Status.FAIL and abs(check.value - 5) <= 2.0, check.message


def test_the_background_is_measured_in_the_windows_own_pauses():
    from preflight.report import Span

    # 20 s of 16 ms frames: speech at -20 dBFS every other second, pauses between; the first
    # 10 s have a background 6 dB under the voice, the last 10 s one 40 dB under.
    n = 1250
    t = np.arange(n) * 256 / 16_000
    spoken = (t % 2.0) < 1.0
    background = np.where(t < 10.0, 2.5e-3, 1e-6)
    power = np.where(spoken, 1e-2 + background, background)
    heard = noise.Background("rec.wav", power, np.zeros(n, bool), background, spoken, spoken, 0, 20.0, lambda: 4.0)
    [first] = noise.judge(heard, Span(start=0, end=10), Policy())
    [last] = noise.judge(heard, Span(start=10, end=20), Policy())
    assert first.status is Status.FAIL and first.value < 10
    assert last.status is Status.PASS and last.value > 30


def test_the_listeners_score_is_asked_of_the_whole_audio_only():
    from preflight.report import Span

    n = 1250
    t = np.arange(n) * 256 / 16_000
    spoken = (t % 2.0) < 1.0
    asked = []
    heard = noise.Background("rec.wav", np.where(spoken, 1e-2, 1e-6), np.zeros(n, bool), np.full(n, 1e-6), spoken, spoken, 0, 20.0,
                             lambda: asked.append(1) or 2.0)  # a listener who hears crowd bursts
    [part] = noise.judge(heard, Span(start=10, end=20), Policy())
    assert part.status is Status.PASS and not asked  # the score of the middle 9 s is not this window's
    [whole] = noise.judge(heard, Span(start=0, end=20), Policy())
    assert whole.status is Status.WARN and whole.reason == "noise.intrusive" and asked == [1]


def test_clipping_distortion_is_not_background(report_of):
    # the separation leaves clipped speech's distortion as "background" (3.8 dB, a fail); frames at
    # the clipping level are the clipping check's, not the noise check's
    assert check_of(report_of("speech_clipped.wav"), "noise").status is Status.PASS


def test_a_background_as_loud_as_the_speech_reads_no_voice_not_a_number_off_the_scale():
    from preflight.report import Span

    # a song: the "pauses" as loud as the "speech" (the separation leaves it all as background)
    n = 1250
    t = np.arange(n) * 256 / 16_000
    spoken = (t % 2.0) < 1.0
    level = np.full(n, 1e-2)
    heard = noise.Background("song.wav", level, np.zeros(n, bool), level * 1.2, spoken, spoken, 0, 20.0, lambda: 4.0)
    [check] = noise.judge(heard, Span(start=0, end=20), Policy())
    assert check.status is Status.FAIL and check.value == -20.0
    assert check.message.startswith("no voice heard above the background (speech -20 dBFS, background -19 dBFS)")
