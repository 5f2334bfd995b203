"""Cutting a span out of a recording, and moving its sound, with ffmpeg.

A video span that starts on a keyframe (and ends on one, or at the end) is copied stream for
stream: no second generation of compression. Otherwise the seek before the input decodes from
the keyframe before and drops what precedes the start, and everything is re-encoded at the
source's size (H.264 + AAC in MP4; a voice audio as 16-bit WAV). Moving the sound copies the
picture and encodes the sound as AAC, keeping its length (trimmed at one end, silence at the other).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from preflight import shutdown
from preflight.errors import InputError, TimedOut
from preflight.media.probe import Probe, Role, keyframe_times, probe, require_tool, tool_path

# What an MP4 holds as it is; how near a keyframe an edge must be to move onto it (a frame).
_COPYABLE_VIDEO, _COPYABLE_AUDIO = frozenset({"h264", "hevc"}), frozenset({"aac"})
_SEEK_PAST = 0.001  # s: seeking just past a keyframe lands on it, never on the one before


def cut(target: Probe, start: float, end: float, dest: Path, *, lengths: tuple[float, float],
        deadline: float | None = None) -> None:
    """Write ``target``'s ``[start, end]`` (seconds) to ``dest``, frame-accurate: copied when its
    edges sit on keyframes and the copy's length stays within ``lengths`` (shortest, longest),
    else re-encoded. ``deadline`` (``time.monotonic()``): past it :class:`TimedOut` is raised."""
    ffmpeg = require_tool("ffmpeg")
    if target.role is Role.VIDEO and (span := copy_span(start, end, target, keyframe_times(target), lengths)) is not None:
        a, b = span
        if _run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{a + _SEEK_PAST:.6f}",
                 "-i", tool_path(target.path), *(["-t", f"{b - a - 0.5 / target.video.fps:.6f}"] if b else []),
                 "-map", f"0:{target.video.index}", *(["-map", f"0:{target.audio.index}"] if target.audio else []),
                 "-c", "copy", "-avoid_negative_ts", "make_zero", "-movflags", "+faststart", "-f", "mp4"],
                dest, deadline, target) is None and _lasts(dest, (b or target.video.duration or target.media_duration or 0) - a,
                                                           target.video.fps):
            return
    args = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{start:.3f}", "-i", tool_path(target.path),
            "-t", f"{round(end - start, 3):.3f}"]
    if target.role is Role.VIDEO:
        args += ["-map", f"0:{target.video.index}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                 "-pix_fmt", "yuv420p"]
        if target.audio is not None:
            args += ["-map", f"0:{target.audio.index}", "-c:a", "aac", "-b:a", "192k"]
        args += ["-movflags", "+faststart", "-f", "mp4"]
    else:
        args += ["-map", f"0:{target.audio.index}", "-c:a", "pcm_s16le", "-f", "wav"]
    if (failed := _run(args, dest, deadline, target)) is not None:
        raise InputError(f"{target.source.label}: cutting {start:.2f}-{end:.2f} s failed ({failed})")


def copy_span(start: float, end: float, target: Probe, keyframes: list[float],
              lengths: tuple[float, float]) -> tuple[float, float | None] | None:
    """``[start, end]`` moved by at most a frame at each edge onto keyframes, as (start, end), end
    None for "to the end of the recording"; None when it cannot be copied as it is (a codec MP4
    does not hold, no keyframe within a frame, or a copy's length outside ``lengths``)."""
    video = target.video
    if video is None or not video.fps or video.codec not in _COPYABLE_VIDEO or (
            target.audio is not None and target.audio.codec not in _COPYABLE_AUDIO):
        return None
    frame = 1.0 / video.fps
    first = min(keyframes, key=lambda k: abs(k - start), default=None)
    if first is None or abs(first - start) > frame:
        return None
    last = video.duration or target.media_duration or 0.0
    if end >= last - frame:
        stop = None
    else:
        stop = min((k for k in keyframes if k > first), key=lambda k: abs(k - end), default=None)
        if stop is None or abs(stop - end) > frame:
            return None
    length = (stop if stop is not None else last) - first
    if not lengths[0] <= length <= lengths[1]:
        return None
    return first, stop


def resync(source: Path, probed: Probe, offset_ms: int, dest: Path, deadline: float | None = None) -> None:
    """Write ``source`` to ``dest`` (MP4) with its sound moved ``offset_ms`` earlier (later when
    negative): the picture copied (re-encoded only when MP4 cannot hold it), the sound as AAC."""
    ffmpeg = require_tool("ffmpeg")
    length = probed.audio.duration or probed.media_duration or 0.0
    shift = abs(offset_ms) / 1000
    moved = (f"atrim=start={shift:.3f},asetpts=PTS-STARTPTS,apad" if offset_ms > 0
             else f"adelay={abs(offset_ms)}:all=1") + f",atrim=end={length:.3f}"
    head = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", tool_path(source), "-filter_complex",
            f"[0:{probed.audio.index}]{moved}[a]", "-map", f"0:{probed.video.index}", "-map", "[a]"]
    tail = ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", "-f", "mp4"]
    failed = _run([*head, "-c:v", "copy", *tail], dest, deadline, probed)
    if failed is not None:
        failed = _run([*head, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", *tail],
                      dest, deadline, probed)
    if failed is not None:
        raise InputError(f"{probed.source.label}: moving the sound {offset_ms:+d} ms failed ({failed})")


def run_ffmpeg(args: list[str], timeout: float | None, source: Probe, what: str) -> tuple[int, str]:
    """Run ffmpeg; its exit code and its stderr. :class:`TimedOut` (naming ``what``) past ``timeout``."""
    with shutdown.process(subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.PIPE, text=True)) as proc:
        try:
            _, errors = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise TimedOut(f"{source.source.label}: {what} did not finish in its time and was stopped") from None
        except BaseException:
            proc.kill()
            raise
    return proc.returncode, errors


def _run(args: list[str], dest: Path, deadline: float | None, target: Probe) -> str | None:
    """Run one ffmpeg cut into ``dest``; None when it worked, else ffmpeg's last line."""
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and left <= 0:
        raise TimedOut(f"{target.source.label}: cutting the window did not finish in its time and was stopped")
    code, errors = run_ffmpeg([*args, f"file:{dest.absolute()}"], left, target, "cutting the window")
    return None if code == 0 else (errors.strip().splitlines() or ["ffmpeg failed"])[-1]


def _lasts(path: Path, seconds: float, fps: float) -> bool:
    """The copy's picture runs ``seconds`` to within a frame and a half (else it is re-encoded)."""
    try:
        got = probe(path).video
    except InputError:
        return False
    return got is not None and got.duration is not None and abs(got.duration - seconds) <= 1.5 / fps
