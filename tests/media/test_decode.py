"""One ffmpeg process yields grey frames, sampled RGB frames and 16 kHz audio together."""

import threading

import numpy as np
import pytest

from preflight.media import Role, decode, probe


def test_video_outputs(fixture_path):
    media = decode(probe(fixture_path("talking_head.mp4")), sample_fps=5.0)
    rgb = list(media.rgb)  # iterates while the decoder runs
    assert len(rgb) == pytest.approx(45, abs=1)
    assert rgb[0].shape == (360, 640, 3) and rgb[0].dtype == np.uint8
    assert len(media.grey) == 225  # every frame of 9 s at 25 fps
    assert media.grey.array().shape[1:] == (54, 96)
    times = media.grey.times
    assert times[0] == pytest.approx(0.0) and np.all(np.diff(times) > 0)
    audio = media.audio()
    assert audio.rate == 16000 and audio.duration == pytest.approx(9.0, abs=0.1)
    assert media.status().returncode == 0 and not media.status().errors


def test_separate_voice_skips_the_video_audio(fixture_path):
    media = decode(probe(fixture_path("talking_head.mp4")), sample_fps=5.0, with_audio=False)
    assert media.audio() is None and media.separate_audio


def test_image_is_one_rgb_frame(fixture_path):
    media = decode(probe(fixture_path("face.png")), sample_fps=5.0)
    assert media.role is Role.IMAGE and media.grey is None
    assert media.rgb.array().shape == (1, 512, 512, 3)


def test_truncated_file_reports_errors(fixture_path):
    p = probe(fixture_path("truncated.mp4"))
    media = decode(p, sample_fps=5.0)
    assert media.grey.times[-1] < p.media_duration * 0.8
    assert media.status().errors


def test_a_file_whose_header_states_no_length_stops_at_the_bound(fixture_path):
    # the bound must hold when the probe does not know the length too: a 20-minute recording
    # written to a pipe decodes to over 4.6 GB
    p = probe(fixture_path("no_duration.mkv"))
    assert p.media_duration is None
    media = decode(p, sample_fps=5.0, max_seconds=10.0)
    assert media.seconds() == pytest.approx(10.0, abs=0.1) and len(media.grey) == pytest.approx(250, abs=2)
    assert media.status().seconds_limit == 10.0
    whole = decode(probe(fixture_path("talking_head.mp4")), sample_fps=5.0, max_seconds=10.0)
    assert whole.status().seconds_limit is None  # 9 s: it ended before the bound


def test_more_than_eight_channels_are_averaged_to_one(fixture_path):
    # 32 copies of the talking head's sound: ffmpeg cannot downmix a layout it cannot name (left to
    # it, nothing decodes: no sound, and "the picture stops at 0.0 s")
    many = decode(probe(fixture_path("channels32.mov")), sample_fps=5.0)
    one = decode(probe(fixture_path("talking_head.mp4")), sample_fps=5.0)
    sound, reference = many.audio(), one.audio()
    assert many.status().returncode == 0 and not many.status().errors
    assert sound.channels is None and abs(len(sound.samples) - len(reference.samples)) <= 160
    n = min(len(sound.samples), len(reference.samples))
    assert np.max(np.abs(sound.samples[:n] - reference.samples[:n])) < 1e-3  # the mean of 32 copies is the copy
    assert len(many.grey) == len(one.grey)


def test_shared_computes_once(fixture_path):
    media = decode(probe(fixture_path("speech.wav")), sample_fps=5.0)
    calls = []
    for _ in range(3):
        assert media.shared("k", lambda: calls.append(1) or 42) == 42
    assert calls == [1]


def test_streamed_decode_keeps_no_frames(fixture_path):
    media = decode(probe(fixture_path("talking_head.mp4")), sample_fps=5.0, streamed=True)
    assert media.talk is None  # no lip-sync frames
    grey = []
    reader = threading.Thread(target=lambda: grey.extend(f.shape for f in media.grey), daemon=True)
    reader.start()
    rgb = sum(1 for _ in media.rgb)
    reader.join(30)
    assert rgb == pytest.approx(45, abs=1) and len(grey) == 225 == len(media.grey)
    assert media.audio().duration == pytest.approx(9.0, abs=0.1)
    with pytest.raises(RuntimeError):
        media.rgb.array()


def test_closing_a_streamed_decode_nobody_reads_ends_it(fixture_path):
    media = decode(probe(fixture_path("talking_head.mp4")), sample_fps=5.0, streamed=True)
    grey = threading.Thread(target=lambda: sum(1 for _ in media.grey), daemon=True)
    grey.start()  # reads the grey frames; nobody reads the RGB ones, so the decoder stalls
    grey.join(1.0)
    assert grey.is_alive()
    media.close()
    grey.join(10)
    assert not grey.is_alive() and media.status() is not None


def test_a_source_runs_to_its_last_frame_even_when_the_picture_starts_late():
    # a window over the whole source must hold every frame: a picture that starts 0.5 s in
    # (the sound first) ends 0.5 s after its own length
    from synthetic import media

    from preflight.media import FrameSeq

    m = media(Role.VIDEO, grey=np.zeros((10, 4, 4), np.uint8), fps=10.0)
    late = FrameSeq(4, 4, 1)
    for _ in range(10):
        late.push(np.zeros((4, 4), np.uint8))
    late.finish(0.5 + np.arange(10) / 10.0, rate=10.0)
    m.grey = late
    assert m.seconds() == pytest.approx(1.5)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_still_is_decoded_as_its_exif_orientation_shows_it(tmp_path, suffix):
    # Every orientation a camera writes, against Pillow's own turn of the same file. ffmpeg 5.1
    # turns JPEGs by their tag by itself and PNGs not at all: a still must come out upright either way.
    from PIL import Image, ImageOps

    rng = np.random.default_rng(7)
    blocks = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)  # 3 x 4 blocks of 16 px, no two turns alike
    upright = Image.fromarray(np.kron(blocks, np.ones((16, 16, 1), dtype=np.uint8)))  # 64 wide, 48 tall
    undo = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_270}
    for orientation in range(1, 9):
        path = tmp_path / f"o{orientation}{suffix}"
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored = upright.transpose(undo[orientation]) if orientation in undo else upright
        stored.save(path, exif=exif, **({"quality": 95} if suffix == ".jpg" else {}))
        with Image.open(path) as image:
            shown = np.asarray(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.int16)
        p = probe(path)
        assert (p.video.width, p.video.height, p.video.orientation) == (64, 48, orientation)
        frame = decode(p, sample_fps=1.0, with_audio=False).rgb[0].astype(np.int16)
        assert frame.shape == shown.shape == (48, 64, 3), orientation
        assert np.abs(frame - shown).mean() < (0.5 if suffix == ".png" else 6.0), orientation


def test_a_still_without_an_orientation_is_as_stored(fixture_path):
    assert probe(fixture_path("face.png")).video.orientation == 1
