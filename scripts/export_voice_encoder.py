"""Convert Resemblyzer's GE2E voice encoder (PyTorch) to ONNX, for ``eval/voices.py``'s comparison.

single_speaker ran on it until CAM++ replaced it (``scripts/export_voice_models.py``); the check
no longer ships it. ``eval/voices.py --candidates DIR`` measures it beside CAM++ on the same
pieces of speech. To make it (needs torch, which this machine holds on disk as 2.13.0, CPU build)::

    python3 -m venv /tmp/export && /tmp/export/bin/pip install torch==2.13.0 onnx onnxruntime numpy
    /tmp/export/bin/pip install --no-deps resemblyzer==0.1.4
    /tmp/export/bin/python scripts/export_voice_encoder.py eval/out/models/voice_encoder.onnx

The network is GE2E's (Wan et al., "Generalized End-to-End Loss for Speaker Verification",
ICASSP 2018): 3 LSTM layers of 256 over 40 mel bands, the last hidden state through a linear
layer and a ReLU, L2-normalised to a 256-d embedding. It is rebuilt here rather than imported
from resemblyzer, whose package also pulls webrtcvad and librosa at import.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from torch import nn

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "eval" / "out" / "models" / "voice_encoder.onnx"


class VoiceEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        embeds = torch.relu(self.linear(hidden[-1]))
        return embeds / torch.norm(embeds, dim=1, keepdim=True)


def main() -> int:
    # Found without importing: the package's __init__ needs webrtcvad.
    weights = Path(importlib.util.find_spec("resemblyzer").submodule_search_locations[0]) / "pretrained.pt"
    encoder = VoiceEncoder().eval()
    state = torch.load(weights, map_location="cpu")["model_state"]
    encoder.load_state_dict({k: v for k, v in state.items() if not k.startswith("similarity_")})
    example = torch.rand(3, 160, 40)
    torch.onnx.export(encoder, example, str(OUT), input_names=["mels"], output_names=["embeddings"],
                      dynamic_axes={"mels": {0: "batch", 1: "frames"}, "embeddings": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    session = onnxruntime.InferenceSession(str(OUT))
    for batch, frames in ((1, 160), (7, 100), (20, 80)):
        mels = torch.rand(batch, frames, 40)
        with torch.no_grad():
            expected = encoder(mels).numpy()
        got = session.run(None, {"mels": mels.numpy()})[0]
        print(f"batch {batch} x {frames} frames: largest difference from torch {np.abs(got - expected).max():.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
