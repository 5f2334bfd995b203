"""The voice and the background apart, per 16 ms: GTCRN, a speech enhancement network
(``models/gtcrn_dns3.onnx``), run over the whole clip.

GTCRN (Rong et al., "GTCRN: A Speech Enhancement Model Requiring Ultralow Computational
Resources", ICASSP 2024; MIT; DNS Challenge 3 weights, converted by ``scripts/export_gtcrn.py``)
takes the complex STFT of 16 kHz audio (512-point square-root Hann frames, 256 hop, centred with
reflected edges, as its authors' ``infer.py``) and returns the STFT of the speech in it. What is
left, the mix minus that speech, is the background the network heard: rain, wind, traffic, a
crowd, clatter, typing, and with it whatever of the voice it could not keep (a few per cent of
the voice's power in a clean recording, more in an echoing room). 48 K parameters, about 33 M
multiply-adds a second of audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features import onnx
from preflight.features.level import level_gain
from preflight.media import Audio, Media

N_FFT, HOP = 512, 256  # at 16 kHz: 32 ms frames, 16 ms hop
# A long recording (``preflight fix`` reads up to 10 minutes) goes through the network in pieces
# of 20 s, each after 1 s of the audio before it to settle its recurrent state: its activations
# for 10 minutes at once would take about a gigabyte.
CHUNK, WARM = 1250, 63  # frames
_WINDOW = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


@dataclass(frozen=True)
class Separation:
    """Powers (mean square, as a frame of samples would give) per 16 ms frame; frame ``i`` is
    centred on sample ``i * HOP``."""

    mix: np.ndarray
    speech: np.ndarray  # of the speech the network kept
    rest: np.ndarray  # of the mix minus that speech: the background, and what of the voice it lost


def separation(media: Media) -> Separation | None:
    """The separated powers of ``media``'s audio (None without audio); computed once per source."""
    audio = media.audio()
    if audio is None:
        return None
    return media.shared("separation", lambda: separate(audio))


def separate(audio: Audio) -> Separation:
    """The audio is brought to one level first (:mod:`preflight.features.level`): the network
    keeps less of a voice 20 dB quieter; the powers returned are of the audio as it was."""
    x = np.clip(audio.samples, -1.0, 1.0).astype(np.float32)
    if len(x) <= N_FFT // 2:
        empty = np.zeros(0)
        return Separation(empty, empty, empty)
    gain = level_gain(x)
    spec = stft(x * np.float32(gain))
    pair = np.stack([spec.real, spec.imag], axis=-1)[None].astype(np.float32)  # (1, 257, frames, 2)
    starts = range(0, pair.shape[2], CHUNK)
    firsts = [max(0, start - WARM) for start in starts]
    chunks = ({"spec": pair[:, :, first : start + CHUNK]} for start, first in zip(starts, firsts))
    outs = onnx.run_all("gtcrn_dns3.onnx", chunks)
    out = np.concatenate([o[0][0][:, start - first :] for o, start, first in zip(outs, starts, firsts)], axis=1)
    speech = out[..., 0] + 1j * out[..., 1]
    scale = 1.0 / gain**2
    return Separation(_power(spec) * scale, _power(speech) * scale, _power(spec - speech) * scale)


def stft(x: np.ndarray) -> np.ndarray:
    """(257, frames) complex STFT: frames centred on every HOP-th sample, the edges reflected."""
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    return np.fft.rfft(frames * _WINDOW, axis=1).T


def _power(spec: np.ndarray) -> np.ndarray:
    """Per frame, the mean square of the windowed samples the spectrum stands for (Parseval;
    the square-root Hann window's energy is N_FFT / 2)."""
    p = np.abs(spec) ** 2
    energy = p[0] + p[-1] + 2 * p[1:-1].sum(axis=0)
    return (energy / N_FFT / (N_FFT / 2)).astype(np.float64)
