"""duration, streams, decodable, resolution: both sides of each."""

import pytest
from conftest import check_of

from preflight.report import Status


# One end-to-end check per concern on a real file; the rest judge timelines made here, in microseconds.

def _probe(video: bool = True, audio: bool = True, *, sound_from: float = 0.0, sound_s: float = 8.0):
    from pathlib import Path

    from preflight.media import AudioStream, Probe, Role, VideoStream

    return Probe(path=Path("clip.mp4"), role=Role.VIDEO, format_name="mov,mp4", size_bytes=1, duration=8.0,
                 video=VideoStream(0, "h264", 1280, 720, 25.0, 8.0) if video else None,
                 audio=AudioStream(1, "aac", 48000, 2, sound_s, start=sound_from) if audio else None)


@pytest.mark.slow
def test_duration(report_of):
    assert check_of(report_of("talking_head.mp4"), "duration").status is Status.PASS
    long = report_of("long.mp4")
    # over the maximum by its header: failed at once, with nothing else run
    assert [(c.id, c.status) for c in long.checks] == [("duration", Status.FAIL)]
    assert not [c for c in report_of("face.png").checks if c.id == "duration"]


@pytest.mark.slow
def test_streams(report_of):
    from preflight.analyzers import streams
    from preflight.policy import Policy
    from preflight.report import Span

    with_voice = report_of(video="no_audio.mp4", audio="speech.wav")
    assert check_of(with_voice, "streams").status is Status.PASS and with_voice.verdict == "go"
    judge = lambda probe, separate=False: streams.judge(streams.Tracks("clip.mp4", probe, separate), Span(start=0, end=8),
                                                        Policy())[0]
    assert judge(_probe()).status is Status.PASS
    assert judge(_probe(audio=False)).status is Status.FAIL
    assert judge(_probe(audio=False), separate=True).status is Status.PASS
    short_sound = judge(_probe(sound_s=6.0))
    assert short_sound.status is Status.WARN and short_sound.spans == (Span(start=6.0, end=8.0),)


@pytest.mark.slow
def test_decodable(report_of):
    assert check_of(report_of("talking_head.mp4"), "decodable").status is Status.PASS
    truncated = check_of(report_of("truncated.mp4"), "decodable")
    assert truncated.status is Status.FAIL
    assert truncated.spans and truncated.spans[0].start < 7.0
    assert report_of("truncated.mp4").verdict == "no-go"


def test_a_photo_stored_turned_is_checked_as_viewers_show_it(report_of):
    # a phone's portrait: stored 640x512 on its side with EXIF orientation 6, shown 512x640 upright
    report = report_of(image="face_turned.jpg", audio="speech.wav")
    decoded = check_of(report, "decodable", "face_turned.jpg")
    assert decoded.status is Status.PASS and "EXIF orientation 6" in decoded.message
    assert check_of(report, "resolution").message.startswith("512x640")
    assert check_of(report, "faces").status is Status.PASS and check_of(report, "frontal").status is Status.PASS
    assert report.verdict == "go"


@pytest.mark.slow
def test_resolution(report_of):
    from preflight.analyzers import resolution
    from preflight.policy import Policy
    from preflight.report import Span

    assert check_of(report_of("talking_head.mp4"), "resolution").status is Status.PASS
    judge = lambda w, h: resolution.judge(resolution.Size("clip.mp4", w, h), Span(start=0, end=8), Policy())[0]
    assert judge(640, 360).status is Status.WARN
    tiny = judge(320, 180)
    assert tiny.status is Status.FAIL and tiny.value == 180
    assert judge(1080, 1920).status is Status.PASS  # a vertical phone clip: the short side counts


def _ffmpeg(*args) -> None:
    import subprocess

    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *map(str, args)], check=True)


@pytest.mark.slow
def test_sound_that_starts_late_warns_with_the_real_spans(tmp_path, fixture_path):
    # the sound 2 s behind the picture: a recording a user would not want as is
    late = tmp_path / "late.mp4"
    _ffmpeg("-i", fixture_path("talking_head.mp4"), "-itsoffset", "2", "-i", fixture_path("talking_head.mp4"),
            "-map", "0:v", "-map", "1:a", "-c", "copy", late)
    import preflight

    check = check_of(preflight.check(late), "streams")
    assert check.status is Status.WARN and "from 2.0" in check.message.replace("1.9", "2.0")
    assert check.spans[0].start == pytest.approx(0.0) and check.spans[0].end > 1.8


@pytest.mark.slow
def test_a_second_audio_track_warns_and_the_default_is_judged(tmp_path, fixture_path):
    two = tmp_path / "two.mp4"
    _ffmpeg("-i", fixture_path("talking_head.mp4"), "-i", fixture_path("silence.wav"), "-map", "0:v", "-map", "1:a",
            "-map", "0:a", "-c:v", "copy", "-c:a", "aac", "-disposition:a:0", "0", "-disposition:a:1", "default", two)
    import preflight

    report = preflight.check(two)
    assert check_of(report, "streams").status is Status.WARN and "2 audio tracks" in check_of(report, "streams").message
    assert check_of(report, "speech").status is Status.PASS  # the voice, not the silent first track


@pytest.mark.slow
def test_a_browser_recording_without_a_stated_duration_is_measured_by_its_decode(tmp_path, fixture_path):
    # MediaRecorder-style WebM written to a pipe: no duration in its header, yet a length to judge.
    # At 360 lines, not the clip's 720: the length is what is measured, and VP8 at 720p cost 4x more to make.
    webm = tmp_path / "rec.webm"
    import subprocess

    data = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(fixture_path("talking_head.mp4")),
                           "-vf", "scale=-2:360", "-c:v", "libvpx",
                           "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-c:a", "libopus", "-f", "webm", "-"],
                          capture_output=True, check=True).stdout
    webm.write_bytes(data)
    import preflight

    report = preflight.check(webm)
    duration = check_of(report, "duration")
    assert duration.status is Status.PASS and duration.value == pytest.approx(9.0, abs=0.2)
    assert "decodes cleanly to 9.0" in check_of(report, "decodable").message


@pytest.mark.slow
def test_clipping_is_counted_on_the_files_own_channels(tmp_path, fixture_path):
    # a copy of the voice in 8 channels: a downmix that sums them clips 11.7% of the samples
    eight = tmp_path / "eight.wav"
    _ffmpeg("-i", fixture_path("speech.wav"), "-af", "pan=7.1|" + "|".join(f"c{i}=c0" for i in range(8)), eight)
    import preflight

    assert check_of(preflight.check(eight), "clipping").value == check_of(preflight.check(fixture_path("speech.wav")), "clipping").value
