"""Media made in numpy, for testing features and judgments in milliseconds without ffmpeg."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from preflight.media import Audio, Media, Probe, Role
from preflight.media.decode import DecodeStatus
from preflight.media.probe import AudioStream, VideoStream
from preflight.media.stream import FrameSeq


def media(
    role: Role = Role.AUDIO,
    *,
    container: float | None = None,
    video_s: float | None = None,
    audio_s: float | None = None,
    samples: np.ndarray | None = None,
    rate: int = 16_000,
    channels: np.ndarray | None = None,
    grey: np.ndarray | None = None,
    fps: float = 25.0,
    separate_audio: bool = False,
    lead: int = 0,
) -> Media:
    """A decoded source as the pipeline would hand it to the analyzers.

    ``samples`` is the mono mix at ``rate``; ``channels`` (channels, samples) the file's own
    channels when they matter; ``grey`` (frames, height, width) uint8 the cut-detection frames;
    ``lead`` the samples of silence the decode put first for a late sound.
    """
    if samples is not None and audio_s is None:
        audio_s = len(samples) / rate
    if grey is not None and video_s is None:
        video_s = len(grey) / fps
    has_video = role is not Role.AUDIO
    probe = Probe(
        path=Path(f"synthetic.{'mp4' if role is Role.VIDEO else 'png' if role is Role.IMAGE else 'wav'}"),
        role=role, format_name="synthetic", size_bytes=1,
        duration=container if container is not None else max(filter(None, (video_s, audio_s)), default=None),
        video=VideoStream(0, "synthetic", 640, 360, fps, video_s) if has_video else None,
        audio=AudioStream(1, "synthetic", rate, 1 if channels is None else len(channels), audio_s)
        if (samples is not None or audio_s is not None) else None,
    )
    seq = None
    if grey is not None:
        seq = FrameSeq(grey.shape[2], grey.shape[1], 1)
        for frame in grey:
            seq.push(frame)
        seq.finish(np.arange(len(grey)) / fps, rate=fps)
    m = Media(probe, grey=seq, rgb=None, separate_audio=separate_audio)
    audio = Audio(samples.astype(np.float32), rate, channels=None if channels is None else channels.astype(np.float32),
                  lead=lead) \
        if samples is not None else None
    m._finish(audio, DecodeStatus(returncode=0))
    return m
