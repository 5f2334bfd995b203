"""Loudness as ITU-R BS.1770-4 and EBU R128 define it, from the decoded audio: K-weighting, then
the mean square of every 100 ms step, summed over the channels (weight 1 each: surround weights
are not applied). From the steps: the integrated loudness over a window (400 ms blocks every
100 ms, gated at -70 LUFS and 10 LU under the ungated level) and the short-term maximum (3 s
windows every 100 ms). The K-weighting's two biquads are designed for the decode's sample rate
from the standard's analogue prototype; they reproduce its 48 kHz coefficients. The decode is
16 kHz, so sound above 8 kHz is not counted (ffmpeg's ebur128 filter on the original reads up to
0.7 LU louder where there is much of it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from preflight.media import Audio

STEP_S = 0.1  # the standard's block hop (75 % overlap of 400 ms blocks) and short-term update
BLOCK_STEPS, SHORT_TERM_STEPS = 4, 30  # 400 ms momentary blocks, 3 s short-term windows
ABSOLUTE_GATE_LUFS, RELATIVE_GATE_LU = -70.0, -10.0
SILENT_LUFS = -70.0  # what a window whose every block is under the absolute gate reports
_OFFSET = -0.691  # the standard's constant: a 997 Hz sine at full scale reads -3.01 LUFS
_FFT = 1 << 20  # the longest FFT: a 10 minute recording at 16 kHz is ten of them


@dataclass(frozen=True)
class Loudness:
    """K-weighted power of every 100 ms step (summed over the channels), from 0 s."""

    steps: np.ndarray  # float64, one a step

    def integrated(self, start: float, end: float) -> float:
        """The gated integrated loudness (LUFS) of ``[start, end]``; SILENT_LUFS when nothing passes the gate."""
        blocks = self._means(start, end, BLOCK_STEPS)
        loud = blocks[_lufs(blocks) > ABSOLUTE_GATE_LUFS]
        if not loud.size:
            return SILENT_LUFS
        kept = loud[_lufs(loud) > _lufs(np.mean(loud)) + RELATIVE_GATE_LU]
        return float(_lufs(np.mean(kept)))

    def short_term_max(self, start: float, end: float) -> float:
        """The loudest 3 s (LUFS) of ``[start, end]``; a shorter window is one whole."""
        windows = self._means(start, end, SHORT_TERM_STEPS)
        return max(SILENT_LUFS, float(_lufs(windows.max()))) if windows.size else SILENT_LUFS

    def _means(self, start: float, end: float, size: int) -> np.ndarray:
        """Mean power of every run of ``size`` steps within the window, a step apart."""
        first, last = math.ceil(start / STEP_S - 1e-6), math.floor(end / STEP_S + 1e-6)
        steps = self.steps[max(first, 0):max(last, 0)]
        if len(steps) < size:
            return np.array([steps.mean()]) if len(steps) else np.array([])
        sums = np.concatenate([[0.0], np.cumsum(steps)])
        return (sums[size:] - sums[:-size]) / size


def loudness(audio: Audio) -> Loudness:
    """The K-weighted power of ``audio``'s channels (its mix when mono), step by step."""
    channels = audio.channels if audio.channels is not None else audio.samples[np.newaxis]
    hop = round(STEP_S * audio.rate)
    n = channels.shape[1] // hop
    power = np.zeros(n)
    for channel in channels:
        weighted = k_weighted(channel[: n * hop], audio.rate)
        power += np.mean((weighted * weighted).reshape(n, hop), axis=1)
    return Loudness(power)


def k_weighted(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` through the K-weighting filter (the causal IIR, applied by FFT a chunk at a
    time: each chunk starts a second early, by when the filter has forgotten what came before)."""
    warm = rate
    chunk = _FFT - 2 * warm  # a second before it and a second of tail: one FFT of _FFT samples
    out = np.empty(len(samples))
    for start in range(0, len(samples), chunk):
        lead = min(warm, start)
        piece = samples[start - lead:start + chunk].astype(np.float64)
        size = 1 << math.ceil(math.log2(len(piece) + warm))  # room for the filter's tail: no wrap-around
        z = np.exp(-2j * np.pi * np.arange(size // 2 + 1) / size)  # z^-1 on the unit circle
        response = np.ones_like(z)
        for b, a in k_filter(rate):
            response *= (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
        filtered = np.fft.irfft(np.fft.rfft(piece, size) * response, size)
        out[start:start + chunk] = filtered[lead:len(piece)]
    return out


def k_filter(rate: int) -> list[tuple[tuple[float, float, float], tuple[float, float, float]]]:
    """The two biquads (b, a) of the K-weighting at ``rate``: a high shelf (+4 dB above about
    1.7 kHz, the head's effect) and a high-pass at 38 Hz (the RLB curve)."""
    shelf_hz, gain_db, shelf_q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * shelf_hz / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / shelf_q + k * k
    shelf = ((vh + vb * k / shelf_q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / shelf_q + k * k) / a0), \
        (1.0, 2 * (k * k - 1) / a0, (1 - k / shelf_q + k * k) / a0)
    pass_hz, pass_q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * pass_hz / rate)
    a0 = 1 + k / pass_q + k * k
    high_pass = (1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / pass_q + k * k) / a0)
    return [shelf, high_pass]


def _lufs(power: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return _OFFSET + 10 * np.log10(power)
