"""music: speech alone passes; a music bed under speech, or music with no voice, fails with where."""

import pytest

from conftest import check_of

from preflight.report import Status


def test_speech_alone_passes(report_of):
    music = check_of(report_of("speech.wav"), "music")
    assert music.status is Status.PASS and music.value <= 1.0


def test_the_sound_of_a_video_is_judged(report_of):
    assert check_of(report_of("talking_head.mp4"), "music").status is Status.PASS


def test_music_bed_under_speech_fails_where_it_plays(report_of):
    music = check_of(report_of("speech_music.wav"), "music")
    assert music.status is Status.FAIL and music.value > 5
    assert music.spans and music.spans[0].start < 1.0 and music.spans[-1].end > 7.0
    assert music.fix


def test_music_without_a_voice_fails(report_of):
    report = report_of("music.wav")
    assert check_of(report, "music").status is Status.FAIL
    assert report.verdict == "no-go"


def test_silence_has_no_music(report_of):
    assert check_of(report_of("silence.wav"), "music").status is Status.PASS


def test_image_has_no_music_check(report_of):
    report = report_of(image="face.png", audio="speech_music.wav")
    assert [c.source for c in report.checks if c.id == "music"] == [str(report.sources[1].path)]


def test_music_after_the_speech_fails_as_music_between_the_words(report_of):
    music = check_of(report_of("speech_then_music.wav"), "music")
    assert music.status is Status.FAIL and "between the words" in music.message
    assert music.spans[-1].end > 9.5


def test_trailing_digital_silence_is_not_singing(report_of):
    assert check_of(report_of("speech_padded.wav"), "music").status is Status.PASS


@pytest.mark.slow
def test_a_real_voice_padded_with_silence_is_not_singing(tmp_path):
    # audio_good_radio31.wav + 0.5 s of digital silence: the silence's edge is no "singing"
    import subprocess

    import pytest
    from conftest import SHARED_MEDIA

    import preflight

    source = SHARED_MEDIA / "audio_good_radio31.wav"
    if not source.exists():
        pytest.skip(f"no {source}")
    padded = tmp_path / "padded.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(source), "-af", "apad=pad_dur=0.5", str(padded)], check=True)
    assert check_of(preflight.check(padded), "music").status is Status.PASS


def test_limits_keep_their_order():
    import pytest
    from pydantic import ValidationError

    import preflight

    with pytest.raises(ValidationError, match="warn_s"):
        preflight.Policy.model_validate({"music": {"warn_s": 4.0, "fail_s": 3.0}})


def test_music_is_judged_over_the_window_it_is_given():
    import numpy as np

    from preflight.analyzers import music
    from preflight.features.sound_events import SoundEvents
    from preflight.policy import Policy
    from preflight.report import Span

    played = np.zeros(1000)  # 10 s, a row per 10 ms
    played[600:] = 0.9  # music from 6 s on, under the voice
    heard = music.Heard("rec.wav", SoundEvents(np.full(1000, 0.9), np.zeros(1000), played), [(0.0, 10.0)])
    [whole] = music.judge(heard, Span(start=0, end=10), Policy())
    [before] = music.judge(heard, Span(start=0, end=5.5), Policy())
    [after] = music.judge(heard, Span(start=5, end=10), Policy())
    assert whole.status is Status.FAIL and whole.value == 4.0
    assert before.status is Status.PASS and before.value == 0.0
    assert after.status is Status.FAIL and after.spans[0].start == 6.0  # in the recording's time


def _bed(music_probability: float):
    """10 s of speech the detector hears no music in, and a tagger giving the clip ``music_probability``."""
    import numpy as np

    from preflight.analyzers import music
    from preflight.features.sound_events import SoundEvents
    from preflight.features.tags import Tags, labels

    scores = np.zeros(len(labels()))
    scores[labels().index("Music")] = music_probability
    asked = []
    heard = music.Heard("rec.wav", SoundEvents(np.full(1000, 0.9), np.zeros(1000), np.full(1000, 0.1)), [(0.0, 10.0)],
                        10.0, lambda: asked.append(1) or Tags(scores))
    return music, heard, asked


def test_a_bed_the_detector_misses_fails_on_the_clips_music_probability():
    # drums and bass 20 dB under a voice that hardly pauses: the detector hears them for 2.9 s of 12
    from preflight.policy import Policy
    from preflight.report import Span

    music, heard, _ = _bed(0.7)
    [check] = music.judge(heard, Span(start=0, end=10), Policy())
    assert check.status is Status.FAIL and check.reason == "music.bed"
    assert [(s.start, s.end) for s in check.spans] == [(0.0, 10.0)]  # it runs under the whole clip
    music, heard, _ = _bed(0.3)
    [check] = music.judge(heard, Span(start=0, end=10), Policy())
    assert check.status is Status.WARN and check.reason == "music.some"
    music, heard, _ = _bed(0.05)
    assert music.judge(heard, Span(start=0, end=10), Policy())[0].status is Status.PASS


def test_the_clips_music_probability_is_asked_of_the_whole_audio_only():
    from preflight.policy import Policy
    from preflight.report import Span

    music, heard, asked = _bed(0.9)
    [part] = music.judge(heard, Span(start=2, end=8), Policy())
    assert part.status is Status.PASS and not asked  # the clip's score says nothing of a window
    [whole] = music.judge(heard, Span(start=0, end=10), Policy())
    assert whole.status is Status.FAIL and asked == [1]


def test_the_tagger_hears_the_music_fixture_as_music_and_speech_as_not(report_of):
    import numpy as np

    from preflight.features.tags import tag
    from preflight.media import Audio
    from conftest import FIXTURES
    import subprocess

    def sound(name):
        raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(FIXTURES / name), "-f", "f32le", "-ac", "1",
                              "-ar", "16000", "-"], capture_output=True, check=True).stdout
        return Audio(np.frombuffer(raw, np.float32).copy())

    assert tag(sound("music.wav")).of("Music") > 0.5
    assert tag(sound("speech.wav")).of("Music") < 0.25
