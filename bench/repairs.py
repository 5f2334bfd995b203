"""What `preflight fix` costs on the repair cases (eval/repairs.py), against the decode floor of the
input plus the encode of the output, in CPU seconds (user + sys, children included: little
disturbed by other load on the machine, unlike wall time).

For each case, each run in a new process:

    fix:     preflight fix CASE -o OUT --format json          (plan, repair, window, cut, check)
    decode:  ffmpeg -i CASE -f null -                          (the input decoded once)
    check:   preflight check OUT                               (the re-check alone: what proving GO costs)
    encode:  ffmpeg -i CASE <the repair's crop> <fix's codecs> OUT2, less the decode
             (the output encoded once, as media/repair.py writes it: x264 veryfast CRF 18 + AAC for
             a video cropped or trimmed, the picture copied for a gain alone; 16-bit WAV for a voice;
             PNG or JPEG for an image)

and prints fix's CPU, the check's, the floor (decode + encode), fix's ratio to the floor and the
ratio without the re-check ((fix - check) / floor), and the medians per family.

    .venv/bin/python bench/repairs.py eval/out/repairs [--only face_,quiet_] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def cpu(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """CPU seconds (user + sys) of one run of ``cmd`` and its children, and the run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done


def ffmpeg(*args: str) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args]


def encode_args(case: Path, repairs: list[dict]) -> list[str]:
    crop = next((r["rect"] for r in repairs if r["kind"] == "crop"), None)
    vf = ["-vf", "crop={2}:{3}:{0}:{1}".format(*crop)] if crop else []
    if case.suffix in (".png", ".jpg", ".jpeg"):
        return [*vf, "-frames:v", "1"]
    if case.suffix in (".wav", ".ogg"):
        return ["-c:a", "pcm_s16le"]
    if not crop and not any(r["kind"] == "trim" for r in repairs):  # a gain alone: the picture copied (media/repair.py)
        return ["-c:v", "copy", "-c:a", "aac", "-b:a", "192k"]
    return [*vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--only", default="", help="substrings of the case names, comma-separated (any)")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    preflight = shutil.which("preflight", path=str(Path(sys.executable).parent)) or "preflight"
    cases = sorted(p for p in args.folder.glob("rep_*.*")
                   if p.suffix != ".json" and any(part in p.name for part in args.only.split(",")))
    if not cases:
        print(f"{args.folder}: no rep_* cases (make them with eval/repairs.py make)", file=sys.stderr)
        return 2
    rows = []
    print(f"{'case':42} {'fix CPU s':>9} {'check':>6} {'decode':>7} {'encode':>7} {'ratio':>6} {'-check':>6}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        cpu([preflight, "--help"])  # warm-up: the page cache, first-import compilation
        for case in cases:
            ext = ".mp4" if case.suffix == ".mp4" else ".wav" if case.suffix in (".wav", ".ogg") else case.suffix
            out = Path(tmp) / f"out{ext}"
            out.unlink(missing_ok=True)
            fixed, run = cpu([preflight, "fix", str(case), "-o", str(out), "--format", "json"])
            try:
                result = json.loads(run.stdout)
            except json.JSONDecodeError:
                print(f"{case.name:42} fix broke: {run.stderr.strip().splitlines()[-1:]}")
                continue
            decode, _ = cpu(ffmpeg("-i", str(case), "-f", "null", "-"))
            both, _ = cpu(ffmpeg("-i", str(case), *encode_args(case, result["repairs"]), str(Path(tmp) / f"floor{ext}")))
            encode = max(both - decode, 0.0)
            floor = decode + encode
            outcome = "GO" if result.get("output") else "not written"
            checked, _ = cpu([preflight, "check", str(out), "--format", "json"]) if out.exists() else (0.0, None)
            family = case.name.split("_")[1]
            rows.append({"case": case.name, "family": family, "fix_cpu_s": round(fixed, 2), "decode_cpu_s": round(decode, 2),
                         "encode_cpu_s": round(encode, 2), "check_cpu_s": round(checked, 2), "ratio": round(fixed / floor, 2),
                         "ratio_less_check": round((fixed - checked) / floor, 2), "outcome": outcome})
            print(f"{case.name:42} {fixed:9.1f} {checked:6.1f} {decode:7.2f} {encode:7.2f} {fixed / floor:6.1f} "
                  f"{(fixed - checked) / floor:6.1f}  {outcome}", flush=True)
    print("\nmedians per family: fix CPU / (decode + encode) CPU, and without the re-check:")
    for family in sorted({r["family"] for r in rows}):
        of = [r for r in rows if r["family"] == family]
        print(f"  {family:10} {statistics.median(r['ratio'] for r in of):6.1f} {statistics.median(r['ratio_less_check'] for r in of):6.1f}"
              f"  (fix {statistics.median(r['fix_cpu_s'] for r in of):.1f} CPU s, {len(of)} cases)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
