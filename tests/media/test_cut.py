"""Cutting a span of a recording: copied stream for stream on keyframes, else re-encoded."""

from __future__ import annotations

import subprocess
from pathlib import Path

from preflight.media import AudioStream, Probe, Role, VideoStream, probe
from preflight.media.cut import copy_span, cut

LENGTHS = (4.0, 14.85)  # the shortest and longest copy kept: fix's, by the default policy


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True)


def _probe_of(codec: str = "h264", audio: str | None = "aac", seconds: float = 20.0):
    return Probe(path=Path("rec.mp4"), role=Role.VIDEO, format_name="mov,mp4", size_bytes=1, duration=seconds,
                 video=VideoStream(0, codec, 1280, 720, 25.0, seconds),
                 audio=AudioStream(1, audio, 48000, 2, seconds) if audio else None)


def test_a_window_on_keyframes_is_copied_and_one_off_them_is_not():
    keys = [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0]
    assert copy_span(2.0, 12.0, _probe_of(), keys, LENGTHS) == (2.0, 12.0)
    assert copy_span(2.03, 11.97, _probe_of(), keys, LENGTHS) == (2.0, 12.0)  # within a frame: moved onto them
    assert copy_span(2.1, 12.0, _probe_of(), keys, LENGTHS) is None  # 2.5 frames off: re-encoded
    assert copy_span(8.0, 19.98, _probe_of(), keys, LENGTHS) == (8.0, None)  # to the end
    assert copy_span(0.0, 14.9, _probe_of(), keys, LENGTHS) is None  # onto 14.0 / 16.0: not within a frame
    assert copy_span(2.0, 12.0, _probe_of("vp9"), keys, LENGTHS) is None  # MP4 takes H.264 / HEVC as they are
    assert copy_span(2.0, 12.0, _probe_of(audio="opus"), keys, LENGTHS) is None
    assert copy_span(2.0, 12.0, _probe_of(audio=None), keys, LENGTHS) == (2.0, 12.0)


def test_a_cut_on_keyframes_keeps_the_source_packets(fixture_path, tmp_path):
    source = tmp_path / "keyed.mp4"  # a keyframe every second
    _ffmpeg("-i", fixture_path("talking_head.mp4"), "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
            "-keyint_min", "25", "-sc_threshold", "0", "-c:a", "copy", source)

    def packets(path: Path, start: float = 0.0, end: float = 1e9) -> list[str]:
        rows = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,size",
                               "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.split()
        return [size for t, size in (r.split(",") for r in rows) if start - 1e-3 <= float(t) < end - 1e-3]

    out = tmp_path / "cut.mp4"
    cut(probe(source), 2.0, 7.0, out, lengths=LENGTHS)
    assert packets(out) == packets(source, 2.0, 7.0) and len(packets(out)) == 125  # copied, frame for frame
    again = tmp_path / "again.mp4"
    cut(probe(source), 2.2, 7.0, again, lengths=LENGTHS)
    assert len(packets(again)) == 120 and packets(again) != packets(source, 2.2, 7.0)  # re-encoded from 2.2 s
