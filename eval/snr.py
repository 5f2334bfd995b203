"""How far the noise check's SNR is from the truth: per kind of background and true SNR, the
estimate's error (median and range), the share within 3 dB, and the check's statuses.

Runs the noise analyzer alone on every file of a folder made by ``eval/cases.py`` whose label has
a numeric ``truth`` (the families ``noise``, ``noise_real``, ``noise_change``); the kind of
background is the file name's word before ``snrN``:

    .venv/bin/python eval/snr.py eval/out/cases --only real_ [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np


def measure(path: Path) -> tuple[float | None, str]:
    """The noise check's value and status on one file (decoded as ``preflight check`` does)."""
    from preflight.analyzers import noise
    from preflight.media import decode, probe
    from preflight.policy import Policy

    media = decode(probe(path), sample_fps=1.0)
    try:
        [check] = noise.ANALYZER.run(media, Policy())
    finally:
        media.close()
    return check.value, check.status.value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--only", default="", help="score only files whose name starts with this")
    parser.add_argument("--json", type=Path, help="also write every file's estimate here")
    args = parser.parse_args()
    with (args.folder / "labels.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["file"].startswith(args.only) and _number(r.get("truth", ""))]
    if not rows:
        print(f"no file with a numeric truth in {args.folder}", file=sys.stderr)
        return 2
    results = []
    for r in rows:
        value, status = measure(args.folder / r["file"])
        results.append({"file": r["file"], "kind": r["file"].rsplit("_", 2)[-2], "truth": float(r["truth"]),
                        "value": value, "status": status})
    by = defaultdict(list)
    for r in results:
        by[r["kind"], r["truth"]].append(r)
    kinds = sorted({r["kind"] for r in results})
    truths = sorted({r["truth"] for r in results})
    print(f"{'kind':<10}{'within 3 dB':>12}   " + "   ".join(f"{t:g} dB: error median [min, max] fail/warn/pass" for t in truths[:1]))
    for kind in kinds:
        cells, errors = [], []
        for t in truths:
            group = by.get((kind, t), [])
            e = np.array([g["value"] - t for g in group if g["value"] is not None])
            errors += list(e)
            statuses = [g["status"] for g in group]
            counts = "/".join(str(statuses.count(s)) for s in ("fail", "warn", "pass"))
            cells.append(f"{t:>4g}: {np.median(e):+5.1f} [{e.min():+5.1f},{e.max():+5.1f}] {counts}" if len(e) else f"{t:>4g}: -")
        within = np.mean(np.abs(errors) <= 3) if errors else float("nan")
        print(f"{kind:<10}{within:>11.0%}   " + "   ".join(cells))
    errors = [r["value"] - r["truth"] for r in results if r["value"] is not None]
    low = [r for r in results if r["truth"] <= 5 and r["status"] != "fail"]
    high = [r for r in results if r["truth"] >= 20 and r["status"] == "fail"]
    print(f"\nall: {np.mean(np.abs(errors) <= 3):.0%} within 3 dB of {len(errors)}; at 5 dB or less not failing: "
          f"{len(low)}; at 20 dB or more failing: {len(high)}")
    for r in low + high:
        print(f"  {r['file']}: true {r['truth']:g} dB, read {r['value']} dB, {r['status']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
