"""How much `preflight check` costs over decoding the file once.

Makes a 15 s 1080p30 H.264 clip with AAC audio (a real face photo, moving, over film-like grain
so the encoder has real work, and espeak-ng speech), then times, in the same run, in turns and
each in a new process after one warm-up:

    floor:      ffmpeg -i clip -f null -
    preflight:  preflight check clip --format json
    without av_sync: the same with the av_sync analyzer taken out of the registry (what it adds)

and prints the medians of wall time and of CPU time (user + system of the process and its
children, which a loaded machine disturbs far less), and their ratios. Targets: ratio <= 2.0;
av_sync adds at most 0.6x the floor's CPU.

    .venv/bin/python bench/floor.py [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


# The CLI with one analyzer left out, for measuring what it costs (never a product option).
_WITHOUT_AV_SYNC = ("import sys; from preflight.analyzers import ANALYZERS; del ANALYZERS['av_sync']; "
                    "from preflight.cli import app; sys.argv[0] = 'preflight'; app()")


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the command and everything it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_times(cmds: list[list[str]], runs: int) -> list[tuple[float, float]]:
    """The median (wall, CPU) seconds of each command, run in turns (one of each, then again), so
    that a machine whose speed drifts during the bench (a shared VM's does, by 30%) slows them all alike."""
    for cmd in cmds:
        timed(cmd)  # warm-up: page cache, onnx and mediapipe caches, first-import compilation
    times = [[timed(cmd) for cmd in cmds] for _ in range(runs)]
    return [(statistics.median(t[i][0] for t in times), statistics.median(t[i][1] for t in times)) for i in range(len(cmds))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="make the clip in this folder and keep it")
    args = parser.parse_args()
    preflight = shutil.which("preflight", path=str(Path(sys.executable).parent)) or "preflight"

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clip = make_clip(folder)
        floor, check, without = median_times([
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-f", "null", "-"],
            [preflight, "check", str(clip), "--format", "json"],
            [sys.executable, "-c", _WITHOUT_AV_SYNC, "check", str(clip), "--format", "json"],
        ], args.runs)
    print(f"clip: 15 s 1920x1080 30 fps H.264 + AAC; {args.runs} runs each, in turns, after one warm-up")
    print("                                 wall      CPU")
    for name, (wall, cpu) in (("decode floor (ffmpeg -f null)", floor), ("preflight check", check),
                              ("preflight check w/o av_sync", without)):
        print(f"{name + ':':32} {wall:6.2f} s {cpu:6.2f} s")
    print(f"ratio:                           {check[0] / floor[0]:6.2f}   {check[1] / floor[1]:6.2f}  (target <= 2.0)")
    print(f"ratio without av_sync:           {without[0] / floor[0]:6.2f}   {without[1] / floor[1]:6.2f}")
    print(f"av_sync adds, x the floor:       {(check[0] - without[0]) / floor[0]:6.2f}   "
          f"{(check[1] - without[1]) / floor[1]:6.2f}  (target: CPU <= 0.6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
