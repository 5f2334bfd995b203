"""tags: the numpy log-mel front end is the authors' (EfficientAT's AugmentMelSTFT, eval mode), and
16 kHz audio is brought to the tagger's 32 kHz without changing what it holds."""

from pathlib import Path

import numpy as np

from preflight.features.kaldi_mel import N_MELS, RATE, log_mel, mel_filters
from preflight.features.kaldi_mel import test_signal as authors_signal  # not collected as a test
from preflight.features.tags import labels, upsample

REFERENCE = Path(__file__).parent / "efficientat_mel_reference.npz"


def test_the_front_end_matches_the_authors_on_the_test_signal():
    # the reference was computed by their torch code (scripts/export_efficientat.py)
    reference = np.load(REFERENCE)["mel"]
    ours = log_mel(authors_signal())
    assert ours.shape == reference.shape == (N_MELS, 1 + (len(authors_signal()) - 1) // 320)
    assert np.abs(ours - reference).max() < 1e-3


def test_kaldi_triangles_cover_0_to_15_khz_and_leave_out_nyquist():
    w = mel_filters()
    assert w.shape == (N_MELS, 513) and not w[:, -1].any()
    peaks = np.argmax(w, axis=1) * RATE / 1024
    assert peaks[0] < 100 and 14_000 < peaks[-1] < 15_000 and np.all(np.diff(peaks) >= 0)


def test_upsampling_keeps_a_tones_frequency_and_power():
    t = np.arange(16_000) / 16_000
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    y = upsample(x, 16_000)
    assert len(y) == 32_000
    assert abs(np.mean(y.astype(np.float64) ** 2) - np.mean(x.astype(np.float64) ** 2)) < 1e-4
    assert np.argmax(np.abs(np.fft.rfft(y))) == 1000  # 1 Hz bins over 1 s


def test_the_labels_are_audiosets_527_in_order():
    names = labels()
    assert len(names) == 527 and names[0] == "Speech" and names[137] == "Music"
