"""Score preflight on a labelled folder: per-check precision and recall, and verdict accuracy.

The folder holds media and a labels.csv with columns file, kind (video|image|audio), verdict
(go|no-go) and must_flag (check ids separated by ';'), like ../shared/media/. A check "flags" a
file when it warns or fails there. Recall counts the labelled files a check flagged; precision
counts the flags that a label asked for. A flag that no label asked for, on a no-go file, may
still be right (labels name what must be flagged, not all that may be): such flags are shown
apart from flags on go files, which are always wrong.

    .venv/bin/python eval/score.py ../shared/media [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import preflight
from preflight.report import Status

FLAGGED = (Status.WARN, Status.FAIL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", type=Path, help="also write every file's flags here")
    args = parser.parse_args()
    labels_path = args.folder / "labels.csv"
    if not labels_path.exists():
        print(f"no labels.csv in {args.folder}", file=sys.stderr)
        return 2
    with labels_path.open(newline="") as f:
        labels = list(csv.DictReader(f))

    policy = preflight.Policy()
    rows = []
    for label in labels:
        path = args.folder / label["file"]
        start = time.perf_counter()
        role = {"video": "video", "image": "image", "audio": "audio"}[label["kind"]]
        try:
            report = preflight.check(**{role: path}, policy=policy)
            flags = {c.id for c in report.checks if c.status in FLAGGED}
            failed = {c.id for c in report.checks if c.status in (Status.FAIL, Status.ERROR)}
            verdict, ran = report.verdict, {c.id for c in report.checks}
        except preflight.PreflightError as exc:
            flags, failed, verdict, ran = set(), set(), f"error: {exc}", set()
        rows.append({
            "file": label["file"], "verdict": label["verdict"], "got": verdict,
            "must_flag": sorted(filter(None, label["must_flag"].split(";"))), "flags": sorted(flags),
            "failed": sorted(failed), "ran": sorted(ran), "seconds": round(time.perf_counter() - start, 2),
        })

    checks = sorted({c for r in rows for c in r["must_flag"]} | {c for r in rows for c in r["ran"]})
    print(f"{'check':<15}{'labelled':>9}{'TP':>5}{'FN':>5}{'FP go':>7}{'extra':>7}{'precision':>11}{'recall':>8}")
    stats = defaultdict(dict)
    for check in checks:
        labelled = [r for r in rows if check in r["must_flag"]]
        tp = sum(check in r["flags"] for r in labelled)
        fn = len(labelled) - tp
        fp_go = sum(check in r["failed"] for r in rows if r["verdict"] == "go")
        extra = sum(check in r["flags"] for r in rows if r["verdict"] != "go" and check not in r["must_flag"])
        ran = any(check in r["ran"] for r in rows)
        precision = tp / (tp + fp_go) if tp + fp_go else None
        recall = tp / len(labelled) if labelled else None
        stats[check] = {"labelled": len(labelled), "tp": tp, "fn": fn, "fp_go": fp_go, "extra": extra,
                        "precision": precision, "recall": recall, "built": ran}
        fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
        note = "" if ran else "  (no analyzer yet)"
        print(f"{check:<15}{len(labelled):>9}{tp:>5}{fn:>5}{fp_go:>7}{extra:>7}{fmt(precision):>11}{fmt(recall):>8}{note}")

    right = sum(r["got"] == r["verdict"] for r in rows)
    print(f"\nverdict accuracy: {right}/{len(rows)} = {right / len(rows):.2f}")
    for r in rows:
        if r["got"] != r["verdict"] or set(r["must_flag"]) - set(r["flags"]):
            missing = sorted(set(r["must_flag"]) - set(r["flags"]))
            print(f"  {r['file']}: label {r['verdict']}, got {r['got']}; not flagged: {missing or '-'}; "
                  f"failed: {r['failed'] or '-'}")
    if args.json:
        args.json.write_text(json.dumps({"files": rows, "checks": stats}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
