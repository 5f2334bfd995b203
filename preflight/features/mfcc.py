"""MFCCs as ``python_speech_features.mfcc`` computes them (its defaults), in numpy: the front end
Light-ASD was trained on (:mod:`preflight.features.sync`).

13 coefficients every 10 ms over 25 ms frames: pre-emphasis 0.97, a rectangular window, a
512-point power spectrum, 26 triangular mel filters from 0 to 8 kHz, the log, a type-II DCT
(orthonormal), a sinusoidal lifter of 22, and the first coefficient replaced by the log of the
frame's energy. Samples are on the 16-bit scale (-32768..32767), as the authors read WAV files.
Reference: J. Lyons, python_speech_features 0.6, https://github.com/jameslyons/python_speech_features.
"""

from __future__ import annotations

import functools

import numpy as np

RATE = 16_000
FRAME, HOP, NFFT, FILTERS, COEFFS = 400, 160, 512, 26, 13
PREEMPH, LIFTER = 0.97, 22
_EPS = np.finfo(float).eps


def mfcc(samples: np.ndarray) -> np.ndarray:
    """(frames, 13) MFCCs of 16 kHz mono float samples in [-1, 1]; one frame per 10 ms."""
    x = np.asarray(samples, dtype=np.float64) * 32768.0
    if len(x) == 0:
        return np.zeros((0, COEFFS))
    x = np.append(x[0], x[1:] - PREEMPH * x[:-1])
    count = 1 if len(x) <= FRAME else 1 + int(np.ceil((len(x) - FRAME) / HOP))
    x = np.concatenate([x, np.zeros((count - 1) * HOP + FRAME - len(x))])
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME)[::HOP][:count]
    power = np.abs(np.fft.rfft(frames, NFFT)) ** 2 / NFFT
    energy = np.where(power.sum(axis=1) == 0, _EPS, power.sum(axis=1))
    bands = power @ _filterbank().T
    cepstra = np.log(np.where(bands == 0, _EPS, bands)) @ _dct().T
    cepstra *= 1 + (LIFTER / 2) * np.sin(np.pi * np.arange(COEFFS) / LIFTER)
    cepstra[:, 0] = np.log(energy)
    return cepstra


@functools.cache
def _filterbank() -> np.ndarray:
    def mel(hz):
        return 2595 * np.log10(1 + hz / 700.0)

    points = 700 * (10 ** (np.linspace(mel(0), mel(RATE / 2), FILTERS + 2) / 2595) - 1)
    bins = np.floor((NFFT + 1) * points / RATE).astype(int)
    bank = np.zeros((FILTERS, NFFT // 2 + 1))
    for j in range(FILTERS):
        for i in range(bins[j], bins[j + 1]):
            bank[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(bins[j + 1], bins[j + 2]):
            bank[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    return bank


@functools.cache
def _dct() -> np.ndarray:
    """The first 13 rows of the orthonormal type-II DCT of 26 points."""
    n = np.arange(FILTERS)
    basis = np.cos(np.pi * np.arange(COEFFS)[:, None] * (2 * n[None, :] + 1) / (2 * FILTERS))
    scale = np.full(COEFFS, np.sqrt(2.0 / FILTERS))
    scale[0] = np.sqrt(1.0 / FILTERS)
    return basis * scale[:, None]
