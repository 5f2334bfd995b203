"""Convert EfficientAT's mn04 AudioSet tagger (a PyTorch state dict) to ONNX, and hold the numpy
log-mel front end (``preflight.features.kaldi_mel``) to the authors' own. Run once, by hand.

EfficientAT (Schmid et al., "Efficient Large-Scale Audio Tagging via Transformer-to-CNN
Knowledge Distillation", ICASSP 2023; MIT) mn04 is a MobileNetV3 of 0.98 M parameters that
tags 527 AudioSet classes (mAP 0.432) from a 128-band log-mel of 32 kHz audio. The architecture
is the authors' ``models/mn/model.py``, imported from a clone of their repository (not copied
here); the weights are ``../shared/models/efficientat_mn04_as.pt`` (= their release v0.0.1
``mn04_as_mAP_432.pt``). Their code wants torchvision only for ``ConvNormActivation`` (a
convolution, a batch norm and an activation in a row), and their front end torchaudio only for
Kaldi's mel filter bank; where those packages do not load beside torch 2.13, the first is given
here as that sequence and the second is read from torchaudio's ``compliance/kaldi.py`` (pure
torch) by path::

    git clone https://github.com/fschmid56/EfficientAT /tmp/efficientat   # @ a425fdce92572e602a1d5634799bd9f1f2efa806
    python3 -m venv /tmp/export && /tmp/export/bin/pip install torch==2.13.0 onnx onnxruntime numpy
    /tmp/export/bin/pip download --no-deps torchaudio==2.11.1 -d /tmp/wheels && unzip -o /tmp/wheels/torchaudio-*.whl 'torchaudio/compliance/kaldi.py' -d /tmp/ta
    /tmp/export/bin/python scripts/export_efficientat.py /tmp/efficientat ../shared/models/efficientat_mn04_as.pt /tmp/ta/torchaudio/compliance/kaldi.py

It writes ``models/efficientat_mn04.onnx`` (log-mel [1, 1, 128, frames] -> 527 probabilities,
the sigmoid inside), checks it against torch (largest difference printed), checks the numpy
front end against the authors' ``AugmentMelSTFT`` in eval mode on a test signal, and writes
that signal's reference log-mel to ``tests/features/efficientat_mel_reference.npz`` for the test
that keeps the numpy front end there.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
import types
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "efficientat_mn04.onnx"
REFERENCE = ROOT / "tests" / "features" / "efficientat_mel_reference.npz"


class _ConvNormActivation(nn.Sequential):
    """torchvision.ops.misc.ConvNormActivation's layers: convolution, norm, activation."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1,
                 norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1, inplace=True, bias=None):
        padding = (kernel_size - 1) // 2 * dilation if padding is None else padding
        bias = norm_layer is None if bias is None else bias
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                            groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = out_channels


def _stand_ins(kaldi_py: Path) -> None:
    try:
        import torchvision.ops.misc  # noqa: F401
    except Exception:  # noqa: BLE001 - absent, or built for another torch
        misc = types.ModuleType("torchvision.ops.misc")
        misc.ConvNormActivation = _ConvNormActivation
        ops = types.ModuleType("torchvision.ops")
        ops.misc = misc
        vision = types.ModuleType("torchvision")
        vision.ops = ops
        sys.modules.update({"torchvision": vision, "torchvision.ops": ops, "torchvision.ops.misc": misc})
    audio = types.ModuleType("torchaudio")
    sys.modules["torchaudio"] = audio
    spec = importlib.util.spec_from_file_location("torchaudio.compliance.kaldi", kaldi_py)
    kaldi = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kaldi)
    audio.compliance = types.SimpleNamespace(kaldi=kaldi)
    audio.transforms = types.SimpleNamespace()


class _Probabilities(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(mel)[0])


def main(clone: Path, weights: Path, kaldi_py: Path) -> None:
    _stand_ins(kaldi_py)
    sys.path.insert(0, str(clone))
    here = Path.cwd()
    os.chdir(clone)  # their helpers read metadata/ relative to the working directory
    try:
        with redirect_stdout(io.StringIO()):
            from models.mn.model import get_model
            from models.preprocess import AugmentMelSTFT

            net = get_model(width_mult=0.4, pretrained_name=None)
    finally:
        os.chdir(here)
    net.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
    model = _Probabilities(net).eval()

    example = torch.randn(1, 1, 128, 500)
    torch.onnx.export(model, (example,), str(OUT), input_names=["mel"], output_names=["probs"],
                      dynamic_axes={"mel": {3: "frames"}}, opset_version=17, dynamo=False)
    session = onnxruntime.InferenceSession(str(OUT), providers=["CPUExecutionProvider"])
    worst = 0.0
    for frames in (100, 313, 1000):
        mel = torch.randn(1, 1, 128, frames)
        with torch.no_grad():
            ref = model(mel).numpy()
        worst = max(worst, float(np.abs(session.run(None, {"mel": mel.numpy()})[0] - ref).max()))
    print(f"onnxruntime against torch, largest difference of a probability: {worst:.2e}")

    # the front end by path: importing the preflight package would need the whole product's dependencies
    spec = importlib.util.spec_from_file_location("kaldi_mel", ROOT / "preflight" / "features" / "kaldi_mel.py")
    front_end = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(front_end)
    RATE, log_mel = front_end.RATE, front_end.log_mel
    x = front_end.test_signal()
    front = AugmentMelSTFT(n_mels=128, sr=RATE, win_length=800, hopsize=320, freqm=0, timem=0).eval()
    with torch.no_grad():
        reference = front(torch.from_numpy(x[None].astype(np.float32)))[0].numpy()
    ours = log_mel(x)
    print(f"numpy front end against the authors': shapes {ours.shape} {reference.shape}, "
          f"largest difference {np.abs(ours - reference).max():.2e} (log-mel units)")
    np.savez_compressed(REFERENCE, mel=reference.astype(np.float32))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes) and {REFERENCE}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} CLONE_OF_fschmid56/EfficientAT WEIGHTS.pt torchaudio/compliance/kaldi.py")
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
