"""What single_speaker costs on a 15 s check, in CPU seconds, against the decode floor's.

Makes bench/floor.py's clip (15 s 1080p30 H.264 with 15 s of espeak-ng speech and AAC), then
measures, as CPU time (user + system, children included), which a loaded machine disturbs far
less than wall time:

    floor:          ffmpeg -i clip -f null -        (the median of --runs)
    single_speaker: its measure and judgment on the decoded clip, after the speech check has
                    found the speech it shares (the VAD is not its cost): the first run in the
                    process (loading the models) and the median of the later ones; and its
                    parts (segmentation, fbank and CAM++, mel and GE2E)

Target (issue 31): single_speaker's CPU at most 0.3x the floor's.

    .venv/bin/python bench/voices.py [--runs 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def floor_cpu(clip: Path, runs: int) -> float:
    times = []
    for _ in range(runs + 1):
        before = cpu(resource.RUSAGE_CHILDREN)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-f", "null", "-"], check=True)
        times.append(cpu(resource.RUSAGE_CHILDREN) - before)
    return statistics.median(times[1:])


def measure(clip: Path, runs: int) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from preflight.analyzers import ANALYZERS
    from preflight.features import voices
    from preflight.features.segmentation import segment
    from preflight.features.vad import speech_activity
    from preflight.media import decode, probe
    from preflight.policy import Policy

    policy = Policy()
    whole, parts = [], []
    for _ in range(runs + 1):
        media = decode(probe(clip), sample_fps=policy.faces.sample_fps)
        audio = media.audio()
        activity = speech_activity(media, policy.speech.threshold)  # the speech check's, shared
        start = cpu()
        [check] = ANALYZERS["single_speaker"].run(media, policy)
        whole.append(cpu() - start)
        media.close()
        t0 = cpu()
        heard = segment(audio)
        t1 = cpu()
        cut = voices.pieces(audio, activity, heard)
        voices.campplus(audio, cut)
        t2 = cpu()
        voices.ge2e(audio, cut)
        parts.append((t1 - t0, t2 - t1, cpu() - t2, len(cut.pieces)))
    return {"cold": whole[0], "warm": statistics.median(whole[1:]), "status": check.status.value,
            "segmentation": statistics.median(p[0] for p in parts[1:]),
            "campplus": statistics.median(p[1] for p in parts[1:]),
            "ge2e": statistics.median(p[2] for p in parts[1:]), "pieces": parts[-1][3]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    sys.path.insert(0, str(ROOT / "bench"))
    from floor import make_clip

    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp))
        floor = floor_cpu(clip, runs)
        r = measure(clip, runs)  # in this process, which has loaded no model yet: its first run is cold
    print("clip: 15 s 1920x1080 30 fps H.264 + AAC, 15 s of espeak-ng speech; CPU seconds (user + system)")
    print(f"decode floor (ffmpeg -f null):        {floor:6.2f} CPU-s (median of {runs})")
    print(f"single_speaker, first run in process: {r['cold']:6.2f} CPU-s (loads the models); {r['status']}")
    print(f"single_speaker, later runs:           {r['warm']:6.2f} CPU-s: segmentation {r['segmentation']:.2f}, "
          f"on {r['pieces']} pieces fbank + CAM++ {r['campplus']:.2f}, mel + GE2E {r['ge2e']:.2f}")
    print(f"ratio to the floor:                   {r['warm'] / floor:6.2f}  (target <= 0.3; first run {r['cold'] / floor:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
