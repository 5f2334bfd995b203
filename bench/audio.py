"""What the audio checks cost on a 15 s clip, on one core.

Makes 15 s of espeak-ng speech, decodes it once with preflight's decoder, then runs the audio
analyzers (speech, single_speaker, music, noise, loudness/clipping) on a fresh decode each time,
pinned to one core:

    cold:  the first run in a new process (imports, model loading, numba's on-disk cache)
    warm:  the median of the later runs in the same process

It does both in two new processes, so the second process shows what a run costs once this
machine has compiled what it compiles. Target (issue 3): warm < 1 s.

    .venv/bin/python bench/audio.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUDIO_CHECKS = ("speech", "single_speaker", "music", "noise", "loudness")


def make_speech(folder: Path) -> Path:
    text = ("Hello, my name is Ada. I am recording this clip to create my avatar. The light is good, "
            "the room is quiet, and I am speaking clearly and calmly to the camera for fifteen seconds. "
            "Thank you for listening to me today.")
    raw, out = folder / "raw.wav", folder / "speech15.wav"
    subprocess.run(["espeak-ng", "-s", "130", "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-R", str(raw), "-r", "16000", "-c", "1", str(out), "trim", "0", "15", "pad", "0", "15",
                    "trim", "0", "15"], check=True)
    return out


def measure(path: Path, runs: int) -> dict[str, object]:
    os.sched_setaffinity(0, {0})
    from preflight.analyzers import ANALYZERS
    from preflight.media import decode, probe
    from preflight.policy import Policy

    policy = Policy()
    times = []
    for _ in range(runs + 1):
        media = decode(probe(path), sample_fps=policy.faces.sample_fps)
        media.audio()  # decoded before the clock starts: this is the analyzers' cost alone
        start = time.perf_counter()
        for name in AUDIO_CHECKS:
            ANALYZERS[name].run(media, policy)
        times.append(time.perf_counter() - start)
        media.close()
    return {"cold": times[0], "warm": statistics.median(times[1:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_speech(Path(tmp))
        results = []
        for _ in range(2):
            out = subprocess.run([sys.executable, __file__, "--measure", str(clip), "--runs", str(args.runs)],
                                 check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    print(f"15 s of 16 kHz speech; checks {', '.join(AUDIO_CHECKS)}; one core")
    for i, r in enumerate(results, 1):
        print(f"process {i}: first run {r['cold']:.2f} s, later runs {r['warm']:.2f} s (median of {args.runs})")
    print(f"warm target < 1 s: {'met' if results[-1]['warm'] < 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
