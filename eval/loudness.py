"""Loudness (BS.1770 / EBU R128) as the loudness check measures it, against ffmpeg's ebur128 filter.

    .venv/bin/python eval/loudness.py ../shared/media fixtures/out [eval/out/cases ...]

For every media file with sound under the folders: the check's integrated loudness and short-term
maximum (numpy, on the 16 kHz decode every check reads), ffmpeg's ebur128 on the same 16 kHz
audio (the same algorithm on the same samples: differences are the implementation's) and on the
original (what an editor's meter shows: differences are the sound above 8 kHz), and the old
figure (speech RMS dBFS). Prints one row a file, then the spread of the differences, and per
label of ../shared/media/labels.csv the range of each figure.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from preflight.features.loudness import loudness  # noqa: E402
from preflight.media import Role, probe  # noqa: E402
from preflight.media.decode import MAX_CHANNELS  # noqa: E402
from preflight.media.stream import AUDIO_RATE, Audio  # noqa: E402

MEDIA = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".mp4", ".mov", ".mkv", ".webm")


def decoded(path: Path, channels: int) -> Audio:
    """The audio as the decode reads it: float32, its own channels (up to 8), 16 kHz."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-ac", str(channels),
                          "-ar", str(AUDIO_RATE), "-"], capture_output=True, check=True).stdout
    samples = np.frombuffer(raw[: len(raw) // (4 * channels) * 4 * channels], dtype="<f4")
    if channels == 1:
        return Audio(samples.copy())
    split = np.ascontiguousarray(samples.reshape(-1, channels).T)
    return Audio(split.mean(axis=0), channels=split)


def ffmpeg_r128(path: Path, resample: bool) -> tuple[float, float]:
    """ffmpeg's integrated loudness and short-term maximum, at full precision (its frame metadata)."""
    chain = ("aresample=16000," if resample else "") + "ebur128=metadata=1,ametadata=mode=print:file=-"
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostats", "-i", str(path), "-map", "0:a:0", "-af", chain, "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stdout
    integrated = [float(v) for v in re.findall(r"lavfi\.r128\.I=(-?[\d.]+|-inf)", out) if v != "-inf"]
    short = [float(v) for v in re.findall(r"lavfi\.r128\.S=(-?[\d.]+)", out)]
    return (integrated[-1] if integrated else float("nan")), (max(short) if short else float("nan"))


def rms_dbfs(audio: Audio) -> float:
    power = float(np.mean(audio.samples.astype(np.float64) ** 2))
    return 10 * np.log10(power) if power > 0 else -99.0


def main(folders: list[str]) -> None:
    labels = {}
    for folder in folders:
        table = Path(folder) / "labels.csv"
        if table.exists():
            with table.open(newline="") as f:
                labels |= {row["file"]: row for row in csv.DictReader(f)}
    rows = []
    print(f"{'file':44} {'I':>7} {'ff16 I':>7} {'ff I':>7} {'S max':>7} {'ff16 S':>7} {'ff S':>7} {'dBFS':>7}")
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix.lower() not in MEDIA or not path.is_file():
                continue
            try:
                found = probe(path)
            except Exception:  # noqa: BLE001 - the broken fixtures
                continue
            if found.audio is None or found.role is Role.IMAGE:
                continue
            audio = decoded(path, min(max(found.audio.channels, 1), MAX_CHANNELS))
            level = loudness(audio)
            mine = level.integrated(0, audio.duration), level.short_term_max(0, audio.duration)
            f16, f48 = ffmpeg_r128(path, True), ffmpeg_r128(path, False)
            rows.append((path, *mine, *f16, *f48, rms_dbfs(audio)))
            print(f"{str(path.relative_to(folder))[:44]:44} {mine[0]:7.2f} {f16[0]:7.2f} {f48[0]:7.2f} "
                  f"{mine[1]:7.2f} {f16[1]:7.2f} {f48[1]:7.2f} {rows[-1][-1]:7.1f}", flush=True)
    data = np.array([r[1:] for r in rows], dtype=float)
    for name, ours, theirs in (("integrated vs ffmpeg at 16 kHz", 0, 2), ("integrated vs ffmpeg on the original", 0, 4),
                               ("short-term max vs ffmpeg at 16 kHz", 1, 3), ("short-term max vs ffmpeg on the original", 1, 5)):
        # files with sound over the gate; for the short-term, 3 s or more (ffmpeg gives none for less)
        ok = (data[:, 0] > -69) & (data[:, theirs] > -100)
        d = data[ok, ours] - data[ok, theirs]
        d = d[np.isfinite(d)]
        print(f"{name}: n={len(d)} mean {d.mean():+.3f} LU, |diff| median {np.median(abs(d)):.3f}, "
              f"95% {np.percentile(abs(d), 95):.3f}, max {abs(d).max():.3f}")
    by_label: dict[str, list[tuple[str, float, float]]] = {}
    for r in rows:
        row = labels.get(r[0].name)
        if row is not None:
            key = f"{row['verdict']}" + (f" ({row['must_flag']})" if row["must_flag"] else "")
            by_label.setdefault(key, []).append((r[0].name, r[1], r[7]))
    for key, found in sorted(by_label.items()):
        lufs = [x[1] for x in found]
        dbfs = [x[2] for x in found]
        quietest = min(found, key=lambda x: x[1])[0]
        print(f"{key:28} n={len(found):3}  LUFS {min(lufs):6.1f} .. {max(lufs):6.1f}  dBFS {min(dbfs):6.1f} .. "
              f"{max(dbfs):6.1f}  quietest {quietest}")


if __name__ == "__main__":
    main(sys.argv[1:] or [str(ROOT.parent / "shared" / "media")])
