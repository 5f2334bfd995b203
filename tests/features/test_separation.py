"""separation: the powers add up (mix = kept speech + what is left, within the network's overlap),
and what is left of noise under speech is the noise's level."""

import subprocess

import numpy as np
from conftest import FIXTURES

from preflight.features.separation import HOP, separate
from preflight.media import Audio


def _speech() -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(FIXTURES / "speech.wav"), "-f", "f32le", "-ac", "1",
                          "-ar", "16000", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32).copy()


def test_the_mix_power_is_the_signals_mean_square():
    x = (np.random.default_rng(1).standard_normal(32_000) * 0.1).astype(np.float32)
    s = separate(Audio(x))
    assert len(s.mix) == 1 + len(x) // HOP
    assert abs(s.mix[2:-2].mean() / np.mean(x.astype(np.float64) ** 2) - 1) < 0.02


def test_what_is_left_of_steady_noise_under_speech_is_the_noise():
    speech = _speech()
    noise = (np.random.default_rng(2).standard_normal(len(speech)) * 0.03).astype(np.float32)
    s = separate(Audio(speech + noise))
    left = 10 * np.log10(s.rest.mean() / np.mean(noise.astype(np.float64) ** 2))
    assert abs(left) < 2.0  # dB
    # without the noise, little is left: what the network loses of espeak's synthetic voice
    clean = separate(Audio(speech))
    assert clean.rest.mean() < 0.2 * s.rest.mean() and clean.rest.mean() < 0.05 * clean.mix.mean()


def test_a_long_recording_in_pieces_is_separated_as_a_whole():
    import preflight.features.separation as separation

    speech = _speech()
    noise = (np.random.default_rng(4).standard_normal(4 * len(speech)) * 0.01).astype(np.float32)
    x = np.tile(speech, 4) + noise
    whole = separate(Audio(x))
    chunk, warm = separation.CHUNK, separation.WARM
    try:
        separation.CHUNK, separation.WARM = 400, 63
        pieces = separate(Audio(x))
    finally:
        separation.CHUNK, separation.WARM = chunk, warm
    assert len(whole.rest) > 1000 and abs(pieces.rest.mean() / whole.rest.mean() - 1) < 0.02
