"""Convert Resemblyzer's voice encoder (PyTorch) to models/voice_encoder.onnx. Run once, by hand.

The checker runs the encoder with onnxruntime, so torch is never a dependency. The weights ship
inside the resemblyzer wheel; to rebuild the file (needs torch, which this machine holds on disk
as 2.13.0, CPU build)::

    pip download --no-deps -d wheels/ resemblyzer==0.1.4
    python3 -m venv /tmp/export && /tmp/export/bin/pip install torch==2.13.0 onnx onnxruntime numpy
    /tmp/export/bin/python scripts/export_voice_encoder.py wheels/

(or, with resemblyzer installed, no argument: its installed ``pretrained.pt`` is used).
The network is GE2E's (Wan et al., "Generalized End-to-End Loss for Speaker Verification",
ICASSP 2018): 3 LSTM layers of 256 over 40 mel bands, the last hidden state through a linear
layer and a ReLU, L2-normalised to a 256-d embedding. It is rebuilt here rather than imported
from resemblyzer, whose package also pulls webrtcvad and librosa at import. The test
``tests/features/test_voice_models.py`` compares the graph with torch where torch is.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "models" / "voice_encoder.onnx"
WHEEL = "Resemblyzer-0.1.4-py3-none-any.whl"
WEIGHTS = "resemblyzer/pretrained.pt"


class VoiceEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        embeds = torch.relu(self.linear(hidden[-1]))
        return embeds / torch.norm(embeds, dim=1, keepdim=True)


def load(wheels: Path | None) -> VoiceEncoder:
    """The encoder with Resemblyzer's weights, from the wheel in ``wheels`` (else the installed package)."""
    encoder = VoiceEncoder().eval()
    with tempfile.TemporaryDirectory() as tmp:
        if wheels is not None:
            with zipfile.ZipFile(wheels / WHEEL) as wheel:
                weights = Path(wheel.extract(WEIGHTS, tmp))
        else:  # found without importing: the package's __init__ needs webrtcvad
            weights = Path(importlib.util.find_spec("resemblyzer").submodule_search_locations[0]) / "pretrained.pt"
        state = torch.load(weights, map_location="cpu")["model_state"]
    encoder.load_state_dict({k: v for k, v in state.items() if not k.startswith("similarity_")}, strict=True)
    return encoder


def compare(encoder: VoiceEncoder, path: Path) -> float:
    """The largest difference between the graph's embeddings and torch's, on random mels of several shapes."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch, frames in ((1, 160), (7, 100), (20, 50)):
        mels = torch.rand(batch, frames, 40)
        with torch.no_grad():
            expected = encoder(mels).numpy()
        worst = max(worst, float(np.abs(session.run(None, {"mels": mels.numpy()})[0] - expected).max()))
    return worst


def main() -> int:
    encoder = load(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    torch.onnx.export(encoder, torch.rand(3, 160, 40), str(OUT), input_names=["mels"], output_names=["embeddings"],
                      dynamic_axes={"mels": {0: "batch", 1: "frames"}, "embeddings": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    print(f"{OUT}: largest difference from torch {compare(encoder, OUT):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
