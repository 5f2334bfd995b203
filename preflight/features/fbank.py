"""Kaldi's log mel filterbank in numpy: what ``torchaudio.compliance.kaldi.fbank`` computes with
``dither=0`` and its other defaults, the front end the CAM++ speaker encoder was trained on.

Per 25 ms frame every 10 ms (``snip_edges``: frames lie wholly inside the audio, the first
starting at sample 0): the frame's mean removed, pre-emphasis 0.97 (the first sample against
itself), Povey's window (a symmetric Hann window to the power 0.85), zero-padded to 512 samples,
the power spectrum through triangular filters equally spaced on Kaldi's mel scale
(1127 ln(1 + f / 700)) from 20 Hz to the Nyquist frequency, and the natural log, floored at
float32's epsilon. Every frame depends on its own samples only, so a window's fbank is the slice
of the whole audio's (to float32 rounding). ``tests/features/test_fbank.py`` holds it to torchaudio's output, kept in
``tests/features/kaldi_fbank_reference.npz`` (made by ``scripts/make_fbank_reference.py``).
Reference: Povey et al., "The Kaldi Speech Recognition Toolkit", ASRU 2011 (``feat/feature-fbank.cc``).
"""

from __future__ import annotations

import functools

import numpy as np

FRAME = 400  # samples at 16 kHz: 25 ms
SHIFT = 160  # 10 ms
_FFT = 512
_EPS = float(np.finfo(np.float32).eps)


def _mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


@functools.cache
def mel_banks(bins: int, rate: int, low_hz: float = 20.0) -> np.ndarray:
    """(bins, 257) triangles over the 512-point spectrum; the Nyquist bin gets no weight, as in Kaldi."""
    fft_bins = _FFT // 2
    mel_low, mel_high = _mel(low_hz), _mel(rate / 2)
    delta = (mel_high - mel_low) / (bins + 1)
    left = mel_low + np.arange(bins)[:, None] * delta
    centre, right = left + delta, left + 2 * delta
    mel = _mel(rate / _FFT * np.arange(fft_bins))[None, :]
    up = (mel - left) / (centre - left)
    down = (right - mel) / (right - centre)
    weights = np.maximum(0.0, np.minimum(up, down))
    return np.pad(weights, ((0, 0), (0, 1))).astype(np.float32)


@functools.cache
def _povey() -> np.ndarray:
    n = np.arange(FRAME)
    return ((0.5 - 0.5 * np.cos(2 * np.pi * n / (FRAME - 1))) ** 0.85).astype(np.float32)


def frames_in(samples: int) -> int:
    """How many frames ``samples`` samples give (none under 25 ms)."""
    return 0 if samples < FRAME else 1 + (samples - FRAME) // SHIFT


def fbank(samples: np.ndarray, rate: int = 16_000, bins: int = 80) -> np.ndarray:
    """Log mel filterbank energies, (frames, bins) float32; frame ``i`` covers samples ``[160 i, 160 i + 400)``."""
    x = np.asarray(samples, dtype=np.float32)
    n = frames_in(len(x))
    if n == 0:
        return np.zeros((0, bins), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME)[::SHIFT][:n].astype(np.float32)
    frames = frames - frames.mean(axis=1, keepdims=True)
    emphasised = np.empty_like(frames)
    emphasised[:, 1:] = frames[:, 1:] - 0.97 * frames[:, :-1]
    emphasised[:, 0] = frames[:, 0] - 0.97 * frames[:, 0]
    spectrum = np.fft.rfft(emphasised * _povey(), n=_FFT, axis=1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    energies = power @ mel_banks(bins, rate).T
    return np.log(np.maximum(energies, _EPS)).astype(np.float32)
