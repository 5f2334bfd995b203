"""How intrusive the background sounds to a listener: DNSMOS P.835's background score (BAK).

DNSMOS (Reddy et al., "DNSMOS P.835: A Non-Intrusive Perceptual Objective Speech Quality
Metric to Evaluate Noise Suppressors", ICASSP 2022; Microsoft, MIT; ``models/dnsmos_sig_bak_ovr.onnx``
from PyPI ``speechmos==0.0.1.1``) is a network trained on listeners' ratings: from 9.01 s of
16 kHz audio it predicts the speech signal's, the background's and the overall quality on a 1-5
scale (mapped by the authors' polynomial). BAK is 5 for an unnoticeable background and 1 for a
very intrusive one. It hears what an energy SNR cannot: a background that comes in bursts (a
party crowd, voices, laughter) and leaves quiet gaps. One segment is scored: the middle 9 s
(a shorter clip is repeated to length, as the authors do).
"""

from __future__ import annotations

import numpy as np

from preflight.features import onnx
from preflight.media import Audio, Media

SEGMENT = 144_160  # 9.01 s at 16 kHz
_BAK = np.poly1d([-0.13166888, 1.60915514, -0.39604546])


def background_score(media: Media) -> float | None:
    """DNSMOS's background score (1-5) of ``media``'s audio (None without audio); computed once."""
    audio = media.audio()
    if audio is None:
        return None
    return media.shared("dnsmos_bak", lambda: score(audio))


def score(audio: Audio) -> float:
    x = np.clip(audio.samples, -1.0, 1.0).astype(np.float32)
    if len(x) == 0:
        return float("nan")
    while len(x) < SEGMENT:
        x = np.concatenate([x, x])
    start = (len(x) - SEGMENT) // 2
    raw = onnx.run_once("dnsmos_sig_bak_ovr.onnx", {"input_1": x[None, start : start + SEGMENT]})[0][0]
    return float(_BAK(raw[1]))
