"""What a clip sounds like, as AudioSet's 527 classes: EfficientAT mn04 (``models/efficientat_mn04.onnx``).

EfficientAT (Schmid et al., "Efficient Large-Scale Audio Tagging via Transformer-to-CNN
Knowledge Distillation", ICASSP 2023; MIT; converted by ``scripts/export_efficientat.py``) is a
MobileNetV3 of 0.98 M parameters trained on AudioSet (mAP 0.432): from the log-mel of 32 kHz
audio (:mod:`preflight.features.kaldi_mel`) it gives, for the whole clip, the probability of
each class: Speech, Music and its instruments and genres, Rain, Wind, Crowd, Traffic, Typing...
The decoded audio is 16 kHz, so it is brought to 32 kHz (band-limited, nothing above 8 kHz);
the tagger was measured that way (``eval/README.md``).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

import numpy as np

from preflight.assets import model_path
from preflight.features import onnx
from preflight.features.kaldi_mel import RATE, log_mel
from preflight.media import Audio, Media

MUSIC = "Music"
MIN_SECONDS = 1.0  # a shorter clip is not tagged


@dataclass(frozen=True)
class Tags:
    """The clip's probability (0-1) of every AudioSet class, in the order of :func:`labels`."""

    probabilities: np.ndarray

    def of(self, label: str) -> float:
        return float(self.probabilities[labels().index(label)])

    def top(self, among: frozenset[str] | None = None, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` likeliest classes (of those in ``among``, if given), with their probabilities."""
        names = labels()
        order = [i for i in np.argsort(self.probabilities)[::-1] if among is None or names[i] in among]
        return [(names[i], float(self.probabilities[i])) for i in order[:n]]


def tags(media: Media) -> Tags | None:
    """The tags of ``media``'s audio (None without audio, or under a second of it); computed once."""
    audio = media.audio()
    if audio is None or audio.duration < MIN_SECONDS:
        return None
    return media.shared("tags", lambda: tag(audio))


def tag(audio: Audio) -> Tags:
    x = upsample(np.clip(audio.samples, -1.0, 1.0), audio.rate)
    mel = log_mel(x)[None, None]
    return Tags(onnx.run_once("efficientat_mn04.onnx", {"mel": mel})[0][0].astype(np.float64))


def upsample(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` at ``rate`` Hz brought to 32 kHz by zero-padding its spectrum (band-limited)."""
    if rate == RATE or len(x) == 0:
        return x.astype(np.float32)
    n = int(round(len(x) * RATE / rate))
    spectrum = np.fft.rfft(x.astype(np.float64))
    padded = np.zeros(n // 2 + 1, dtype=complex)
    keep = min(len(spectrum), len(padded))
    padded[:keep] = spectrum[:keep]
    return (np.fft.irfft(padded, n=n) * (n / len(x))).astype(np.float32)


@functools.cache
def labels() -> list[str]:
    """AudioSet's class names, in the tagger's output order (``models/audioset_class_labels.csv``)."""
    with model_path("audioset_class_labels.csv").open(newline="") as f:
        return [row["display_name"] for row in csv.DictReader(f)]
