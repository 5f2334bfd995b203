"""EfficientAT's log-mel front end in numpy: what its authors' ``AugmentMelSTFT`` computes in eval
mode (``models/preprocess.py`` of github.com/fschmid56/EfficientAT), without torch.

32 kHz audio, pre-emphasis (y[n] = x[n+1] - 0.97 x[n]), a 1024-point STFT every 320 samples
(10 ms) over an 800-sample symmetric Hann window centred in the frame, frames centred with
reflected edges; power; Kaldi's 128-band mel filter bank from 0 to 15 kHz (mel = 1127 ln(1 +
f / 700), triangles in mel, the Nyquist bin left out); ln(x + 1e-5), then (x + 4.5) / 5.
``scripts/export_efficientat.py`` checks it against the authors' torch code and
``tests/features/test_tags.py`` holds it to that reference.
"""

from __future__ import annotations

import functools

import numpy as np

RATE = 32_000
N_FFT, HOP, WIN, N_MELS = 1024, 320, 800, 128
F_MAX = 15_000.0  # the authors' default: half the rate less half their 2 kHz augmentation range


@functools.cache
def mel_filters() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) Kaldi triangles, equally spaced in Kaldi's mel scale."""
    def mel(f: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    low, high = mel(0.0), mel(F_MAX)
    step = (high - low) / (N_MELS + 1)
    bins = mel(RATE / N_FFT * np.arange(N_FFT // 2))
    left = low + step * np.arange(N_MELS)[:, None]
    up = (bins[None, :] - left) / step
    down = (left + 2 * step - bins[None, :]) / step
    weights = np.zeros((N_MELS, N_FFT // 2 + 1))
    weights[:, :-1] = np.maximum(0.0, np.minimum(up, down))
    return weights.astype(np.float32)


@functools.cache
def _window() -> np.ndarray:
    w = np.zeros(N_FFT, dtype=np.float32)
    start = (N_FFT - WIN) // 2
    w[start : start + WIN] = np.hanning(WIN)
    return w


def log_mel(x: np.ndarray) -> np.ndarray:
    """(N_MELS, frames) log-mel of 32 kHz samples ``x``, frame ``i`` centred on sample ``i * HOP``."""
    x = np.asarray(x, dtype=np.float32)
    y = x[1:] - np.float32(0.97) * x[:-1]
    if len(y) <= N_FFT // 2:
        return np.zeros((N_MELS, 0), dtype=np.float32)
    y = np.pad(y, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(y, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _window(), axis=1)) ** 2
    mel = mel_filters() @ power.T.astype(np.float32)
    return ((np.log(mel + 1e-5) + 4.5) / 5.0).astype(np.float32)


def test_signal() -> np.ndarray:
    """1.5 s at 32 kHz the front end is checked on: tones, a chirp and seeded noise."""
    t = np.arange(int(1.5 * RATE)) / RATE
    rng = np.random.default_rng(33)
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * (200 + 3000 * t) * t)
    return (x + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
