"""av_sync: the judgment of a sync curve (fast, on curves made by hand), the MFCC front end against
python_speech_features' formula, and the ONNX graphs against the PyTorch model (needs torch)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

try:
    from preflight.analyzers import av_sync
    from preflight.features.mfcc import mfcc
    from preflight.features.sync import SyncCurve
    from preflight.policy import Policy
    from preflight.report import Status
except ImportError:  # the ONNX check below also runs in an export environment with torch only
    av_sync = None
LIMITS = Policy().av_sync if av_sync else None
needs_preflight = pytest.mark.skipif(av_sync is None, reason="preflight is not importable here")


def _curve(peak_at: int, height: float, frames: int = 200, noise: float = 0.3, seed: int = 0) -> "SyncCurve":
    lags = np.arange(-40, 41)
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, noise, len(lags)) + height * np.exp(-0.5 * ((lags - peak_at) / 2.0) ** 2)
    return SyncCurve(lags=lags, scores=scores, frames=frames, times=np.arange(frames) / 25, speaking=np.ones(frames))


@needs_preflight
def test_a_peak_at_lag_zero_is_in_sync():
    judged = av_sync.verdict(_curve(0, 3.0), LIMITS)
    assert judged.status is Status.PASS and judged.in_sync_lag in range(-3, 6)


@needs_preflight
def test_a_peak_200_ms_late_is_still_in_sync_but_600_ms_is_an_offset():
    assert av_sync.verdict(_curve(5, 3.0), LIMITS).status is Status.PASS
    late = av_sync.verdict(_curve(15, 3.0), LIMITS)
    assert late.status is Status.FAIL and late.out_of_sync
    assert late.offset_ms == 600  # re-mux the sound that much earlier
    check = av_sync._check(late, _curve(15, 3.0), LIMITS, "clip.mp4", "limit")
    assert "600 ms late" in check.message and "-itsoffset -0.60" in check.fix


@needs_preflight
def test_a_flat_curve_is_another_voice_and_its_chance_peak_only_a_lag_to_try():
    flat = _curve(0, 0.0, seed=4)
    judged = av_sync.verdict(flat, LIMITS)
    assert judged.status is Status.FAIL and judged.reason == "av_sync.other_voice"
    assert judged.peak_z < LIMITS.offset_z and not judged.out_of_sync
    check = av_sync._check(judged, flat, LIMITS, "clip.mp4", "limit")
    assert "does not look like the visible person's" in check.message
    assert f"if it is their own voice, it agrees best with the sound {abs(judged.offset_ms)} ms" in check.message


@needs_preflight
def test_smoothing_keeps_a_sync_peak_and_shrinks_a_one_lag_spike():
    """Neighbouring lags share most of their frames, so a real peak spans several lags; a lone spike is noise."""
    broad = _curve(0, 3.0)
    spike = _curve(0, 0.0, seed=4)
    scores = spike.scores.copy()
    scores[spike.lags == 0] += 3.0 * scores.std()
    spike = SyncCurve(lags=spike.lags, scores=scores, frames=spike.frames, times=spike.times, speaking=spike.speaking)
    assert broad.smoothed(3).z(0) > broad.z(0)  # the noise between lags averages out
    assert spike.smoothed(3).z(0) < spike.z(0)


@needs_preflight
def test_mfcc_follows_python_speech_features():
    # its formula, written out independently: pre-emphasis, rectangular frames, 512-point power
    # spectrum, 26 mel filters, log, orthonormal DCT-II, lifter 22, c0 = log energy
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(16000) * 0.1).astype(np.float32)
    out = mfcc(x)
    assert out.shape == (99, 13)
    y = x.astype(np.float64) * 32768
    s = np.append(y[0], y[1:] - 0.97 * y[:-1])
    frame = s[160 * 10 : 160 * 10 + 400]
    power = np.abs(np.fft.rfft(frame, 512)) ** 2 / 512
    assert out[10, 0] == pytest.approx(np.log(power.sum()), rel=1e-9)


def test_onnx_graphs_match_pytorch():
    torch = pytest.importorskip("torch")
    weights = Path(__file__).resolve().parents[3] / "shared" / "models" / "light_asd_ava.model"
    if not weights.exists():
        pytest.skip(f"no {weights}")
    script = Path(__file__).resolve().parents[2] / "scripts" / "export_light_asd.py"
    spec = importlib.util.spec_from_file_location("export_light_asd", script)
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    audio, visual, backend = export._load(weights)
    import onnxruntime

    def run(name, **inputs):
        model = Path(__file__).resolve().parents[2] / "models" / f"light_asd_{name}.onnx"
        return onnxruntime.InferenceSession(str(model)).run(None, inputs)[0]

    mfccs, crops = torch.randn(1, 160, 13) * 10, torch.rand(1, 40, 112, 112) * 255
    with torch.no_grad():
        a, v = audio(mfccs), visual(crops)
        logits = backend(a + v)
    assert np.abs(run("audio", mfcc=mfccs.numpy()) - a.numpy()).max() < 1e-4
    assert np.abs(run("visual", crops=crops.numpy()) - v.numpy()).max() < 1e-4
    assert np.abs(run("backend", x=(a + v).numpy()) - logits.numpy()).max() < 1e-4
