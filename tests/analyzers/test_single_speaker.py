"""single_speaker: one voice passes; two voices taking turns fail, with the second voice's spans;
two voices at once fail, with the overlap's spans. Judgments on voices and embeddings made in
numpy; a few end-to-end runs on fixtures and on shared recordings."""

import numpy as np
from conftest import check_of

import pytest
from conftest import SHARED_MEDIA

import preflight
from preflight.features import voices
from preflight.media import Audio
from preflight.features.vad import SpeechActivity
from preflight.report import Status


SAME_VOICE = preflight.Policy().single_speaker.same_voice


def test_one_voice_passes(report_of):
    check = check_of(report_of("speech.wav"), "single_speaker")
    assert check.status is Status.PASS and check.value >= SAME_VOICE


def test_two_voices_are_flagged_where_the_second_speaks(report_of):
    # espeak-ng's man and woman: one synthesizer's two voices, alike, yet under the fail limit
    check = check_of(report_of("two_voices.wav"), "single_speaker")
    assert check.status is Status.FAIL and check.reason == "single_speaker.others", check.message
    assert check.value < SAME_VOICE
    # The man speaks first (about 5.2 s), the woman after: the minority voice is hers.
    assert check.spans and 4.5 < check.spans[0].start < 6.0 and check.spans[-1].end > 10.0
    assert sum(s.end - s.start for s in check.spans) > 1.0


@pytest.mark.slow
def test_second_voice_with_an_image_fails_the_set(fixture_path):
    if not (SHARED_MEDIA / "audio_turns_libri_german.wav").exists():
        pytest.skip(f"no labelled media at {SHARED_MEDIA}")
    report = preflight.check(image=str(fixture_path("face.png")), audio=str(SHARED_MEDIA / "audio_turns_libri_german.wav"))
    assert check_of(report, "single_speaker").status is Status.FAIL
    assert report.verdict == "no-go"


def test_too_little_speech_is_skipped_not_passed(report_of):
    check = check_of(report_of("silence.wav"), "single_speaker")
    assert check.status is Status.SKIPPED and "too little" in check.message


def test_a_looser_limit_hears_one_voice(fixture_path):
    policy = preflight.Policy.model_validate({"single_speaker": {"same_voice": 0.01, "maybe_same_voice": 0.01}})
    report = preflight.check(str(fixture_path("two_voices.wav")), policy=policy)
    assert check_of(report, "single_speaker").status is Status.PASS


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
        piece = source[offset : offset + step]  # a voice that has run out leaves its turn silent
        track[start : start + len(piece)] = piece
    return left, right


def test_turns_of_a_second_and_a_half_fail():
    # espeak-ng's man and woman taking turns: failed, with most of the woman's turns in the spans
    left, right = _turns(_load("voice_a.wav"), _load("voice_b.wav"), 1.5)
    check = _judge(left + right)
    assert check.status is Status.FAIL and check.reason == "single_speaker.others", check.message
    hers = np.flatnonzero(np.abs(right) > 0.01) / 16_000
    inside = sum(any(s.start <= t <= s.end for s in check.spans) for t in hers[::160])
    assert inside > 0.6 * len(hers[::160]), check.spans


def test_one_speaker_per_stereo_channel_is_two_voices():
    a, b = _load("voice_a.wav"), _load("voice_b.wav")
    n = min(len(a), len(b))
    check = _judge(channels=np.stack([a[:n], b[:n]]))
    assert check.status is Status.FAIL and "channels heard apart" in check.message, check.message


def test_one_speaker_in_both_channels_or_one_is_one_voice():
    a = _load("voice_a.wav")
    assert _judge(channels=np.stack([a, 0.7 * a])).status is Status.PASS
    assert _judge(channels=np.stack([a, np.zeros_like(a)])).status is Status.PASS


def test_channels_with_different_sounds_warn_even_without_speech_to_compare():
    # Two different sources, one a channel, that the VAD does not hear as speech: still not one voice.
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
    heard = single_speaker.Speakers("rec.wav", found, found, None)
    [whole] = single_speaker.judge(heard, Span(start=0, end=10), Policy())
    [first] = single_speaker.judge(heard, Span(start=0, end=6), Policy())
    [later] = single_speaker.judge(heard, Span(start=3, end=10), Policy())
    assert whole.status is Status.FAIL and whole.spans[0].start == 6.0
    assert first.status is Status.PASS and "one voice" in first.message
    # From 3 s on the second voice speaks the most: the first is now the other voice, at 3-6 s.
    assert later.status is Status.FAIL and later.spans == (Span(start=3.0, end=6.0),)


# -- the rule, on voices and embeddings made in numpy ---------------------------------------------

from preflight.features.segmentation import Segmentation


def _voices(labels: np.ndarray, overlap: np.ndarray | None = None, start: int = 0) -> voices.Voices:
    frames = np.arange(start, start + len(labels))
    return voices.Voices(frames=frames, labels=labels, windows=10, similarity=0.3,
                         overlap=np.zeros(0, int) if overlap is None else overlap)


def _judge_voices(found: voices.Voices, start: float = 0.0, end: float = 60.0, maybe: voices.Voices | None = None):
    from preflight.report import Span

    heard = single_speaker.Speakers("rec.wav", found, found if maybe is None else maybe, None)
    [check] = single_speaker.judge(heard, Span(start=start, end=end), Policy())
    return check


def test_a_voice_that_may_be_another_warns_with_its_span():
    labels = np.zeros(1000, int)
    maybe = labels.copy()
    maybe[200:400] = 1  # apart only at the looser limit
    check = _judge_voices(_voices(labels), maybe=_voices(maybe))
    assert check.status is Status.WARN and check.reason == "single_speaker.maybe_others"
    assert [(s.start, s.end) for s in check.spans] == [(2.0, 4.0)] and "may speak for 2.0 s" in check.message
    labels[200:400] = 1  # apart at the strict limit too: fails
    assert _judge_voices(_voices(labels), maybe=_voices(maybe)).status is Status.FAIL


def test_another_voice_for_longer_than_the_limit_fails_with_its_span():
    labels = np.zeros(1000, int)
    labels[600:750] = 1  # 1.5 s at 6 s
    check = _judge_voices(_voices(labels))
    assert check.status is Status.FAIL and check.reason == "single_speaker.others"
    assert [(s.start, s.end) for s in check.spans] == [(6.0, 7.5)]
    labels[680:750] = 0  # 0.8 s: under the limit
    assert _judge_voices(_voices(labels)).status is Status.PASS


def test_another_voices_short_pauses_count_as_its_turn():
    # 0.6 s, a 0.2 s pause, 0.6 s: a 1.4 s turn (its speech alone is 1.2 s)
    labels = np.zeros(1000, int)
    labels[500:560] = 1
    labels[580:640] = 1
    frames = np.delete(np.arange(1000), np.arange(560, 580))  # the pause is no one's speech
    found = voices.Voices(frames=frames, labels=np.delete(labels, np.arange(560, 580)), windows=8, similarity=0.3)
    assert single_speaker.others_time(found) == 1.4
    assert _judge_voices(found).status is Status.FAIL


def test_two_at_once_for_longer_than_the_limit_fails_with_its_spans():
    overlap = np.concatenate([np.arange(300, 380), np.arange(390, 450)])  # 0.8 s, a 0.1 s gap, 0.6 s
    check = _judge_voices(_voices(np.zeros(1000, int), overlap))
    assert check.status is Status.FAIL and check.reason == "single_speaker.overlap"
    assert [(s.start, s.end) for s in check.spans] == [(3.0, 4.5)] and "two talk at once for 1.5 s" in check.message
    # a window around it that holds 0.6 s of it passes, and says so
    window = _judge_voices(_voices(np.zeros(1000, int), overlap), start=3.85, end=10.0)
    assert window.status is Status.PASS and "two talk at once for 0.6 s" in window.message


def test_two_at_once_is_judged_even_without_one_persons_speech_to_compare():
    found = voices.Voices(frames=np.zeros(0, int), labels=np.zeros(0, int), windows=0, similarity=1.0,
                          overlap=np.arange(100, 400))
    check = _judge_voices(found)
    assert check.status is Status.FAIL and check.reason == "single_speaker.overlap"


def _heard(active: np.ndarray, chunk: np.ndarray | None = None) -> Segmentation:
    return Segmentation(chunk=np.zeros(len(active), int) if chunk is None else chunk, active=active, chunks=1)


def test_speech_is_cut_where_the_local_speaker_changes_and_every_second():
    active = np.zeros((1000, 3), bool)
    active[:500, 0] = True  # speaker a 0-5 s
    active[500:530, 1] = True  # b 0.3 s: too short to embed, takes b's next piece
    active[530:600, 0] = True
    active[600:700, 1] = True  # b 1 s
    active[700:720, [0, 1]] = True  # both at once
    active[720:, 0] = True
    activity = SpeechActivity(np.ones(0), [(0.0, 10.0)], 10.0)
    cut = voices.pieces(Audio(np.zeros(160_000, np.float32)), activity, _heard(active))
    assert [(int(p[0]), len(p)) for p in cut.pieces] == [(0, 100), (100, 100), (200, 100), (300, 100), (400, 100),
                                                         (530, 70), (600, 100), (720, 100), (820, 100), (920, 80)]
    assert cut.overlap.tolist() == list(range(700, 720))
    follows = dict(zip(cut.frames.tolist(), cut.piece.tolist()))
    assert follows[510] == 6  # the short turn of b takes the voice of b's nearest piece
    assert 710 not in follows  # two at once: nobody's


def test_pieces_of_one_local_speaker_can_be_two_voices_and_voice_0_speaks_most():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=192), rng.normal(size=192)
    frames = np.arange(800)
    cut = voices.Pieces(frames=frames, piece=frames // 200, pieces=[frames[i : i + 200] for i in range(0, 800, 200)],
                        overlap=np.zeros(0, int))
    embeddings = np.stack([b, a, a, a]) + 0.1 * rng.normal(size=(4, 192))
    found = voices.assign([cut], [embeddings], 0.5)
    assert found.count == 2 and found.labels[:200].tolist() == [1] * 200 and (found.labels[200:] == 0).all()
    assert voices.assign([cut], [embeddings], -0.5).count == 1  # a loose enough limit hears one voice


def _apart(cosine: float, dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors whose cosine is ``cosine``."""
    u, w = rng.normal(size=(2, dim))
    u /= np.linalg.norm(u)
    w -= (w @ u) * u
    w /= np.linalg.norm(w)
    return u, cosine * u + np.sqrt(1 - cosine**2) * w


def test_the_fused_similarity_is_the_mean_of_the_encoders_cosines():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 5, voices.CAMPPLUS_DIM)), rng.normal(size=(2, 5, voices.GE2E_DIM))
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    fused = voices.fuse(np.concatenate(a), np.concatenate(b))
    assert fused.shape == (10, voices.DIM)
    expected = (unit(np.concatenate(a)) @ unit(np.concatenate(a)).T + unit(np.concatenate(b)) @ unit(np.concatenate(b)).T) / 2
    assert np.allclose(fused @ fused.T, expected)


@pytest.mark.parametrize("campplus, ge2e, status", [
    (0.2, 0.3, Status.FAIL),  # both encoders hear two voices
    (0.2, 0.9, Status.WARN),  # one alone (CAM++ drifting with a far microphone): not enough to fail
    (0.9, 0.2, Status.WARN),
    (0.85, 0.9, Status.PASS),  # one voice to both
])
def test_a_second_voice_fails_only_when_the_encoders_together_hear_it(campplus, ge2e, status):
    rng = np.random.default_rng(2)
    frames = np.arange(1000)  # ten 1 s pieces: the main voice 6, another 4
    cut = voices.Pieces(frames=frames, piece=frames // 100, pieces=[frames[i : i + 100] for i in range(0, 1000, 100)],
                        overlap=np.zeros(0, int))
    pair_c, pair_g = _apart(campplus, voices.CAMPPLUS_DIM, rng), _apart(ge2e, voices.GE2E_DIM, rng)
    who = [0] * 6 + [1] * 4
    embeddings = voices.fuse(np.stack([pair_c[k] for k in who]), np.stack([pair_g[k] for k in who]))
    limits = Policy().single_speaker
    heard = single_speaker.Speakers("rec.wav", voices.assign([cut], [embeddings], limits.same_voice),
                                    voices.assign([cut], [embeddings], limits.maybe_same_voice), None)
    from preflight.report import Span

    [check] = single_speaker.judge(heard, Span(start=0, end=10), Policy())
    assert check.status is status, check.message
    assert check.value == pytest.approx((campplus + ge2e) / 2, abs=1e-3)
    if status is not Status.PASS:
        assert [(s.start, s.end) for s in check.spans] == [(6.0, 10.0)]


def test_a_track_without_a_piece_is_taken_for_the_main_voice():
    frames = np.arange(300)
    one = voices.Pieces(frames=frames, piece=frames // 300, pieces=[frames], overlap=np.zeros(0, int))
    none = voices.Pieces(frames=np.arange(40), piece=np.full(40, -1), pieces=[], overlap=np.arange(40, 60))
    found = voices.assign([one, none], [np.ones((1, 192)), np.zeros((0, 192))], 0.5)
    assert found.count == 1 and len(found.frames) == 340 and found.overlap.tolist() == list(range(40, 60))


# -- end to end, on shared recordings of each kind -------------------------------------------------

_skip_without_shared = pytest.mark.skipif(not (SHARED_MEDIA / "labels.csv").exists(),
                                          reason=f"no labelled media at {SHARED_MEDIA}")


def shared(test):
    """A check of a shared recording, end to end: slow."""
    return pytest.mark.slow(_skip_without_shared(test))


@shared
def test_a_shared_recording_of_one_voice_passes():
    check = check_of(preflight.check(str(SHARED_MEDIA / "aud_libri_116-288045-0000.flac")), "single_speaker")
    assert check.status is Status.PASS and check.value >= SAME_VOICE, check.message


@shared
def test_a_shared_recording_of_two_voices_in_turns_fails_where_the_second_speaks():
    # the LibriSpeech reader 0-6 s, then the German speaker 6-13.3 s: the German speaks the most
    check = check_of(preflight.check(str(SHARED_MEDIA / "audio_turns_libri_german.wav")), "single_speaker")
    assert check.status is Status.FAIL and check.reason == "single_speaker.others", check.message
    assert check.spans[0].start < 1.0 and 5.0 < check.spans[-1].end < 7.0


@shared
def test_a_shared_recording_of_two_voices_at_once_fails_for_the_overlap():
    check = check_of(preflight.check(str(SHARED_MEDIA / "audio_overlap_kimk_libri.wav")), "single_speaker")
    assert check.status is Status.FAIL and check.reason == "single_speaker.overlap", check.message
    assert sum(s.end - s.start for s in check.spans) > 4.0
