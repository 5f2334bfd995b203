"""One decode pass per file: a single ffmpeg process feeds every analyzer.

For a video, one ``filter_complex`` splits the picture into small grey frames (every frame, for
cut detection) and RGB frames sampled a few times a second (faces), and the same process writes
the audio as 16 kHz mono float32. Each output has its own pipe (stdout and two ``os.pipe()`` fds
handed to the child) and its own reader thread, so the three fill at once and analyzers can
start on the first frames while ffmpeg is still reading the file.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import BinaryIO, TypeVar

import ffmpeg
import numpy as np

from preflight import shutdown
from preflight.media.probe import Probe, Role, require_tool, tool_path
from preflight.roles import Source
from preflight.media.stream import AUDIO_RATE, Audio, FrameSeq

GREY_LONG_SIDE = 96  # px: plenty for frame-difference cut detection, ~0.3% of a 1080p frame's pixels
RGB_LONG_SIDE = 640  # px: BlazeFace sees 128-256 px inputs; 640 keeps small second faces findable
IMAGE_LONG_SIDE = 1280
# The lip-sync model sees 25 fps grey mouth crops of 112 px; at 400 px a talking head's mouth
# region is 60-150 px. Kept for the first 20 s only: a longer clip fails duration anyway.
TALK_FPS, TALK_LONG_SIDE, TALK_MAX_S = 25, 400, 20.0
# Anything past the first minute cannot change the verdict (the duration check has failed by then)
# and would only cost memory (a check asks for less: its duration maximum and a second); the
# decodable check says when it looked at less than the whole file. The bound is on the decoded
# stream itself: a file whose header states no length (a recording written to a pipe) stops there too.
MAX_DECODE_SECONDS = 60.0
# Channels kept apart (a stereo interview may hold one voice per side). Up to 8 have layouts
# FFmpeg's resampler downmixes; more (a 32-channel recorder's file, whose layout FFmpeg cannot
# name) are averaged to one by a `pan` filter, which needs none.
MAX_CHANNELS = 8
# A decode that ends this close to its bound was stopped by it.
_AT_BOUND_S = 0.05

T = TypeVar("T")
_PTS_TIME = re.compile(rb"pts_time:\s*(-?[0-9.]+)")


@dataclass
class DecodeStatus:
    """How the decode pass ended."""

    returncode: int
    errors: list[str] = field(default_factory=list)  # ffmpeg's error lines, in order
    seconds_limit: float | None = None  # set when only the first seconds were decoded


class Media:
    """One source, decoded once. Fields fill while ffmpeg runs; accessors wait when they must."""

    def __init__(self, probe: Probe, *, grey: FrameSeq | None, rgb: FrameSeq | None, separate_audio: bool,
                 talk: FrameSeq | None = None) -> None:
        self.probe = probe
        self.grey = grey  # every frame, grey, GREY_LONG_SIDE px: for scene cuts
        self.rgb = rgb  # sampled frames (video) or the image itself, RGB: for faces
        self.talk = talk  # 25 fps grey, TALK_LONG_SIDE px, the first TALK_MAX_S: for lip sync
        self.separate_audio = separate_audio  # the source set's voice comes from another file
        self.sample_fps: float | None = None
        self._audio: Audio | None = None
        self._status: DecodeStatus | None = None
        self._finished = threading.Event()
        self._process: subprocess.Popen | None = None
        self._memo: dict[str, tuple[threading.Lock, list]] = {}
        self._memo_lock = threading.Lock()

    @property
    def role(self) -> Role:
        return self.probe.role

    @property
    def source(self) -> Source:
        return self.probe.source

    def audio(self) -> Audio | None:
        """The decoded audio, or None when this source has none (or it was not decoded)."""
        self._finished.wait()
        return self._audio

    def seconds(self) -> float:
        """Where the decoded picture or sound ends, whichever is later, in seconds from the start:
        how long the source runs, and the end of the window a check judges (waits for the decode)."""
        audio = self.audio()
        picture = 0.0
        if self.grey is not None and len(self.grey):
            picture = float(self.grey.times[-1]) + (1.0 / self.probe.video.fps if self.probe.video.fps else 0.0)
        return max(picture, audio.duration if audio is not None else 0.0)

    def status(self) -> DecodeStatus:
        self._finished.wait()
        assert self._status is not None
        return self._status

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once for this source, whichever analyzer asks first; others wait for it."""
        with self._memo_lock:
            lock, box = self._memo.setdefault(key, (threading.Lock(), []))
        with lock:
            if not box:
                box.append(compute())
        return box[0]

    def release_frames(self, *, but_rgb: bool = False) -> None:
        """Let the kept frames' pixels go: every analysis that reads them is done. ``but_rgb``
        keeps the RGB frames, for pictures still to be drawn of them. Their times and counts stay
        (what the decode reached)."""
        for seq in (self.grey, self.talk) if but_rgb else (self.grey, self.rgb, self.talk):
            if seq is not None and not seq.streamed:
                seq.release()

    def close(self) -> None:
        """Stop the decoder if it still runs (an analysis gave up or was interrupted)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        for seq in (self.grey, self.rgb):
            if seq is not None and seq.streamed:
                seq.drop()  # a reader thread blocked on a full stream must see the end

    def _finish(self, audio: Audio | None, status: DecodeStatus) -> None:
        self._audio, self._status = audio, status
        self._finished.set()


def decode(probe: Probe, *, sample_fps: float, with_audio: bool = True,
           max_seconds: float = MAX_DECODE_SECONDS, streamed: bool = False) -> Media:
    """Start decoding ``probe.path`` in the background and return its :class:`Media` at once.

    ``sample_fps`` is the rate of the RGB frames for a video; ``with_audio`` False skips the
    file's own audio (when the source set has a separate voice audio); only the first
    ``max_seconds`` are decoded (``preflight fix`` reads longer recordings than a check).
    ``streamed`` keeps no video frames (:class:`FrameSeq`'s streamed form: one reader each for
    the grey and the RGB frames, which must read side by side) and leaves out the lip-sync
    frames: what ``preflight fix`` needs for minutes of video in bounded memory. The decode's
    status says when it stopped at ``max_seconds`` (``seconds_limit``).
    """
    ffmpeg_bin = require_tool("ffmpeg")
    # A frame no other frame predicts from skips the deblocking filter: nothing drifts, and a 1080p
    # H.264 decode takes 13% less CPU. Scaled to the analysis sizes, the bench clip's frames
    # differ by 0.2 of 255 on average, two shared talking heads' by under 0.01.
    # A still is turned upright by its own orientation (``VideoStream.upright``), not ffmpeg's.
    source = ffmpeg.input(tool_path(probe.path), **({"skip_loop_filter": "noref"} if probe.role is Role.VIDEO
                                                     else {"noautorotate": None} if probe.role is Role.IMAGE else {}))
    video, audio_stream = probe.video, probe.audio if with_audio else None
    outputs: list[tuple[ffmpeg.nodes.OutputStream, str]] = []  # (output, what it carries)
    grey = rgb = talk = None
    limited = None

    if probe.role is Role.IMAGE:
        w, h = _fit(video.width, video.height, IMAGE_LONG_SIDE)
        rgb = FrameSeq(w, h, 3)
        picture = source[str(video.index)]
        for step in video.upright:  # as a viewer shows it (w and h are after the turn)
            name, _, arg = step.partition("=")
            picture = picture.filter(name, arg) if arg else picture.filter(name)
        picture = picture.filter("scale", w, h).filter("format", "rgb24")
        outputs.append((picture, "rgb"))
    elif probe.role is Role.VIDEO:
        gw, gh = _fit(video.width, video.height, GREY_LONG_SIDE)
        w, h = _fit(video.width, video.height, RGB_LONG_SIDE)
        grey, rgb = FrameSeq(gw, gh, 1, streamed=streamed), FrameSeq(w, h, 3, streamed=streamed)
        with_talk = audio_stream is not None and not streamed
        split = source[str(video.index)].split()
        # Area-averaging a full HD frame is the decode's costliest filter; a fast halving step to
        # twice the size first keeps the averaging (no aliasing) at a quarter of the CPU.
        grey_path = split[0].filter("scale", 2 * gw, 2 * gh, flags="fast_bilinear").filter("scale", gw, gh, flags="area")
        outputs.append((grey_path.filter("format", "gray").filter("showinfo"), "grey"))
        outputs.append((split[1].filter("fps", sample_fps).filter("scale", w, h, flags="fast_bilinear").filter("format", "rgb24"), "rgb"))
        if with_talk:  # lip sync needs the video's own sound
            tw, th = _fit(video.width, video.height, TALK_LONG_SIDE)
            talk = FrameSeq(tw, th, 1)
            talk_path = split[2].filter("trim", duration=TALK_MAX_S).filter("fps", TALK_FPS)
            # Scale first, then grey: a pixel-format change on the full frame gets its own
            # full-size bicubic scaler (1.9 s of CPU on a 15 s 1080p clip, a third of the decode itself).
            outputs.append((talk_path.filter("scale", tw, th, flags="fast_bilinear").filter("format", "gray"), "talk"))
    n_channels = max(audio_stream.channels, 1) if audio_stream is not None else 1
    if audio_stream is not None:
        sound = source[str(audio_stream.index)]
        if n_channels > MAX_CHANNELS:
            # '<': the gains renormalised to sum to 1, the mean (and no '=', which ffmpeg-python escapes)
            sound = sound.filter("pan", "mono|c0<" + "+".join(f"c{i}" for i in range(n_channels)))
            n_channels = 1
        outputs.append((sound, "audio"))
    if (probe.media_duration or 0) > max_seconds:
        limited = max_seconds

    media = Media(probe, grey=grey, rgb=rgb, talk=talk, separate_audio=not with_audio)
    media.sample_fps = sample_fps if probe.role is Role.VIDEO else None

    # stdout carries the first output; the others get pipes of their own, named pipe:<fd>.
    pipes = [os.pipe() for _ in outputs[1:]]
    targets = ["pipe:1"] + [f"pipe:{w}" for _, w in pipes]
    nodes = []
    for (stream, kind), target in zip(outputs, targets):
        opts: dict[str, object] = {}
        if kind == "audio":
            opts = {"format": "f32le", "ac": n_channels, "ar": AUDIO_RATE}
        else:
            opts = {"format": "rawvideo"}
            if kind == "grey":
                opts["fps_mode"] = "passthrough"
            if probe.role is Role.IMAGE:
                opts["frames:v"] = 1
        opts["t"] = max_seconds  # whatever the header says, or when it says nothing
        nodes.append(ffmpeg.output(stream, target, **opts))
    args = [ffmpeg_bin, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info"]
    args += ffmpeg.merge_outputs(*nodes).get_args()
    proc = shutdown.process(subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=[w for _, w in pipes], stdin=subprocess.DEVNULL
    ))
    media._process = proc
    for _, w in pipes:
        os.close(w)
    readers = [proc.stdout] + [os.fdopen(r, "rb") for r, _ in pipes]

    audio_chunks: list[bytes] = []
    threads = []
    for (_, kind), reader in zip(outputs, readers):
        if kind == "audio":
            target = (_read_all, reader, audio_chunks)
        else:
            target = (_read_frames, reader, {"grey": grey, "rgb": rgb, "talk": talk}[kind])
        threads.append(threading.Thread(target=target[0], args=target[1:], daemon=True))
    stderr_lines: list[bytes] = []
    threads.append(threading.Thread(target=_read_lines, args=(proc.stderr, stderr_lines), daemon=True))
    for t in threads:
        t.start()

    def finish() -> None:
        for t in threads:
            t.join()
        code = proc.wait()
        errors = [_clean(line, probe) for line in stderr_lines if b"[error]" in line or b"[fatal]" in line]
        if grey is not None:
            times = [float(m.group(1)) for line in stderr_lines if b"showinfo" in line for m in [_PTS_TIME.search(line)] if m]
            grey.finish(np.array(times), rate=video.fps or 25.0)
        if rgb is not None:
            rgb.finish(None, rate=sample_fps)
        if talk is not None:
            talk.finish(None, rate=TALK_FPS)
        audio = _audio(b"".join(audio_chunks), n_channels) if audio_stream is not None else None
        reached = audio.duration if audio is not None else 0.0
        if grey is not None and len(grey.times):
            reached = max(reached, float(grey.times[-1]) + 1.0 / (video.fps or 25.0))
        if audio is not None and video is not None and probe.role is Role.VIDEO:
            audio = _aligned(audio, audio_stream.start - video.start)
        bounded = limited or (max_seconds if probe.role is not Role.IMAGE and reached >= max_seconds - _AT_BOUND_S else None)
        media._finish(audio, DecodeStatus(returncode=code, errors=errors, seconds_limit=bounded))

    threading.Thread(target=finish, daemon=True).start()
    return media


def _audio(data: bytes, n_channels: int) -> Audio:
    samples = np.frombuffer(data[: len(data) // (4 * n_channels) * 4 * n_channels], dtype="<f4")
    if n_channels == 1 or not len(samples):  # no sound decoded: no channels to compare either
        return Audio(samples.astype(np.float32))
    channels = np.ascontiguousarray(samples.reshape(-1, n_channels).T, dtype=np.float32)
    return Audio(channels.mean(axis=0, dtype=np.float32), channels=channels)


def _aligned(audio: Audio, offset_s: float) -> Audio:
    """The sound placed on the picture's clock: ``offset_s`` of silence first when it starts late,
    its first ``-offset_s`` dropped when it starts early (a clip cut from a longer recording)."""
    shift = round(offset_s * audio.rate)
    if abs(shift) < audio.rate // 100:  # under 10 ms: an encoder's priming, not a misplaced track
        return audio
    if shift > 0:
        pad = np.zeros(shift, np.float32)
        channels = None if audio.channels is None else np.concatenate(
            [np.zeros((len(audio.channels), shift), np.float32), audio.channels], axis=1)
        return Audio(np.concatenate([pad, audio.samples]), audio.rate, channels, lead=shift)
    cut = min(-shift, len(audio.samples))
    return Audio(audio.samples[cut:], audio.rate, None if audio.channels is None else audio.channels[:, cut:])


def _fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Scale (width, height) so the long side is at most ``long_side``; even sizes, aspect kept."""
    scale = min(1.0, long_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _read_frames(pipe: BinaryIO, seq: FrameSeq) -> None:
    size = seq.frame_bytes
    with pipe:
        while True:
            frame = seq.slot()
            view, got = memoryview(frame).cast("B"), 0
            while got < size:
                n = pipe.readinto(view[got:])
                if not n:
                    return
                got += n
            seq.push(frame)


def _read_all(pipe: BinaryIO, chunks: list[bytes]) -> None:
    with pipe:
        while chunk := pipe.read(1 << 16):
            chunks.append(chunk)


def _read_lines(pipe: BinaryIO, lines: list[bytes]) -> None:
    with pipe:
        lines.extend(pipe)


def _clean(line: bytes, probe: Probe) -> str:
    """An ffmpeg error line for people: no log prefixes, the file named by its label (never a server's folder)."""
    text = line.decode("utf-8", "replace").strip()
    text = re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\] ", "", text).replace("[error] ", "").replace("[fatal] ", "")
    return text.replace(tool_path(probe.path), probe.source.label) if probe.label else text
