"""Speech activity: Silero VAD v5 (``models/silero_vad.onnx``) through onnxruntime.

The model scores 32 ms windows (512 samples at 16 kHz, each with the 64 samples before it as
context) with a speech probability, carrying a recurrent state from window to window. Windows are
turned into spans the way Silero's own ``get_speech_timestamps`` does: speech starts at a window
above ``threshold``, ends after 100 ms below ``threshold - 0.15``, spans shorter than 250 ms are
dropped and each span is padded by 30 ms.
Reference: Silero Team, "Silero VAD", https://github.com/snakers4/silero-vad (v5, 2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features import onnx
from preflight.features.level import level_gain
from preflight.media import Audio, Media

WINDOW = 512  # samples at 16 kHz = 32 ms
CONTEXT = 64
MIN_SILENCE_S = 0.100
MIN_SPEECH_S = 0.250
PAD_S = 0.030


@dataclass(frozen=True)
class SpeechActivity:
    probabilities: np.ndarray  # one per 32 ms window of the whole audio
    spans: list[tuple[float, float]]  # speech, seconds from the audio's start
    duration: float  # of the audio (or of the stretch :meth:`within` kept), seconds
    start: float = 0.0  # where that stretch starts, seconds

    @property
    def speech_seconds(self) -> float:
        return sum(end - start for start, end in self.spans)

    @property
    def ratio(self) -> float:
        return self.speech_seconds / self.duration if self.duration else 0.0

    def gaps(self, at_least: float = 0.0) -> list[tuple[float, float]]:
        """The stretches without speech, at least ``at_least`` seconds long."""
        edges = [self.start] + [t for span in self.spans for t in span] + [self.start + self.duration]
        pairs = zip(edges[0::2], edges[1::2])
        return [(a, b) for a, b in pairs if b - a >= max(at_least, 1e-9)]

    def within(self, start: float, end: float) -> SpeechActivity:
        """The stretch from ``start`` to ``end`` s (within the audio): its spans, times unchanged."""
        a, b = max(start, self.start), min(end, self.start + self.duration)
        if a <= self.start and b >= self.start + self.duration:
            return self
        spans = [(max(s, a), min(e, b)) for s, e in self.spans if e > a and s < b]
        return SpeechActivity(self.probabilities, spans, max(0.0, b - a), a)


def speech_activity(media: Media, threshold: float) -> SpeechActivity | None:
    """The speech spans of ``media``'s audio (None without audio), computed once per source."""
    audio = media.audio()
    if audio is None:
        return None
    return media.shared(f"vad:{threshold}", lambda: detect(audio, threshold))


def detect(audio: Audio, threshold: float) -> SpeechActivity:
    probs = probabilities(audio)
    return SpeechActivity(probs, _spans(probs, threshold, audio.duration), audio.duration)


def probabilities(audio: Audio) -> np.ndarray:
    """The speech probability of each 32 ms window, of the audio brought to one level: unlevelled
    and 12 dB quieter, a breathy voice's first words score under 0.15 and count as background."""
    model = onnx.session("silero_vad.onnx")
    x = np.clip(audio.samples * level_gain(audio.samples), -1.0, 1.0).astype(np.float32)
    n = len(x) // WINDOW
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.concatenate([np.zeros(CONTEXT, np.float32), x[: n * WINDOW]])
    state = np.zeros((2, 1, 128), dtype=np.float32)
    sr = np.array(audio.rate, dtype=np.int64)
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        chunk = padded[i * WINDOW : i * WINDOW + CONTEXT + WINDOW][None, :]
        prob, state = model.run(None, {"input": chunk, "state": state, "sr": sr})
        out[i] = prob[0, 0]
    return out


def _spans(probs: np.ndarray, threshold: float, duration: float) -> list[tuple[float, float]]:
    step = WINDOW / 16_000
    low = max(threshold - 0.15, 0.01)
    spans: list[list[float]] = []
    start = None
    silent_since = None
    for i, p in enumerate(probs):
        t = i * step
        if start is None:
            if p >= threshold:
                start, silent_since = t, None
        elif p < low:
            silent_since = t if silent_since is None else silent_since
            if t + step - silent_since >= MIN_SILENCE_S:
                spans.append([start, silent_since])
                start, silent_since = None, None
        else:
            silent_since = None
    if start is not None:
        spans.append([start, len(probs) * step])
    kept = [[max(0.0, a - PAD_S), min(duration, b + PAD_S)] for a, b in spans if b - a >= MIN_SPEECH_S]
    merged: list[list[float]] = []
    for a, b in kept:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(round(a, 3), round(b, 3)) for a, b in merged]
