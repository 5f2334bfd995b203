"""Roles and streams from ffprobe; unreadable files become InputError."""

import pytest

from preflight.errors import InputError
from preflight.media import Role, probe


@pytest.mark.parametrize(
    ("name", "role", "has_audio"),
    [
        ("talking_head.mp4", Role.VIDEO, True),
        ("no_audio.mp4", Role.VIDEO, False),
        ("face.png", Role.IMAGE, False),
        ("speech.wav", Role.AUDIO, True),
    ],
)
def test_role_is_inferred_from_streams(fixture_path, name, role, has_audio):
    p = probe(fixture_path(name))
    assert p.role is role
    assert (p.audio is not None) is has_audio


def test_video_facts(fixture_path):
    p = probe(fixture_path("talking_head.mp4"))
    assert (p.video.width, p.video.height) == (1280, 720)
    assert p.video.fps == pytest.approx(25.0)
    assert p.media_duration == pytest.approx(9.0, abs=0.1)


@pytest.mark.parametrize("name", ["empty.mp4", "text.mp4", "truncated_header.mp4", "huge.png"])
def test_unreadable(fixture_path, name):
    with pytest.raises(InputError):
        probe(fixture_path(name))
