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


def _curve(peak_at: float, height: float, frames: int = 200, noise: float = 0.3, seed: int = 0,
           mouth: float = 150.0) -> "SyncCurve":
    lags = np.arange(-40, 41)
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, noise, len(lags)) + height * np.exp(-0.5 * ((lags - peak_at) / 2.0) ** 2)
    return SyncCurve(lags=lags, scores=scores, frames=frames, times=np.arange(frames) / 25, speaking=np.ones(frames),
                     mouth_px=mouth)


def _worded(curve: "SyncCurve"):
    return av_sync._check(av_sync.verdict(curve, LIMITS), curve, LIMITS, "clip.mp4", "limit")


@needs_preflight
def test_a_strong_peak_at_lag_zero_passes():
    judged = av_sync.verdict(_curve(0, 6.0, noise=0.2), LIMITS)
    assert judged.status is Status.PASS and judged.strong and -40 <= judged.offset_ms <= 40


@needs_preflight
def test_a_curve_lowest_near_sync_on_strong_evidence_fails_as_another_voice():
    dip = _curve(0, -1.0, seed=4)
    judged = av_sync.verdict(dip, LIMITS)
    assert judged.strong and judged.strength < LIMITS.fail_below
    assert judged.status is Status.FAIL and judged.reason == "av_sync.other_voice"
    assert "does not move with the lips" in _worded(dip).message


@needs_preflight
def test_a_faint_agreement_with_no_clearer_peak_elsewhere_only_warns():
    faint = [c for c in (_curve(0, 0.3, seed=seed) for seed in range(40))
             if LIMITS.fail_below <= av_sync.verdict(c, LIMITS).strength < LIMITS.faint_below]
    assert len(faint) >= 5
    for curve in faint:
        judged = av_sync.verdict(curve, LIMITS)
        if judged.peak_z < LIMITS.hint_z:
            assert judged.status is Status.WARN and judged.reason == "av_sync.weak"
            assert "agree only faintly" in _worded(curve).message


@needs_preflight
def test_a_faint_agreement_with_a_clearer_peak_out_of_sync_fails_and_names_the_lag():
    def faint_and(peak_at: float) -> "SyncCurve":
        c = _curve(peak_at, 0.8, noise=0.3, seed=3)
        bump = 0.4 * np.exp(-0.5 * (c.lags / 2.0) ** 2)  # a faint agreement at sync
        return SyncCurve(lags=c.lags, scores=c.scores + bump, frames=c.frames, times=c.times, speaking=c.speaking,
                         mouth_px=c.mouth_px)

    curve = faint_and(15)
    judged = av_sync.verdict(curve, LIMITS)
    assert LIMITS.fail_below <= judged.strength < LIMITS.faint_below
    assert LIMITS.hint_z <= judged.peak_z < LIMITS.offset_z and judged.offset_ms > LIMITS.accept_late_ms
    assert judged.status is Status.FAIL and judged.reason == "av_sync.other_voice"
    check = _worded(curve)
    assert f"agrees better {judged.offset_ms} ms late: another voice, or this one out of sync?" in check.message
    assert av_sync.remux_offset(check) == judged.offset_ms  # fix tries it, and keeps only a copy that resynced() clears
    # The same peak inside acceptability is an own voice's (a late-running source): it does not fail.
    near = av_sync.verdict(faint_and(4), LIMITS)
    assert near.status is not Status.FAIL


@needs_preflight
def test_weak_evidence_warns_with_what_helps_and_never_fails():
    small = _curve(0, 0.0, seed=4, mouth=LIMITS.min_mouth_px - 1)
    judged = av_sync.verdict(small, LIMITS)
    assert judged.status is Status.WARN and judged.reason == "av_sync.unclear" and judged.thin == ("mouth",)
    check = _worded(small)
    assert "the mouth is too small in the frame to judge the lip sync" in check.message
    assert "record closer" in check.fix and check.details["evidence"] == "weak"
    short = _curve(0, 0.0, seed=4, frames=LIMITS.min_frames - 1)
    assert av_sync.verdict(short, LIMITS).status is Status.WARN
    assert "record a longer take" in _worded(short).fix
    for seed in range(20):  # whatever the curve says, thin evidence never fails
        for peak in (0, 15, -25):
            assert av_sync.verdict(_curve(peak, 2.0, seed=seed, frames=60, mouth=40.0), LIMITS).status is not Status.FAIL


@needs_preflight
def test_an_agreement_under_the_pass_limit_only_warns():
    judged = av_sync.verdict(_curve(0, 0.6, noise=0.3, seed=1), LIMITS)
    assert LIMITS.fail_below <= judged.strength < LIMITS.pass_at
    assert judged.status is Status.WARN and judged.reason == "av_sync.weak"


@needs_preflight
@pytest.mark.parametrize("lags, status", [
    (2.5, "pass"),   # 100 ms late: under detectability (125 ms)
    (-1.0, "pass"),  # 40 ms early: under detectability (45 ms)
    (4.0, "warn"),   # 160 ms late: detectable, still acceptable (185 ms)
    (-3.0, "warn"),  # 120 ms early: past acceptability (90 ms), but not by more than the measure's margin
    (7.5, "fail"),   # 300 ms late
    (-5.0, "fail"),  # 200 ms early
    (12.5, "fail"),  # 500 ms late
])
def test_a_clear_peak_is_judged_by_itu_r_bt1359(lags, status):
    curve = _curve(lags, 6.0, noise=0.15, seed=2)
    judged = av_sync.verdict(curve, LIMITS)
    assert judged.peak_z >= LIMITS.offset_z
    assert abs(judged.offset_ms - lags * 40) <= 20  # between lags
    assert judged.status.value == status
    assert (judged.reason == "av_sync.offset") is (status != "pass")


@needs_preflight
def test_an_offset_fails_with_the_offset_and_the_remux_and_fix_reads_it():
    curve = _curve(12.5, 6.0, noise=0.15, seed=2)
    check = _worded(curve)
    ms = check.details["offset_ms"]
    assert check.status is Status.FAIL and check.reason == "av_sync.offset"
    assert f"the sound is {ms} ms late" in check.message and "accepts up to 185 ms late" in check.message
    assert "preflight fix" in check.fix and f"-itsoffset {-ms / 1000:+.3f}" in check.fix
    assert av_sync.remux_offset(check) == ms
    weak = _worded(_curve(12.5, 6.0, noise=0.15, seed=2, frames=80))
    assert weak.status is Status.WARN and weak.reason == "av_sync.offset" and av_sync.remux_offset(weak) is None


@needs_preflight
def test_a_weak_peak_away_from_sync_is_only_a_lag_to_try():
    curve = _curve(15, 0.8, noise=0.3, seed=3)
    judged = av_sync.verdict(curve, LIMITS)
    assert LIMITS.hint_z <= judged.peak_z < LIMITS.offset_z and not judged.out_of_sync
    assert judged.status is Status.FAIL and judged.reason == "av_sync.other_voice"
    check = _worded(curve)
    assert f"if it is their own voice, it agrees best with the sound {judged.offset_ms} ms late" in check.message
    assert av_sync.remux_offset(check) == judged.offset_ms


@needs_preflight
def test_a_resynced_copy_must_show_a_peak_as_clear_as_an_offset():
    from preflight.report import Check

    def copy(z: float) -> Check:
        return Check(id="av_sync", source="x.mp4", status=Status.WARN, reason="av_sync.weak", value=z, message="m")
    assert av_sync.resynced(copy(LIMITS.offset_z), LIMITS)
    assert not av_sync.resynced(copy(LIMITS.offset_z - 0.1), LIMITS)  # a dub's chance peak, moved to sync, is GO but not this


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
@pytest.mark.slow
@pytest.mark.parametrize("shrink", [3, 5])
def test_a_good_clip_shrunk_in_its_frame_warns_and_never_fails(tmp_path, shrink):
    """eval/cases.py's small family: the mouth under min_mouth_px, the person's own voice in sync."""
    from conftest import SHARED_MEDIA
    import subprocess
    import preflight

    source = SHARED_MEDIA / "good_katie.mp4"
    if not source.exists():
        pytest.skip("needs ../shared/media")
    small = tmp_path / "small.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(source), "-vf",
                    f"scale=trunc(iw/{shrink}/2)*2:trunc(ih/{shrink}/2)*2,pad=iw*{shrink}:ih*{shrink}:(ow-iw)/2:(oh-ih)/3:"
                    "color=0x606870,setsar=1", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "copy",
                    str(small)], check=True)
    check = next(c for c in preflight.check(video=small).checks if c.id == "av_sync")
    assert check.details["mouth_px"] < LIMITS.min_mouth_px
    assert check.status is Status.WARN and check.reason == "av_sync.unclear"
    assert "the mouth is too small in the frame" in check.message and "record closer" in check.fix


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
