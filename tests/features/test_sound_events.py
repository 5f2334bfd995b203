"""The audio event detector hears a clip the same at any recording level."""

import numpy as np

from conftest import FIXTURES

from preflight.features.sound_events import detect
from preflight.media.stream import Audio


def _chords(seconds: float = 4.0, rate: int = 16_000) -> np.ndarray:
    """A chord that changes every half second over a faint hiss: music to the detector."""
    t = np.arange(int(seconds * rate)) / rate
    roots = 220.0 * 2 ** (np.array([0, 4, 7, 5, 9, 7, 4, 0]) / 12)
    root = roots[(t * 2).astype(int) % len(roots)]
    x = sum(np.sin(2 * np.pi * root * k * t) / k for k in (1, 1.25, 1.5, 2))
    return (0.1 * x + 0.001 * np.random.default_rng(1).standard_normal(len(t))).astype(np.float32)


def test_the_probabilities_do_not_depend_on_the_level():
    # the detector's probabilities fall with the level (a music bed 4 dB quieter is heard for less
    # of the clip): the input is levelled first, so 12 dB quieter must read the same
    from preflight.media import decode, probe

    media = decode(probe(FIXTURES / "speech.wav"), sample_fps=1)
    speech = media.audio().samples
    media.close()
    chords = _chords(len(speech) / 16_000)[: len(speech)]
    x = (speech + 0.05 * chords * np.sqrt(np.mean(speech**2) / np.mean(chords**2))).astype(np.float32)
    loud, quiet = detect(Audio(x)), detect(Audio(x * 10 ** (-12 / 20)))
    assert 0.3 < loud.music.mean() < 0.95  # music the detector is unsure of: where level mattered
    assert np.abs(loud.music - quiet.music).max() < 0.05
    assert np.abs(loud.singing - quiet.singing).max() < 0.05
