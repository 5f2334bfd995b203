"""How much `preflight check` costs over decoding the file once, in CPU and in memory.

Makes a 15 s 1080p30 H.264 clip with AAC audio (a real face photo, moving, over film-like grain
so the encoder has real work, and espeak-ng speech), then runs, in turns, each in a new process
after one warm-up of each:

    floor:       ffmpeg -i clip -f null -
    check:       preflight check clip --format json
    without X:   the same with the analyzer X taken out of the registry, for each model-heavy
                 analyzer (what it adds)

and prints the medians of CPU time (user + system of the process and every process it started
and waited for: ffmpeg), of peak RSS (the largest of those processes) and of wall time, with the
ratios to the floor. CPU and RSS are what the operating system counted, which a loaded machine
disturbs far less than wall time. Targets (issue 36): a check's CPU <= 2.5x the floor's; its
peak RSS <= 600 MB.

    .venv/bin/python bench/floor.py [--runs 3] [--keep DIR] [--without av_sync,overlay,...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The analyzers that run models of their own (faces also runs the landmarker's human check;
# the face track itself is shared with av_sync, mouth_motion and overlay, and stays).
HEAVY = ("av_sync", "faces", "overlay", "single_speaker", "music", "noise")
CHECK_TARGET, RSS_TARGET_MB = 2.5, 600


def make_clip(folder: Path) -> Path:
    from skimage import data, io

    face = folder / "face.png"
    io.imsave(face, data.astronaut(), check_contrast=False)
    speech = folder / "speech.wav"
    text = ("Hello, my name is Ada. I am recording this clip to create my avatar. The light is good, "
            "the room is quiet, and I am speaking clearly and calmly to the camera for fifteen seconds.")
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(speech), text], check=True)
    clip = folder / "clip_1080p30.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "30", "-i", str(face),
         "-i", str(speech), "-t", "15",
         "-vf", "scale=-2:1080,pad=1920:1080:(ow-iw)/2:0:color=0x405060,"
                "zoompan=z='1.05+0.03*sin(on/20)':x='iw/2-(iw/zoom/2)+20*sin(on/13)':y='ih/2-(ih/zoom/2)':d=1:s=1920x1080:fps=30,"
                "noise=alls=12:allf=t,format=yuv420p",
         "-af", "apad", "-c:v", "libx264", "-preset", "medium", "-b:v", "8M", "-c:a", "aac", "-b:a", "128k",
         "-t", "15", str(clip)],
        check=True,
    )
    return clip


def without(names: str) -> str:
    """The CLI with the analyzers ``names`` (comma-separated) left out, for measuring what they
    cost (never a product option). The process is set up as the console script's is (its
    allocator's heaps, numpy's one BLAS thread: ``preflight/__init__.py`` does it for a main
    module named ``preflight``), or the rows would differ from the check's by that too."""
    return (f"import sys; sys.modules['__main__'].__file__ = 'preflight'; "
            f"from preflight.analyzers import ANALYZERS; [ANALYZERS.pop(n) for n in {names!r}.split(',')]; "
            "from preflight.cli import main; sys.argv[0] = 'preflight'; sys.exit(main())")


@dataclass(frozen=True)
class Cost:
    wall: float  # s
    cpu: float  # s, user + system, with waited-for children
    rss_mb: float  # peak RSS of the largest process of the run


def measured(cmd: list[str]) -> Cost:
    """One run of ``cmd``: what the kernel counted for it (``wait4``'s resource usage covers the
    process and the children it waited for; its ru_maxrss is the largest of them, in KB)."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return Cost(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def medians(cmds: dict[str, list[str]], runs: int) -> dict[str, Cost]:
    """The median cost of each command, run in turns (one of each, then again), so that a machine
    whose speed drifts during the bench (a shared VM's does) slows them all alike."""
    for cmd in cmds.values():
        measured(cmd)  # warm-up: page cache, onnx and mediapipe caches, first-import compilation
    runs_of: dict[str, list[Cost]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            runs_of[name].append(measured(cmd))
    return {name: Cost(*(statistics.median(getattr(c, f) for c in costs) for f in ("wall", "cpu", "rss_mb")))
            for name, costs in runs_of.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="make the clip in this folder and keep it (an existing clip there is reused)")
    parser.add_argument("--without", default=",".join(HEAVY),
                        help="comma-separated analyzers to measure the check without, one at a time ('' for none)")
    args = parser.parse_args()
    preflight = shutil.which("preflight", path=str(Path(sys.executable).parent)) or "preflight"

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clip = folder / "clip_1080p30.mp4"
        if not clip.exists():
            clip = make_clip(folder)
        cmds = {"floor": ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-f", "null", "-"],
                "check": [preflight, "check", str(clip), "--format", "json"]}
        for name in filter(None, args.without.split(",")):
            cmds[f"w/o {name}"] = [sys.executable, "-c", without(name), "check", str(clip), "--format", "json"]
        costs = medians(cmds, args.runs)

    floor, check = costs["floor"], costs["check"]
    print(f"clip: 15 s 1920x1080 30 fps H.264 + AAC; {args.runs} runs each, in turns, after one warm-up; medians")
    print(f"{'':26} {'CPU s':>7} {'x floor':>8} {'peak RSS':>9} {'wall s':>7}   {'adds CPU':>9} {'adds RSS':>9}")
    for name, c in costs.items():
        adds = "" if name in ("floor", "check") else f"   {check.cpu - c.cpu:+8.2f}s {check.rss_mb - c.rss_mb:+7.0f}MB"
        print(f"{name:26} {c.cpu:7.2f} {c.cpu / floor.cpu:7.2f}x {c.rss_mb:7.0f}MB {c.wall:7.2f}{adds}")
    print(f"check: CPU {check.cpu / floor.cpu:.2f}x the floor (target <= {CHECK_TARGET}), "
          f"peak RSS {check.rss_mb:.0f} MB (target <= {RSS_TARGET_MB})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
