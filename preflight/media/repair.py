"""Write a source repaired: one fixed crop, a gain, a trim, in one ffmpeg run.

The picture is re-encoded (x264, CRF 18) only when it is cropped or trimmed; a gain alone copies
it stream for stream. The sound is re-encoded only when its gain changes (AAC 192k in MP4, 16-bit
PCM in WAV) or a trim needs it cut; otherwise copied. An image is written as shown (turned upright
by its EXIF orientation, the output carrying no tag), cropped, in the output's own format (PNG,
JPEG at quality 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from preflight.errors import InputError
from preflight.media.cut import run_ffmpeg
from preflight.media.probe import Probe, Role, require_tool, tool_path


@dataclass(frozen=True)
class Edit:
    """What to do: ``crop`` (x, y, width, height in source pixels), ``gain_db``, ``start``/``end`` (s)."""

    crop: tuple[int, int, int, int] | None = None
    gain_db: float | None = None
    start: float | None = None
    end: float | None = None


def apply(source: Probe, edit: Edit, dest: Path, timeout: float | None = None) -> None:
    """Write ``source`` with ``edit`` to ``dest``; :class:`InputError` with ffmpeg's last line when it fails."""
    ffmpeg = require_tool("ffmpeg")
    args = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    trimmed = edit.start is not None or edit.end is not None
    if edit.start:
        args += ["-ss", f"{edit.start:.6f}"]
    args += [*(["-noautorotate"] if source.role is Role.IMAGE else []), "-i", tool_path(source.path)]
    if edit.end is not None:
        args += ["-t", f"{edit.end - (edit.start or 0.0):.6f}"]
    crop = [] if edit.crop is None else ["crop={2}:{3}:{0}:{1}".format(*edit.crop)]
    if source.role is Role.IMAGE:
        # turned upright first (the crop is in the picture as shown); the output has no EXIF tag to turn it again
        quality = ["-q:v", "2"] if dest.suffix.lower() in (".jpg", ".jpeg") else []
        args += ["-map", f"0:{source.video.index}", *_vf([*source.video.upright, *crop]), *quality,
                 "-frames:v", "1", "-update", "1"]
    else:
        if source.video is not None:
            args += ["-map", f"0:{source.video.index}"]
            args += ([*_vf(crop), "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
                     if crop or trimmed else ["-c:v", "copy"])
        if source.audio is not None:
            args += ["-map", f"0:{source.audio.index}"]
            if edit.gain_db is not None:
                args += ["-af", f"volume={edit.gain_db:.2f}dB"]
            wav = source.video is None
            if edit.gain_db is not None or trimmed or wav:
                args += ["-c:a", "pcm_s16le"] if wav else ["-c:a", "aac", "-b:a", "192k"]
            else:
                args += ["-c:a", "copy"]
        args += ["-f", "wav"] if source.video is None else ["-movflags", "+faststart", "-f", "mp4"]
    code, errors = run_ffmpeg([*args, f"file:{dest.absolute()}"], timeout, source, "writing the repair")
    if code != 0:
        raise InputError(f"{source.source.label}: writing the repair failed ({(errors.strip().splitlines() or ['ffmpeg failed'])[-1]})")


def _vf(filters: list[str]) -> list[str]:
    return ["-vf", ",".join(filters)] if filters else []


def true_loudness(source: Probe, timeout: float | None = None) -> tuple[float, float]:
    """ffmpeg's EBU R128 meter on the source's own sound, at its own rate: (integrated LUFS, true
    peak dBTP). The check's meter reads a 16 kHz decode; the gain is measured on the full band."""
    ffmpeg = require_tool("ffmpeg")
    code, log = run_ffmpeg([ffmpeg, "-hide_banner", "-nostats", "-i", tool_path(source.path), "-map", f"0:{source.audio.index}",
                      "-af", "ebur128=peak=true", "-f", "null", "-"], timeout, source, "measuring the loudness")
    if code != 0 or "Summary:" not in log:
        raise InputError(f"{source.source.label}: measuring the loudness failed")
    summary = log[log.rindex("Summary:"):]
    level = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if level is None or peak is None:
        raise InputError(f"{source.source.label}: measuring the loudness failed")
    return float(level[1]), float(peak[1])
