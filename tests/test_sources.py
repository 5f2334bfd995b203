"""Source sets: roles named or inferred, one of each."""

import pytest

from preflight.errors import UsageError
from preflight.media import Role
from preflight.sources import source_set


def test_inferred_roles(fixture_path):
    probes = source_set([fixture_path("face.png"), fixture_path("speech.wav")])
    assert [p.role for p in probes] == [Role.IMAGE, Role.AUDIO]


def test_a_video_can_be_the_voice(fixture_path):
    (voice,) = source_set(audio=fixture_path("talking_head.mp4"))
    assert voice.role is Role.AUDIO


def test_role_must_fit(fixture_path):
    with pytest.raises(UsageError, match="given as the video"):
        source_set(video=fixture_path("face.png"))


def test_one_of_each_role(fixture_path):
    with pytest.raises(UsageError, match="one of each role"):
        source_set([fixture_path("speech.wav")], audio=fixture_path("silence.wav"))


def test_nothing_given():
    with pytest.raises(UsageError):
        source_set()


def test_urls_are_refused_clearly():
    with pytest.raises(UsageError, match="URL"):
        source_set(["https://example.com/clip.mp4"])
