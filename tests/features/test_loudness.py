"""Loudness (ITU-R BS.1770-4, EBU R128) in numpy from the decode, held to ffmpeg's ebur128 filter."""

import re
import subprocess

import numpy as np
import pytest

from conftest import FIXTURES

from preflight.features.loudness import SILENT_LUFS, Loudness, k_filter, loudness
from preflight.media import decode, probe
from preflight.media.stream import Audio

RATE = 16_000


def _decoded(name: str) -> Audio:
    media = decode(probe(FIXTURES / name), sample_fps=1)
    try:
        audio = media.audio()
        assert audio is not None
        return audio
    finally:
        media.close()


def _ffmpeg(path, *filters: str) -> tuple[float, float]:
    """ffmpeg's integrated loudness and short-term maximum, from its per-frame metadata."""
    chain = ",".join([*filters, "ebur128=metadata=1", "ametadata=mode=print:file=-"])
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostats", "-i", str(path), "-map", "0:a:0", "-af", chain,
                          "-f", "null", "-"], capture_output=True, text=True, check=True).stdout
    integrated = re.findall(r"lavfi\.r128\.I=(-?[\d.]+)", out)
    return float(integrated[-1]), max(float(s) for s in re.findall(r"lavfi\.r128\.S=(-?[\d.]+)", out))


def test_the_k_weighting_at_48_khz_is_the_standards():
    # BS.1770-4, table 1 and table 2
    (shelf_b, shelf_a), (pass_b, pass_a) = k_filter(48_000)
    assert np.allclose(shelf_b, (1.53512485958697, -2.69169618940638, 1.19839281085285), atol=1e-12)
    assert np.allclose(shelf_a, (1.0, -1.69065929318241, 0.73248077421585), atol=1e-12)
    assert pass_b == (1.0, -2.0, 1.0) and np.allclose(pass_a, (1.0, -1.99004745483398, 0.99007225036621), atol=1e-12)


@pytest.mark.parametrize(("rate", "within"), [(48_000, 0.005), (RATE, 0.05)])
def test_a_full_scale_997_hz_sine_reads_minus_3_lufs(rate, within):
    # the standard's calibration, at its rate; at 16 kHz the filters' warping moves it by 0.04 LU
    t = np.arange(10 * rate) / rate
    tone = Audio(np.sin(2 * np.pi * 997 * t).astype(np.float32), rate)
    level = loudness(tone)
    assert level.integrated(0, 10) == pytest.approx(-3.01, abs=within)
    assert level.short_term_max(0, 10) == pytest.approx(-3.01, abs=within)
    both = Audio(tone.samples, rate, channels=np.stack([tone.samples, tone.samples]))
    assert loudness(both).integrated(0, 10) == pytest.approx(0.0, abs=within)  # two channels' power adds: +3 LU


@pytest.mark.parametrize("name", ["speech.wav", "speech_quiet.wav", "talking_head.mp4", "music.wav", "speech_music.wav"])
def test_the_same_as_ffmpegs_ebur128_on_the_same_samples_and_close_on_the_original(name):
    audio = _decoded(name)
    level = loudness(audio)
    mine = level.integrated(0, audio.duration), level.short_term_max(0, audio.duration)
    same = _ffmpeg(FIXTURES / name, f"aresample={RATE}")
    assert mine[0] == pytest.approx(same[0], abs=0.05) and mine[1] == pytest.approx(same[1], abs=0.05)
    original = _ffmpeg(FIXTURES / name)  # the sound above 8 kHz too
    assert mine[0] == pytest.approx(original[0], abs=0.7) and mine[1] == pytest.approx(original[1], abs=0.7)


def _lufs(power: float) -> float:
    return -0.691 + 10 * np.log10(power)


def test_gating_leaves_pauses_and_silence_out():
    # 100 ms steps: 4 s at -20 LUFS, then 6 s at -50: the 400 ms blocks that are all -50 fall
    # under the relative gate (10 LU under the ungated mean); the three across the edge stay
    loud, faint = 10 ** ((-20 + 0.691) / 10), 10 ** ((-50 + 0.691) / 10)
    level = Loudness(np.array([loud] * 40 + [faint] * 60))
    edge = [(3 * loud + faint) / 4, (2 * loud + 2 * faint) / 4, (loud + 3 * faint) / 4]
    assert level.integrated(0, 10) == pytest.approx(_lufs(np.mean([loud] * 37 + edge)), abs=1e-9)
    ungated = _lufs(np.mean([loud] * 37 + edge + [faint] * 57))
    assert level.integrated(0, 10) > ungated + 3
    assert level.integrated(4, 10) == pytest.approx(-50.0, abs=1e-9)  # alone, it is the level
    under = Loudness(np.array([faint * 1e-3] * 50))  # -80 LUFS: under the absolute gate
    assert under.integrated(0, 5) == SILENT_LUFS
    assert level.short_term_max(0, 10) == pytest.approx(-20.0, abs=0.01)
    silent = Loudness(np.zeros(100))
    assert silent.integrated(0, 10) == SILENT_LUFS and silent.short_term_max(0, 10) == SILENT_LUFS
    # a window shorter than a block or a short-term window is one of them
    assert level.integrated(0, 0.3) == pytest.approx(-20.0, abs=1e-9)
    assert level.short_term_max(3.5, 5.0) == pytest.approx(_lufs((5 * loud + 10 * faint) / 15), abs=1e-9)


def test_filtering_a_chunk_at_a_time_is_filtering_the_whole(monkeypatch):
    import preflight.features.loudness as module

    x = np.random.default_rng(1).standard_normal(300_000)
    whole = module.k_weighted(x, RATE)  # one FFT
    monkeypatch.setattr(module, "_FFT", 1 << 16)  # 33 536 samples a chunk: nine of them
    assert np.abs(module.k_weighted(x, RATE) - whole).max() < 1e-12
