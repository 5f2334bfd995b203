"""Convert Light-ASD's AVA weights (PyTorch state dict) to two ONNX graphs. Run once, by hand.

The av_sync check runs them with onnxruntime, so torch is never a dependency. To rebuild (needs
torch, which this machine holds on disk as 2.13.0, CPU build)::

    python3 -m venv /tmp/export && /tmp/export/bin/pip install torch==2.13.0 onnx onnxruntime numpy
    /tmp/export/bin/python scripts/export_light_asd.py ../shared/models/light_asd_ava.model

The network (Liao et al., "A Light Weight Model for Active Speaker Detection", CVPR 2023,
https://github.com/Junhua-Liao/Light-ASD, MIT) scores, per video frame at 25 fps, whether a face
is the one speaking. It is rebuilt here from its parameter names:

- an audio encoder over 13 MFCCs at 100 Hz: three blocks of (3x1 and 5x1 convolutions across the
  coefficients, then 1x3 and 1x5 across time, summed, then 1x1), max-pooled 2x in time after the
  first two, averaged over the coefficients: 128 numbers at 25 Hz;
- a visual encoder over 112x112 grey mouth-region crops: the same pattern in 3-D (space, then
  time), downsampling 2x in space in the first block and pooling after the first two, then a
  spatial max: 128 numbers per frame;
- a back end over their sum: a forward GRU and a backward GRU of 128 (GELU after each) and a
  128 -> 2 linear layer (``lossAV.FC``) whose second output is the speaking score.

They become three graphs: ``models/light_asd_audio.onnx`` (mfcc [1, 4T, 13] -> [1, T, 128]),
``models/light_asd_visual.onnx`` (crops [1, T, 112, 112], 0-255 floats -> [1, T, 128]) and
``models/light_asd_backend.onnx`` (x [B, T, 128] -> logits [B, T, 2]): the sound is encoded
over the whole clip, the picture over the stretch looked at (the costly part), and the sync
curve re-runs only the back end, once for all lags. The
authors' audio pooling, ``MaxPool3d((1, 1, 3), (1, 1, 2), (0, 0, 1))`` on 4-D tensors, is the
same operation as ``MaxPool2d((1, 3), (1, 2), (0, 1))`` and exported as that: onnxruntime refuses
the 3-D pooling attributes the exporter writes for a 4-D input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from torch import nn

MODELS = Path(__file__).resolve().parent.parent / "models"


def _bn(channels: int, three_d: bool) -> nn.Module:
    return (nn.BatchNorm3d if three_d else nn.BatchNorm2d)(channels, momentum=0.01, eps=0.001)


class AudioBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.m_3, self.bn_m_3 = nn.Conv2d(cin, cout, (3, 1), padding=(1, 0), bias=False), _bn(cout, False)
        self.t_3, self.bn_t_3 = nn.Conv2d(cout, cout, (1, 3), padding=(0, 1), bias=False), _bn(cout, False)
        self.m_5, self.bn_m_5 = nn.Conv2d(cin, cout, (5, 1), padding=(2, 0), bias=False), _bn(cout, False)
        self.t_5, self.bn_t_5 = nn.Conv2d(cout, cout, (1, 5), padding=(0, 2), bias=False), _bn(cout, False)
        self.last, self.bn_last = nn.Conv2d(cout, cout, 1, bias=False), _bn(cout, False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.bn_t_3(self.t_3(torch.relu(self.bn_m_3(self.m_3(x))))))
        b = torch.relu(self.bn_t_5(self.t_5(torch.relu(self.bn_m_5(self.m_5(x))))))
        return torch.relu(self.bn_last(self.last(a + b)))


class VisualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool = False) -> None:
        super().__init__()
        stride = (1, 2, 2) if down else (1, 1, 1)
        self.s_3 = nn.Conv3d(cin, cout, (1, 3, 3), stride=stride, padding=(0, 1, 1), bias=False)
        self.bn_s_3 = _bn(cout, True)
        self.t_3, self.bn_t_3 = nn.Conv3d(cout, cout, (3, 1, 1), padding=(1, 0, 0), bias=False), _bn(cout, True)
        self.s_5 = nn.Conv3d(cin, cout, (1, 5, 5), stride=stride, padding=(0, 2, 2), bias=False)
        self.bn_s_5 = _bn(cout, True)
        self.t_5, self.bn_t_5 = nn.Conv3d(cout, cout, (5, 1, 1), padding=(2, 0, 0), bias=False), _bn(cout, True)
        self.last, self.bn_last = nn.Conv3d(cout, cout, 1, bias=False), _bn(cout, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.bn_t_3(self.t_3(torch.relu(self.bn_s_3(self.s_3(x))))))
        b = torch.relu(self.bn_t_5(self.t_5(torch.relu(self.bn_s_5(self.s_5(x))))))
        return torch.relu(self.bn_last(self.last(a + b)))


class AudioEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block1, self.block2, self.block3 = AudioBlock(1, 32), AudioBlock(32, 64), AudioBlock(64, 128)
        self.pool = nn.MaxPool2d((1, 3), (1, 2), (0, 1))

    def forward(self, mfcc: torch.Tensor) -> torch.Tensor:  # [B, 4T, 13] -> [B, T, 128]
        x = mfcc.unsqueeze(1).transpose(2, 3)
        x = self.pool(self.block1(x))
        x = self.pool(self.block2(x))
        return self.block3(x).mean(dim=2).transpose(1, 2)


class VisualEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block1 = VisualBlock(1, 32, down=True)
        self.block2, self.block3 = VisualBlock(32, 64), VisualBlock(64, 128)
        self.pool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:  # [B, T, 112, 112] in 0-255 -> [B, T, 128]
        x = ((crops / 255 - 0.4161) / 0.1688).unsqueeze(1)
        x = self.pool(self.block1(x))
        x = self.pool(self.block2(x))
        x = self.block3(x)
        return torch.amax(x, dim=(3, 4)).transpose(1, 2)


class PlanarVisualEncoder(nn.Module):
    """The visual encoder with the same parameters, computed as 2-D convolutions: frames as the
    batch for the spatial ones (1 x k x k), space flattened for the temporal ones (k x 1 x 1).
    The same function as :class:`VisualEncoder` (to float rounding), and onnxruntime runs 2-D
    convolutions in its blocked layout, about twice as fast on this machine as the 3-D ones."""

    def __init__(self, reference: VisualEncoder) -> None:
        super().__init__()
        self.ref = reference

    @staticmethod
    def _bn(x: torch.Tensor, bn: nn.Module) -> torch.Tensor:
        return nn.functional.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)

    def _spatial(self, x: torch.Tensor, conv: nn.Conv3d, bn: nn.Module) -> torch.Tensor:  # [T, C, H, W]
        weight = conv.weight.squeeze(2)
        return torch.relu(self._bn(nn.functional.conv2d(x, weight, stride=conv.stride[1:], padding=conv.padding[1:]), bn))

    def _temporal(self, x: torch.Tensor, conv: nn.Conv3d, bn: nn.Module) -> torch.Tensor:  # [T, C, H, W]
        t, c, h, w = x.shape
        y = x.permute(1, 0, 2, 3).reshape(1, c, t, h * w)
        y = torch.relu(self._bn(nn.functional.conv2d(y, conv.weight.squeeze(-1), padding=(conv.padding[0], 0)), bn))
        return y.reshape(-1, t, h, w).permute(1, 0, 2, 3)

    def _block(self, x: torch.Tensor, b: VisualBlock) -> torch.Tensor:
        a = self._temporal(self._spatial(x, b.s_3, b.bn_s_3), b.t_3, b.bn_t_3)
        c = self._temporal(self._spatial(x, b.s_5, b.bn_s_5), b.t_5, b.bn_t_5)
        return torch.relu(self._bn(nn.functional.conv2d(a + c, b.last.weight.squeeze(2)), b.bn_last))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:  # [1, T, 112, 112] in 0-255 -> [1, T, 128]
        x = ((crops[0] / 255 - 0.4161) / 0.1688).unsqueeze(1)
        x = nn.functional.max_pool2d(self._block(x, self.ref.block1), 3, 2, 1)
        x = nn.functional.max_pool2d(self._block(x, self.ref.block2), 3, 2, 1)
        x = self._block(x, self.ref.block3)
        return torch.amax(x, dim=(2, 3)).unsqueeze(0)


class Backend(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru_forward = nn.GRU(128, 128, batch_first=True)
        self.gru_backward = nn.GRU(128, 128, batch_first=True)
        self.fc = nn.Linear(128, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, 128] -> [B, T, 2]
        x = nn.functional.gelu(self.gru_forward(x)[0])
        x = torch.flip(self.gru_backward(torch.flip(x, dims=[1]))[0], dims=[1])
        return self.fc(nn.functional.gelu(x))


def _load(weights: Path) -> tuple[AudioEncoder, VisualEncoder, Backend]:
    state = torch.load(weights, map_location="cpu")
    audio, visual, backend = AudioEncoder(), VisualEncoder(), Backend()
    audio.load_state_dict({k.removeprefix("model.audioEncoder."): v for k, v in state.items()
                           if k.startswith("model.audioEncoder.")})
    visual.load_state_dict({k.removeprefix("model.visualEncoder."): v for k, v in state.items()
                            if k.startswith("model.visualEncoder.")})
    backend.load_state_dict({
        **{k.removeprefix("model.GRU."): v for k, v in state.items() if k.startswith("model.GRU.")},
        "fc.weight": state["lossAV.FC.weight"], "fc.bias": state["lossAV.FC.bias"],
    })
    return audio.eval(), visual.eval(), backend.eval()


def main() -> int:
    weights = Path(sys.argv[1]) if len(sys.argv) > 1 else MODELS.parent.parent / "shared" / "models" / "light_asd_ava.model"
    audio, visual, backend = _load(weights)
    paths = {name: MODELS / f"light_asd_{name}.onnx" for name in ("audio", "visual", "backend")}
    torch.onnx.export(audio, (torch.rand(1, 100, 13),), str(paths["audio"]), input_names=["mfcc"], output_names=["embedding"],
                      dynamic_axes={"mfcc": {1: "mfcc_frames"}, "embedding": {1: "frames"}}, opset_version=17, dynamo=False)
    torch.onnx.export(PlanarVisualEncoder(visual).eval(), (torch.rand(1, 25, 112, 112) * 255,), str(paths["visual"]),
                      input_names=["crops"],
                      output_names=["embedding"], dynamic_axes={"crops": {1: "frames"}, "embedding": {1: "frames"}},
                      opset_version=17, dynamo=False)
    torch.onnx.export(backend, (torch.rand(3, 25, 128),), str(paths["backend"]), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch", 1: "frames"}, "logits": {0: "batch", 1: "frames"}},
                      opset_version=17, dynamo=False)
    for module in (audio, visual, backend):
        module.eval()  # the exporter restores the training flag; BatchNorm must stay in eval mode
    sessions = {name: onnxruntime.InferenceSession(str(path)) for name, path in paths.items()}
    for frames in (25, 60):
        mfcc, crops = torch.randn(1, 4 * frames, 13) * 10, torch.rand(1, frames, 112, 112) * 255
        with torch.no_grad():
            a, v = audio(mfcc), visual(crops)
            logits = backend(a + v)
        got_a = sessions["audio"].run(None, {"mfcc": mfcc.numpy()})[0]
        got_v = sessions["visual"].run(None, {"crops": crops.numpy()})[0]
        got = sessions["backend"].run(None, {"x": (a + v).numpy()})[0]
        print(f"{frames} frames: audio differs by {np.abs(got_a - a.numpy()).max():.1e}, visual by "
              f"{np.abs(got_v - v.numpy()).max():.1e}, back end by {np.abs(got - logits.numpy()).max():.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
