"""How much `preflight fix` costs on long recordings, against decoding them once.

Makes 720p30 H.264 + AAC recordings of 1, 3 and 10 minutes (a real face photo, moving, over
film-like grain, and espeak-ng speech with pauses, looped; one continuous take), then times in
the same run, each in a new process after one warm-up on the shortest:

    floor:    ffmpeg -i rec -f null -
    choose:   preflight fix rec --dry-run --format json   (the analysis: the window and why)

and prints the times, their ratio to the floor per length (a cost that grows with the length
keeps the ratio flat), and the peak memory (max RSS) of each fix run.

    .venv/bin/python bench/fix.py [--minutes 1 3 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_recording(folder: Path, minutes: float) -> Path:
    from skimage import data, io

    face = folder / "face.png"
    if not face.exists():
        io.imsave(face, data.astronaut(), check_contrast=False)
    speech = folder / "speech.wav"
    if not speech.exists():
        text = ("Hello, my name is Ada. I am recording a long take for my avatar. [[_]] The light is good, "
                "the room is quiet. [[_]] I speak clearly and calmly to the camera, and I pause now and then.")
        subprocess.run(["espeak-ng", "-s", "140", "-g", "12", "-w", str(speech), text], check=True)
    out = folder / f"rec_{minutes:g}min_720p30.mp4"
    seconds = minutes * 60
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "30", "-i", str(face),
         "-stream_loop", "-1", "-i", str(speech), "-t", f"{seconds:g}",
         "-vf", "scale=-2:720,pad=1280:720:(ow-iw)/2:0:color=0x405060,"
                "zoompan=z='1.05+0.03*sin(on/20)':x='iw/2-(iw/zoom/2)+14*sin(on/13)':y='ih/2-(ih/zoom/2)':d=1:s=1280x720:fps=30,"
                "noise=alls=12:allf=t,format=yuv420p",
         "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-c:a", "aac", "-b:a", "128k",
         "-t", f"{seconds:g}", str(out)],
        check=True,
    )
    return out


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak memory (max RSS, MB) of one run."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", *cmd], check=False, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    found = re.findall(r"maxrss=(\d+)", done.stderr)
    return seconds, int(found[-1]) // 1024 if found else -1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 3, 10])
    parser.add_argument("--keep", type=Path, help="make the recordings in this folder and keep them")
    args = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        print("bench/fix.py needs /usr/bin/time (Debian: apt-get install time)", file=sys.stderr)
        return 2
    preflight = shutil.which("preflight", path=str(Path(sys.executable).parent)) or "preflight"
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        recordings = [make_recording(folder, m) for m in args.minutes]
        floor = lambda r: ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(r), "-f", "null", "-"]
        choose = lambda r: [preflight, "fix", str(r), "--dry-run", "--format", "json"]
        timed(floor(recordings[0]))  # warm-up: page cache, model caches, first-import compilation
        timed(choose(recordings[0]))
        print("720p30 H.264 + AAC, one continuous take; fix --dry-run (the analysis) against ffmpeg -f null")
        print(f"{'minutes':>8} {'floor s':>8} {'fix s':>8} {'ratio':>6} {'fix peak MB':>12}")
        for minutes, rec in zip(args.minutes, recordings):
            f, _ = timed(floor(rec))
            c, peak = timed(choose(rec))
            print(f"{minutes:8g} {f:8.1f} {c:8.1f} {c / f:6.2f} {peak:12d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
