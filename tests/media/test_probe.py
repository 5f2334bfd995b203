"""Roles and streams from ffprobe; unreadable files become InputError."""

import os
import shutil
from pathlib import Path

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


# -- inputs that must get one clear line -------------------------------------------------------


def test_a_name_that_looks_like_an_option_is_read_as_a_file(tmp_path, fixture_path, monkeypatch):
    # ffprobe takes a bare "-dash.wav" for an option
    dash = tmp_path / "-dash.wav"
    shutil.copy(fixture_path("speech.wav"), dash)
    monkeypatch.chdir(tmp_path)
    assert probe(Path("-dash.wav")).role is Role.AUDIO


@pytest.mark.parametrize("make", ["fifo", "device"])
def test_a_pipe_or_a_device_is_not_a_regular_file(tmp_path, make):
    if make == "fifo":
        path = tmp_path / "pipe.wav"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    with pytest.raises(InputError, match="not a regular file"):
        probe(path)


def test_a_symlink_loop_is_named(tmp_path):
    (tmp_path / "a.mp4").symlink_to(tmp_path / "b.mp4")
    (tmp_path / "b.mp4").symlink_to(tmp_path / "a.mp4")
    with pytest.raises(InputError, match="loops"):
        probe(tmp_path / "a.mp4")


def test_an_mp4_cut_before_its_index_is_called_incomplete(fixture_path):
    with pytest.raises(InputError, match="incomplete"):
        probe(fixture_path("truncated_header.mp4"))


def _ffmpeg(*args) -> None:
    import subprocess

    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *map(str, args)], check=True)


def test_a_one_frame_photo_in_a_video_container_is_an_image(tmp_path, fixture_path):
    # AVIF (and HEIC) photos are one frame in an MP4-like file: the container alone says "video"
    avif = tmp_path / "face.avif"
    _ffmpeg("-i", fixture_path("face.png"), "-frames:v", "1", "-vf", "scale=128:-2", "-c:v", "libaom-av1",
            "-cpu-used", "8", "-still-picture", "1", avif)
    assert probe(avif).role is Role.IMAGE


def test_a_moving_gif_is_a_video(tmp_path, fixture_path):
    gif = tmp_path / "moving.gif"
    _ffmpeg("-i", fixture_path("talking_head.mp4"), "-t", "1.5", "-vf", "scale=160:-2", gif)
    assert probe(gif).role is Role.VIDEO


def test_the_default_audio_track_is_the_one_judged(tmp_path, fixture_path):
    # a silent first track and the voice as the default second one
    two = tmp_path / "two.mp4"
    _ffmpeg("-i", fixture_path("talking_head.mp4"), "-i", fixture_path("silence.wav"), "-map", "0:v", "-map", "1:a",
            "-map", "0:a", "-c:v", "copy", "-c:a", "aac", "-disposition:a:0", "0", "-disposition:a:1", "default", two)
    found = probe(two)
    assert found.audio.index == 2 and [t.index for t in found.other_audio] == [1]


def test_a_text_file_named_mp4_is_not_media_rather_than_incomplete(fixture_path):
    with pytest.raises(InputError, match="not a readable") as raised:
        probe(fixture_path("text.mp4"))
    assert "incomplete" not in str(raised.value)


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def test_a_heic_photo_is_named_as_one_with_what_to_do(tmp_path):
    # an iPhone's photo: HEIF (an 'ftyp' naming heic, then 'meta', no 'moov'), which ffprobe 5.1 reads as an
    # MP4 without its index; the message must not send the user to download it again
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(_box(b"ftyp", b"heic" + bytes(4) + b"mif1heic") + _box(b"meta", bytes(4) + _box(b"hdlr", bytes(24))))
    with pytest.raises(InputError, match=r"a HEIC/HEIF photo, which this FFmpeg cannot read; save it as JPEG or PNG") as raised:
        probe(heic)
    assert "incomplete" not in str(raised.value)
    # the same box with AVIF's brands (AV1 inside, which FFmpeg reads) is not taken for one
    avif = tmp_path / "cut.avif"
    avif.write_bytes(_box(b"ftyp", b"avif" + bytes(4) + b"mif1avifmiaf") + _box(b"meta", bytes(4)))
    with pytest.raises(InputError) as raised:
        probe(avif)
    assert "HEIC" not in str(raised.value)
