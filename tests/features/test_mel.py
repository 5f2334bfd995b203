"""The numpy mel front end matches librosa's melspectrogram, which the voice encoder was trained on."""

import librosa
import numpy as np
import pytest

from preflight.features.mel import mel_filters, mel_power


def test_filters_match_librosa():
    ours = mel_filters(16_000, 400, 40)
    theirs = librosa.filters.mel(sr=16_000, n_fft=400, n_mels=40)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("seconds", [0.3, 2.0, 7.31])
def test_spectrogram_matches_librosa(seconds):
    rng = np.random.default_rng(5)
    t = np.arange(int(16_000 * seconds)) / 16_000
    x = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    ours = mel_power(x, 16_000, n_fft=400, hop=160, n_mels=40)
    theirs = librosa.feature.melspectrogram(y=x, sr=16_000, n_fft=400, hop_length=160, n_mels=40)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4 * theirs.max())
