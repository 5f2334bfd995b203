"""How a batch compares with decoding its clips.

Makes 20 different 10 s 1280x720 30 fps H.264 + AAC clips (the fixtures' speaking puppet: the
astronaut photo whose jaw moves with espeak-ng speech, over sensor grain; each its own sentence),
then times, in the same run:

    floor:  ffmpeg -i clip -f null -, for the 20 clips two at a time
    batch:  preflight batch FOLDER --jobs 2 --no-cache   (a fresh ledger)
    again:  preflight batch FOLDER --jobs 2              (everything from the cache)

and prints the wall times and the ratio batch / floor. Target: ratio <= 1.5.

    .venv/bin/python bench/batch.py [--clips 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken"]


def make_clips(folder: Path, count: int) -> list[Path]:
    sys.path.insert(0, str(ROOT / "fixtures"))
    from make_fixtures import speaking_video
    from skimage import data, io

    face = folder / "face.png"
    io.imsave(face, data.astronaut(), check_contrast=False)
    clips = folder / "clips"
    clips.mkdir(exist_ok=True)

    def one(i: int) -> Path:
        speech = folder / f"speech{i}.wav"
        text = (f"Hello, my name is {WORDS[i % len(WORDS)]}. This is take number {i + 1} of my avatar recording, "
                "spoken clearly to the camera in a quiet room, for about ten seconds.")
        subprocess.run(["espeak-ng", "-s", "140", "-w", str(speech), text], check=True)
        clip = clips / f"clip{i:02d}.mp4"
        speaking_video(face, speech, clip, 10.0, fps=30, grain=10)
        return clip

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return list(pool.map(one, range(count)))


def wall(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="make the clips in this folder and keep them")
    args = parser.parse_args()
    preflight = shutil.which("preflight", path=str(Path(sys.executable).parent)) or "preflight"

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clips = make_clips(folder, args.clips)

        def decode(clip: Path) -> None:
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-f", "null", "-"], check=True)

        def floor() -> None:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(decode, clips))

        env = {**os.environ, "PREFLIGHT_HOME": str(Path(tmp) / "home")}

        def batch(*extra: str) -> None:
            done = subprocess.run([preflight, "batch", str(clips[0].parent), "--jobs", "2", *extra], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if done.returncode not in (0, 1):
                raise SystemExit(f"preflight batch failed ({done.returncode}):\n{done.stdout}")
            print(done.stdout.strip().splitlines()[-1 if done.returncode == 0 else -2])

        floor()  # warm the page cache
        floor_s = wall(floor)
        batch_s = wall(lambda: batch("--no-cache"))
        cached_s = wall(batch)
    print(f"{args.clips} clips of 10 s 1280x720 30 fps H.264 + AAC, 2 at a time / --jobs 2")
    print(f"decode floor (ffmpeg -f null):   {floor_s:6.2f} s")
    print(f"preflight batch:                 {batch_s:6.2f} s   ratio {batch_s / floor_s:.2f}  (target <= 1.5)")
    print(f"preflight batch, all cached:     {cached_s:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
