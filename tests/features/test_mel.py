"""The numpy mel front end matches librosa's melspectrogram, which the voice encoder was trained on.

librosa's outputs are computed by the installed librosa in fixtures/make_fixtures.py
(``mel_librosa.npz``): its import and JIT cost about 19 s, which every test run paid here.
"""

import hashlib
import importlib.util

import numpy as np
import pytest

from conftest import ROOT
from preflight.features.mel import mel_filters, mel_power

_spec = importlib.util.spec_from_file_location("make_fixtures", ROOT / "fixtures" / "make_fixtures.py")
make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_fixtures)


@pytest.fixture(scope="module")
def librosa_ref(fixture_path):
    with np.load(fixture_path("mel_librosa.npz")) as found:
        return dict(found)


def test_filters_match_librosa(librosa_ref):
    ours = mel_filters(16_000, 400, 40)
    theirs = librosa_ref["filters"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("seconds", make_fixtures.MEL_SECONDS)
def test_spectrogram_matches_librosa(seconds, librosa_ref):
    x = make_fixtures.mel_signal(seconds)
    # the very signal librosa was given when the fixture was made
    assert hashlib.sha256(x.tobytes()).hexdigest() == str(librosa_ref[f"signal_sha256_{seconds}"])
    ours = mel_power(x, 16_000, n_fft=400, hop=160, n_mels=40)
    theirs = librosa_ref[f"mel_{seconds}"]
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4 * theirs.max())
