"""Containers for decoded media that fill while the decoder runs.

Analyzers iterate a :class:`FrameSeq` while ffmpeg is still writing it, so analysis overlaps
decoding; anything that needs the whole clip (times, a stacked array) waits for the end. A
*streamed* sequence (``preflight fix`` on a recording of minutes) keeps no frames: one reader
takes each frame as it comes, and the decoder waits while a few are unread, so memory holds
timelines, not pictures.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

AUDIO_RATE = 16_000  # Hz; what the VAD and the audio features are made for


class FrameSeq:
    """Frames of one size in decode order, with their presentation times in seconds.

    ``streamed``: frames are not kept. It is iterated once; :meth:`push` blocks while
    ``STREAM_BUFFER`` frames are unread, and indexing or :meth:`array` is refused.
    :meth:`release` lets a kept sequence's pixels go once no one will read them; its times and
    count stay.
    """

    STREAM_BUFFER = 8
    # A kept sequence's frames are written into blocks of up to this many bytes, each one
    # allocation: past glibc's largest mmap threshold (32 MB) a block is mapped on its own, so
    # release() gives its pages back to the system at once (frame by frame, freed frames stayed in
    # the heap). A block's pages are resident only once written.
    BLOCK_BYTES = 64 << 20

    def __init__(self, width: int, height: int, channels: int, *, streamed: bool = False) -> None:
        self.width, self.height, self.channels = width, height, channels
        self.streamed = streamed
        self._frames: list[np.ndarray | None] = []
        self._read = 0  # streamed: frames handed to the reader (and released)
        self._iterating = False
        self._dropping = False
        self._released = False
        self._blocks: list[np.ndarray] = []
        self._used = 0  # frames written into the last block
        self._times: np.ndarray | None = None
        self._done = False
        self._cond = threading.Condition()

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * self.channels

    @property
    def shape(self) -> tuple[int, ...]:
        """One frame's array shape."""
        return (self.height, self.width) if self.channels == 1 else (self.height, self.width, self.channels)

    def slot(self) -> np.ndarray:
        """A writable array for the next frame, to fill and :meth:`push` (a streamed sequence's
        frames each have their own; a kept one's lie in blocks, see ``BLOCK_BYTES``)."""
        if self.streamed:
            return np.empty(self.shape, dtype=np.uint8)
        with self._cond:
            if not self._blocks or self._used == len(self._blocks[-1]):
                per_block = max(1, self.BLOCK_BYTES // max(self.frame_bytes, 1))
                self._blocks.append(np.empty((per_block, *self.shape), dtype=np.uint8))
                self._used = 0
            self._used += 1
            return self._blocks[-1][self._used - 1]

    def push(self, frame: np.ndarray) -> None:
        with self._cond:
            while self.streamed and not self._dropping and len(self._frames) - self._read >= self.STREAM_BUFFER:
                self._cond.wait()
            self._frames.append(None if self._dropping or self._released else frame)
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
        if self._released:
            self._kept()  # raises: nothing left to read
        if self.streamed:
            with self._cond:
                if self._iterating:
                    raise RuntimeError("a streamed frame sequence is read once, by one reader")
                self._iterating = True
        i = 0
        while True:
            with self._cond:
                while i >= len(self._frames) and not self._done and not self._dropping:
                    self._cond.wait()
                if i >= len(self._frames) or self._dropping:
                    return
                frame = self._frames[i]
                if self.streamed:  # the reader has it now: let it go, and let the decoder on
                    self._frames[i] = None
                    self._read = i + 1
                    self._cond.notify_all()
            yield frame
            i += 1

    def drop(self) -> None:
        """Stop waiting for a reader: a streamed sequence whose reader gave up (an analysis broke)
        must not hold the decoder. Unread frames and later ones are dropped; only counted."""
        with self._cond:
            self._dropping = True
            self._frames = [None] * len(self._frames)
            self._blocks = []
            self._cond.notify_all()

    def release(self) -> None:
        """Let the pixels go (those decoded and those still to come); the times and the count stay."""
        with self._cond:
            self._released = True
            self._frames = [None] * len(self._frames)
            self._blocks = []

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
        self._kept()
        self.wait()
        return self._frames[i]

    def __len__(self) -> int:
        self.wait()
        return len(self._frames)

    def array(self) -> np.ndarray:
        """All frames stacked: (n, height, width) or (n, height, width, channels)."""
        self._kept()
        self.wait()
        if not self._frames:
            return np.zeros((0, *self.shape), dtype=np.uint8)
        return np.stack(self._frames)


    def _kept(self) -> None:
        if self.streamed:
            raise RuntimeError("a streamed frame sequence keeps no frames: iterate it once instead")
        if self._released:
            raise RuntimeError("this frame sequence's pixels were released: its readers were done")


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
