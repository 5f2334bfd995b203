"""Convert GTCRN's DNS3 weights (a PyTorch checkpoint) to one ONNX graph. Run once, by hand.

The noise check runs it with onnxruntime, so torch is never a dependency. GTCRN (Rong et al.,
"GTCRN: A Speech Enhancement Model Requiring Ultralow Computational Resources", ICASSP 2024,
MIT) takes the complex STFT of 16 kHz audio (512-point frames, square-root Hann window, 256 hop)
and returns the STFT of the speech in it, a complex mask over 257 bins (48 K parameters, about
33 M multiply-adds a second). It is exported whole, over the whole clip at once (the time axis
dynamic): the authors' streaming graph runs one frame per call and cost 15 times as much here.

The architecture is the authors' own ``gtcrn.py``, imported from a clone of their repository
(it is not copied here), with ``checkpoints/model_trained_on_dns3.tar`` from the same clone::

    git clone https://github.com/Xiaobin-Rong/gtcrn /tmp/gtcrn   # @ 3862c44808dca492ea5a8a145d2dc2a1028d08c8
    python3 -m venv /tmp/export && /tmp/export/bin/pip install torch==2.13.0 onnx onnxruntime numpy einops
    /tmp/export/bin/python scripts/export_gtcrn.py /tmp/gtcrn

It checks the graph against the torch model on random spectra and on a spoken sentence (largest
difference printed) and writes ``models/gtcrn_dns3.onnx``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime
import torch

OUT = Path(__file__).resolve().parent.parent / "models" / "gtcrn_dns3.onnx"


def main(clone: Path) -> None:
    sys.path.insert(0, str(clone))
    from gtcrn import GTCRN  # the authors' module, from their clone

    model = GTCRN().eval()
    state = torch.load(clone / "checkpoints" / "model_trained_on_dns3.tar", map_location="cpu")["model"]
    model.load_state_dict(state, strict=True)
    example = torch.randn(1, 257, 200, 2) * 0.1
    torch.onnx.export(model, (example,), str(OUT), input_names=["spec"], output_names=["speech"],
                      dynamic_axes={"spec": {2: "frames"}, "speech": {2: "frames"}}, opset_version=17, dynamo=False)
    session = onnxruntime.InferenceSession(str(OUT), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for frames in (50, 313, 940):
        spec = (rng.standard_normal((1, 257, frames, 2)) * 0.1).astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(spec)).numpy()
        got = session.run(None, {"spec": spec})[0]
        worst = max(worst, float(np.abs(ref - got).max() / np.abs(ref).max()))
    print(f"onnxruntime against torch, largest difference relative to the largest output: {worst:.2e}")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} CLONE_OF_Xiaobin-Rong/gtcrn")
    main(Path(sys.argv[1]))
