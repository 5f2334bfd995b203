"""Recording level: every clip is brought to one level before the speech and sound models hear it."""

import numpy as np

from conftest import FIXTURES

from preflight.features.level import LEVEL_DBFS, MAX_GAIN_DB, level_gain
from preflight.features.vad import probabilities
from preflight.media import decode, probe
from preflight.media.stream import Audio


def _speech() -> np.ndarray:
    media = decode(probe(FIXTURES / "speech.wav"), sample_fps=1)
    try:
        return media.audio().samples
    finally:
        media.close()


def test_the_loud_frames_are_brought_to_the_reference_level():
    x = _speech()
    for db in (-30.0, -10.0, 0.0):
        y = x * 10 ** (db / 20)
        assert np.isclose(20 * np.log10(level_gain(y) * level_gain(x) ** -1), -db, atol=0.01)
    frames = np.lib.stride_tricks.sliding_window_view(x * level_gain(x), 512)[::256]
    assert np.isclose(10 * np.log10(np.percentile(np.mean(frames.astype(np.float64) ** 2, axis=1), 90)), LEVEL_DBFS)
    assert level_gain(np.zeros(16_000, np.float32)) == 1.0
    faint = x * 1e-4  # -80 dB: raised by the cap, not to the reference
    assert np.isclose(20 * np.log10(level_gain(faint)), MAX_GAIN_DB)


def test_the_speech_probabilities_do_not_depend_on_the_level():
    # 12 dB quieter, a breathy voice's first words scored under 0.15 and the noise check measured
    # them as background: 3.2 dB of SNR for a clean recording
    x = _speech()
    loud, quiet = probabilities(Audio(x)), probabilities(Audio(x * 10 ** (-20 / 20)))
    assert np.abs(loud - quiet).max() < 0.02
