"""Containers for decoded media that fill while the decoder runs.

Analyzers iterate a :class:`FrameSeq` while ffmpeg is still writing it, so analysis overlaps
decoding; anything that needs the whole clip (times, a stacked array) waits for the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

AUDIO_RATE = 16_000  # Hz; what the VAD and the audio features are made for


class FrameSeq:
    """Frames of one size in decode order, with their presentation times in seconds."""

    def __init__(self, width: int, height: int, channels: int) -> None:
        self.width, self.height, self.channels = width, height, channels
        self._frames: list[np.ndarray] = []
        self._times: np.ndarray | None = None
        self._done = False
        self._cond = threading.Condition()

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * self.channels

    def push(self, frame: np.ndarray) -> None:
        with self._cond:
            self._frames.append(frame)
            self._cond.notify_all()

    def finish(self, times: np.ndarray | None, rate: float) -> None:
        """Close the sequence. ``times`` from the decoder, if it gave one per frame, else ``i / rate``."""
        with self._cond:
            n = len(self._frames)
            if times is not None and len(times) >= n:
                self._times = np.asarray(times[:n], dtype=np.float64)
            else:
                self._times = np.arange(n) / rate
            self._done = True
            self._cond.notify_all()

    def __iter__(self) -> Iterator[np.ndarray]:
        i = 0
        while True:
            with self._cond:
                while i >= len(self._frames) and not self._done:
                    self._cond.wait()
                if i >= len(self._frames):
                    return
                frame = self._frames[i]
            yield frame
            i += 1

    def wait(self) -> None:
        with self._cond:
            while not self._done:
                self._cond.wait()

    @property
    def times(self) -> np.ndarray:
        """Presentation time of each frame (s); waits for the decoder to finish."""
        self.wait()
        assert self._times is not None
        return self._times

    def __getitem__(self, i: int) -> np.ndarray:
        self.wait()
        return self._frames[i]

    def __len__(self) -> int:
        self.wait()
        return len(self._frames)

    def array(self) -> np.ndarray:
        """All frames stacked: (n, height, width) or (n, height, width, channels)."""
        self.wait()
        shape = (self.height, self.width) if self.channels == 1 else (self.height, self.width, self.channels)
        if not self._frames:
            return np.zeros((0, *shape), dtype=np.uint8)
        return np.stack(self._frames)


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] (values past 1 mean the source clipped) at ``rate`` Hz.

    ``samples`` is the mean of the file's channels (no gain, unlike a downmix that sums them);
    ``channels`` holds the channels themselves, (channels, samples), when there are several.
    ``lead`` counts the samples of silence put first to place a late sound on the picture's
    clock: they are not in the file, so no measure of its background may use them.
    """

    samples: np.ndarray
    rate: int = AUDIO_RATE
    channels: np.ndarray | None = None
    lead: int = 0

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate
