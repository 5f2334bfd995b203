"""The av_sync evaluation: sync curves of own-voice, other-voice and shifted talking heads, and the
ROC of the check's measures over their limits.

Builds ``eval/cases.py``'s ``dubs`` family into OUT if it is not there, then computes each clip's
sync curve (:mod:`preflight.features.sync`) and prints, for each limit on the lag-0 z-score, how
many own-voice clips it fails and how many other-voice clips it flags, and for the shifted clips
the offset the curve's peak gives against the truth.

    .venv/bin/python eval/avsync.py eval/out/cases [--json curves.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "media"
sys.path.insert(0, str(ROOT / "eval"))


def _curve(path: str) -> dict | None:
    from preflight.features.sync import sync_curve
    from preflight.media import decode, probe
    from preflight.policy import Policy

    policy = Policy()
    media = decode(probe(Path(path)), sample_fps=policy.faces.sample_fps)
    try:
        curve = sync_curve(media, policy.speech.threshold, policy.faces.min_confidence)
    finally:
        media.close()
    if curve is None:
        return None
    return {"z0": round(curve.z(0), 3), "peak": curve.peak, "zpeak": round(curve.z(curve.peak), 3),
            "s0": round(curve.at(0), 3), "frames": curve.frames,
            "lags": curve.lags.tolist(), "scores": [round(float(s), 3) for s in curve.scores]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    labels = args.out / "labels.csv"
    rows = list(csv.DictReader(labels.open())) if labels.exists() else []
    if not any(r["file"].startswith(("dub_", "shift_")) for r in rows):
        subprocess.run([sys.executable, str(ROOT / "eval" / "cases.py"), str(args.out), "--only", "dubs"], check=True)
        rows = list(csv.DictReader(labels.open()))
    import cases

    clips = [("own", str(SHARED / f), "") for f in cases.TALKING]
    clips += [("other" if r["file"].startswith("dub_") else "shift", str(args.out / r["file"]), r["truth"])
              for r in rows if r["file"].startswith(("dub_", "shift_"))]
    shared = [r for r in csv.DictReader((SHARED / "labels.csv").open()) if "av_sync" in r["must_flag"]]
    clips += [("shared", str(SHARED / r["file"]), r["file"]) for r in shared]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        curves = list(pool.map(_curve, [path for _, path, _ in clips]))
    results = [{"kind": kind, "file": Path(path).name, "truth": truth, **(c or {"z0": None})}
               for (kind, path, truth), c in zip(clips, curves)]
    _report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def _report(results: list[dict]) -> None:
    z = {k: np.array([r["z0"] for r in results if r["kind"] == k and r["z0"] is not None]) for k in ("own", "other", "shift", "shared")}
    missing = [r["file"] for r in results if r["z0"] is None]
    print(f"clips: own {len(z['own'])}, other voice {len(z['other'])}, shifted {len(z['shift'])}, "
          f"shared dubs {len(z['shared'])}; no curve: {missing or '-'}")
    for kind, values in z.items():
        if len(values):
            print(f"  z at lag 0, {kind:6}: min {values.min():5.2f}  median {np.median(values):5.2f}  max {values.max():5.2f}")
    print("\nlimit on z(0)   own failed   other flagged   shifted flagged   shared dubs flagged")
    for limit in np.arange(0.5, 4.01, 0.25):
        print(f"  z < {limit:4.2f}      {np.mean(z['own'] < limit):8.0%}      {np.mean(z['other'] < limit):8.0%}"
              f"        {np.mean(z['shift'] < limit):8.0%}          {np.mean(z['shared'] < limit):8.0%}")
    print("\nshifted clips: truth (ms) -> the peak's lag (ms)")
    for r in results:
        if r["kind"] == "shift" and r["z0"] is not None:
            print(f"  {r['file']:40} {int(r['truth']):+6d} -> {r['peak'] * 40:+6d}  (z at peak {r['zpeak']:.2f}, at 0 {r['z0']:.2f})")


if __name__ == "__main__":
    sys.exit(main())
