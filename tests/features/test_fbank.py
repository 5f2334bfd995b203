"""fbank: the numpy Kaldi filterbank equals torchaudio's ``kaldi.fbank`` (a reference kept in a file)."""

from pathlib import Path

import numpy as np

from preflight.features.fbank import fbank, frames_in

REFERENCE = Path(__file__).with_name("kaldi_fbank_reference.npz")


def test_it_equals_torchaudios_kaldi_fbank():
    reference = np.load(REFERENCE)
    got = fbank(reference["pcm"].astype(np.float32) / 32768)
    expected = reference["fbank"]
    assert got.shape == expected.shape == (98, 80)
    # float32 arithmetic on both sides: the log energies agree to 1e-5 in most bands
    assert np.abs(got - expected).max() < 1e-3 and np.median(np.abs(got - expected)) < 1e-5


def test_a_window_is_the_slice_of_the_whole():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(16_000).astype(np.float32) * 0.1
    whole = fbank(x)
    # equal to float32 rounding: the matrix product's rounding may depend on how many rows it has
    # (OpenBLAS picks its kernels by the CPU); a frame taken from the wrong samples is off by ~1
    np.testing.assert_allclose(fbank(x[160 * 20 : 160 * 20 + 400 + 160 * 49]), whole[20:70], rtol=0, atol=1e-5)


def test_frames_lie_wholly_inside_the_audio():
    assert [frames_in(n) for n in (0, 399, 400, 559, 560, 16_000)] == [0, 0, 1, 1, 2, 98]
    assert fbank(np.zeros(399, np.float32)).shape == (0, 80)
    silent = fbank(np.zeros(1600, np.float32))
    assert silent.shape == (8, 80) and np.allclose(silent, np.log(np.finfo(np.float32).eps))
