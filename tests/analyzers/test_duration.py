"""duration: the longest of the container and the streams the avatar uses is held to the maximum,
the shortest to the minimum, and the message names which one was judged."""

import pytest
from synthetic import media

from preflight.analyzers import duration
from preflight.media import Role
from preflight.policy import Policy
from preflight.report import Status


def judge(**kw):
    [check] = duration.ANALYZER.run(media(**kw), Policy())
    return check


def test_a_container_longer_than_its_video_fails():
    # the case seen on real uploads: 15.0 s of picture in a 15.1 s container
    check = judge(role=Role.VIDEO, container=15.1, video_s=15.0, audio_s=15.1)
    assert check.status is Status.FAIL and check.value == pytest.approx(15.1)
    assert "container" in check.message and "under 15 s" in check.fix


def test_a_longer_audio_stream_fails_a_video():
    check = judge(role=Role.VIDEO, container=14.9, video_s=14.9, audio_s=15.2)
    assert check.status is Status.FAIL and "audio stream" in check.message


def test_the_shortest_stream_is_held_to_the_minimum():
    check = judge(role=Role.VIDEO, container=4.1, video_s=4.1, audio_s=3.9)
    assert check.status is Status.FAIL and check.value == pytest.approx(3.9)


def test_a_separate_voice_leaves_the_videos_own_sound_out():
    check = judge(role=Role.VIDEO, container=14.95, video_s=14.9, audio_s=16.0, separate_audio=True)
    # the container still counts (Mosaic may read it); the unused sound does not
    assert check.status is Status.PASS


def test_enough_digits_to_see_why():
    check = judge(role=Role.AUDIO, container=15.04, audio_s=15.04)
    assert check.status is Status.FAIL and "15.04" in check.message


def test_inside_the_limits_passes_and_no_length_fails():
    assert judge(role=Role.AUDIO, container=8.0, audio_s=8.0).status is Status.PASS
    assert judge(role=Role.AUDIO, container=None, audio_s=None).status is Status.FAIL


def test_images_have_no_duration():
    assert not duration.ANALYZER.applies(media(role=Role.IMAGE))
    assert duration.ANALYZER.applies(media(role=Role.VIDEO)) and duration.ANALYZER.applies(media(role=Role.AUDIO))


def test_too_long_is_decided_from_the_header_before_any_decode():
    long = media(role=Role.VIDEO, container=60.0, video_s=60.0, audio_s=60.0).probe
    check = duration.too_long(long, Policy(), separate_audio=False)
    assert check is not None and check.status is Status.FAIL and check.value == pytest.approx(60.0)
    assert "nothing else was checked" in check.message
    assert "`preflight fix FILE -o OUT`" in check.fix  # the command that cuts it
    fits = media(role=Role.VIDEO, container=14.9, video_s=14.9, audio_s=14.9).probe
    short = media(role=Role.VIDEO, container=3.0, video_s=3.0, audio_s=3.0).probe
    # too short still needs the full analysis: only a clip over the maximum is cut short
    assert duration.too_long(fits, Policy(), separate_audio=False) is None
    assert duration.too_long(short, Policy(), separate_audio=False) is None


def test_a_window_is_held_to_the_limits_by_its_own_length():
    from preflight.report import Span

    lengths = duration.measure(media(role=Role.VIDEO, container=60.0, video_s=60.0, audio_s=60.0), Policy())
    [whole] = duration.judge(lengths, Span(start=0, end=60.0), Policy())
    [window] = duration.judge(lengths, Span(start=10, end=22.5), Policy())
    [short] = duration.judge(lengths, Span(start=10, end=13), Policy())
    assert whole.status is Status.FAIL and whole.reason == "duration.too_long"
    assert window.status is Status.PASS and window.value == 12.5 and "the window" in window.message
    assert short.status is Status.FAIL and short.reason == "duration.too_short"
