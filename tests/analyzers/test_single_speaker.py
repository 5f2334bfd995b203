"""single_speaker: one voice passes; two voices taking turns fail, with the second voice's spans."""

import numpy as np
from conftest import check_of

import preflight
from preflight.features import voices
from preflight.media import Audio
from preflight.features.vad import SpeechActivity
from preflight.report import Status


def test_one_voice_passes(report_of):
    check = check_of(report_of("speech.wav"), "single_speaker")
    assert check.status is Status.PASS and check.value >= 0.67


def test_two_voices_fail_where_the_second_speaks(report_of):
    check = check_of(report_of("two_voices.wav"), "single_speaker")
    assert check.status is Status.FAIL and check.value < 0.67
    # The man speaks first (about 5.2 s), the woman after: the minority voice is hers.
    assert check.spans and 4.5 < check.spans[0].start < 6.0 and check.spans[-1].end > 10.0
    assert sum(s.end - s.start for s in check.spans) > 1.0


def test_second_voice_with_an_image_fails_the_set(report_of):
    report = report_of(image="face.png", audio="two_voices.wav")
    assert check_of(report, "single_speaker").status is Status.FAIL
    assert report.verdict == "no-go"


def test_too_little_speech_is_skipped_not_passed(report_of):
    check = check_of(report_of("silence.wav"), "single_speaker")
    assert check.status is Status.SKIPPED and "too little" in check.message


def test_a_looser_limit_hears_one_voice(fixture_path):
    policy = preflight.Policy.model_validate({"single_speaker": {"same_voice": 0.3}})
    report = preflight.check(str(fixture_path("two_voices.wav")), policy=policy)
    assert check_of(report, "single_speaker").status is Status.PASS


def test_voices_are_ranked_by_speaking_time():
    # Pure tones are not voices, but the grouping must still give voice 0 the most frames.
    rate = 16_000
    t = np.arange(rate * 6) / rate
    low = 0.3 * np.sin(2 * np.pi * 150 * t[: rate * 4])
    high = 0.3 * np.sign(np.sin(2 * np.pi * 1900 * t[: rate * 2]))
    audio = Audio(np.concatenate([low, high]).astype(np.float32), rate)
    found = voices.group([(audio, SpeechActivity(np.ones(0), [(0.0, 6.0)], 6.0))], same_voice=0.99)
    assert found.count >= 2
    assert found.seconds(0) == max(found.seconds(v) for v in range(found.count))


# -- turns and channels, on the fixture voices mixed in numpy ----------------------------------

import subprocess

from conftest import FIXTURES
from synthetic import media

from preflight.analyzers import single_speaker
from preflight.media import Role
from preflight.policy import Policy


def _load(name: str) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(FIXTURES / name), "-f", "f32le", "-ac", "1", "-ar",
                          "16000", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32).copy()


def _judge(samples=None, channels=None):
    if samples is None:
        samples = channels.mean(axis=0)
    [check] = single_speaker.ANALYZER.run(media(Role.AUDIO, samples=samples, channels=channels), Policy())
    return check


def _turns(a: np.ndarray, b: np.ndarray, turn_s: float) -> tuple[np.ndarray, np.ndarray]:
    """A's and B's tracks taking turns of ``turn_s``: each silent while the other speaks."""
    step = int(turn_s * 16000)
    n = 2 * min(len(a), len(b))
    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    for i, start in enumerate(range(0, n - step + 1, step)):
        source, track = (a, left) if i % 2 == 0 else (b, right)
        offset = (i // 2) * step
        track[start : start + step] = source[offset : offset + step]
    return left, right


def test_turns_of_a_second_are_two_voices():
    # on main, 1.6 s windows straddle every turn and the two voices read as one
    left, right = _turns(_load("voice_a.wav"), _load("voice_b.wav"), 1.0)
    check = _judge(left + right)
    assert check.status is Status.FAIL, check.message


def test_one_speaker_per_stereo_channel_is_two_voices():
    a, b = _load("voice_a.wav"), _load("voice_b.wav")
    n = min(len(a), len(b))
    check = _judge(channels=np.stack([a[:n], b[:n]]))
    assert check.status is Status.FAIL and "channels" in check.message, check.message


def test_one_speaker_in_both_channels_or_one_is_one_voice():
    a = _load("voice_a.wav")
    assert _judge(channels=np.stack([a, 0.7 * a])).status is Status.PASS
    assert _judge(channels=np.stack([a, np.zeros_like(a)])).status is Status.PASS


def test_channels_with_different_sounds_warn_even_without_speech_to_compare():
    # Two different sources, one a channel, that the VAD does not hear as speech (on main: skipped).
    rate = 16_000
    t = np.arange(4 * rate) / rate
    left = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
    right = 0.3 * np.sign(np.sin(2 * np.pi * 97 * t)) * (np.sin(2 * np.pi * 0.5 * t + 2.0) > 0)
    check = _judge(channels=np.stack([left, right]).astype(np.float32))
    assert check.status is Status.WARN and check.reason == "single_speaker.channels", check.message
    assert voices.channel_agreement(Audio(left.astype(np.float32), rate, channels=np.stack([left, left]).astype(np.float32))) == 1.0


def test_one_voice_in_both_channels_at_a_delay_agrees():
    a = _load("voice_a.wav")
    delayed = np.concatenate([np.zeros(160, np.float32), a[:-160]])  # 10 ms apart: two microphones
    agreement = voices.channel_agreement(Audio(a, 16_000, channels=np.stack([a, 0.5 * delayed])))
    assert agreement is not None and agreement > 0.9
    assert _judge(channels=np.stack([a, 0.5 * delayed])).status is Status.PASS


def test_the_main_voice_is_the_windows_own():
    from preflight.report import Span

    frames = np.arange(1000)  # 10 s of speech: one voice for 6 s, another for 4
    found = voices.Voices(frames=frames, labels=(frames >= 600).astype(int), windows=20, similarity=0.4)
    heard = single_speaker.Speakers("rec.wav", found, None)
    [whole] = single_speaker.judge(heard, Span(start=0, end=10), Policy())
    [first] = single_speaker.judge(heard, Span(start=0, end=6), Policy())
    [later] = single_speaker.judge(heard, Span(start=3, end=10), Policy())
    assert whole.status is Status.FAIL and whole.spans[0].start == 6.0
    assert first.status is Status.PASS and "one voice" in first.message
    # From 3 s on the second voice speaks the most: the first is now the other voice, at 3-6 s.
    assert later.status is Status.FAIL and later.spans == (Span(start=3.0, end=6.0),)
