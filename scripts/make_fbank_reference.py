"""Write tests/features/kaldi_fbank_reference.npz: a test signal and torchaudio's Kaldi fbank of it.
Run once, by hand; the test holds preflight.features.fbank to it.

torchaudio's ``compliance/kaldi.py`` is the front end CAM++ was trained with (3D-Speaker calls
``torchaudio.compliance.kaldi.fbank(wav, num_mel_bins=80, sample_frequency=16000, dither=0)``).
torchaudio wheels pin the torch they were built against, and its compiled library does not load
beside torch 2.13, so the file is taken out of the wheel and run alone: its ``fbank`` uses only
torch (the one ``torchaudio.`` call in it is the MFCC's DCT)::

    pip download --no-deps -d wheels/ torchaudio==2.9.1
    /tmp/export/bin/pip install torch==2.13.0 numpy kaldi-native-fbank   # the second reference is optional
    /tmp/export/bin/python scripts/make_fbank_reference.py wheels/

The signal (16-bit, 1 s at 16 kHz, seeded): a chirp in noise, digital silence (the log floor),
and a voiced vowel-like tone with vibrato at a low level. It prints how far
kaldi-native-fbank (the C++ port of Kaldi's own code) and preflight's numpy version are from it.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "features" / "kaldi_fbank_reference.npz"
WHEEL = "torchaudio-2.9.1-cp311-cp311-manylinux_2_28_x86_64.whl"


def signal() -> np.ndarray:
    rng = np.random.default_rng(31)
    rate = 16_000
    t = np.arange(int(0.3 * rate)) / rate
    chirp = 0.4 * np.sin(2 * np.pi * (200 * t + 6000 * t**2)) + 0.05 * rng.standard_normal(len(t))
    silence = np.zeros(int(0.2 * rate))
    t = np.arange(int(0.5 * rate)) / rate
    f0 = 140 + 8 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    vowel = sum(0.02 / k * np.sin(k * phase) * (1 + (k in (4, 5, 12))) for k in range(1, 30))
    x = np.concatenate([chirp, silence, vowel + 0.002 * rng.standard_normal(len(t))])
    return np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)


def torchaudio_kaldi(wheels: Path, tmp: Path) -> types.ModuleType:
    with zipfile.ZipFile(wheels / WHEEL) as z:
        z.extract("torchaudio/compliance/kaldi.py", tmp)
    sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    spec = importlib.util.spec_from_file_location("kaldi", tmp / "torchaudio/compliance/kaldi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    wheels = Path(sys.argv[1])
    pcm = signal()
    x = pcm.astype(np.float32) / 32768
    with tempfile.TemporaryDirectory() as tmp:
        kaldi = torchaudio_kaldi(wheels, Path(tmp))
        expected = kaldi.fbank(torch.from_numpy(x)[None], num_mel_bins=80, sample_frequency=16000, dither=0.0).numpy()
    np.savez_compressed(OUT, pcm=pcm, fbank=expected.astype(np.float32))
    print(f"{OUT}: {expected.shape[0]} frames x {expected.shape[1]} bands")
    try:
        import kaldi_native_fbank as knf

        opts = knf.FbankOptions()
        opts.frame_opts.dither = 0
        opts.mel_opts.num_bins = 80
        extractor = knf.OnlineFbank(opts)
        extractor.accept_waveform(16000, x.tolist())
        extractor.input_finished()
        native = np.stack([extractor.get_frame(i) for i in range(extractor.num_frames_ready)])
        print(f"kaldi-native-fbank: {native.shape[0]} frames, largest difference {np.abs(native - expected).max():.1e}")
    except ImportError:
        print("kaldi-native-fbank not installed: no second reference")
    spec = importlib.util.spec_from_file_location("fbank", ROOT / "preflight/features/fbank.py")  # not the package:
    ours = importlib.util.module_from_spec(spec)  # its __init__ loads every analyzer's dependencies
    spec.loader.exec_module(ours)
    print(f"preflight.features.fbank: largest difference {np.abs(ours.fbank(x) - expected).max():.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
