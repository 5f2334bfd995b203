"""Score preflight on a labelled folder: per-check counts, precision, recall and margins; a
confusion of verdicts; every miss with the failing check's message.

The folder holds media and a labels.csv with columns file, kind (video|image|audio), verdict
(go|no-go|flag) and must_flag (check ids separated by ';'), like ../shared/media/ or the
cases ``eval/cases.py`` makes. The labels' rule (shared/media/README.md): a ``go`` file must
get no failing check; a ``no-go`` file a NO-GO verdict with at least one ``must_flag`` check
flagged (warn or fail); a ``flag`` file at least one of them flagged, either verdict.

Per check, over the files it ran on:
- TP: a labelled file (the check is in its must_flag) that it flagged; FN: one it did not;
- FP: a go file that it failed (a warning on a go file is allowed, and counted apart as "warn go");
- TN: a go file it passed; "extra": it flagged a no-go file that does not name it (may be right);
- margin: the go value nearest the flagged side and the labelled value nearest the passing
  side. When they do not overlap the check separates the classes on this set, and the gap says
  by how much; the limit should sit well inside it.

    .venv/bin/python eval/score.py ../shared/media [--json out.json] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

FLAGGED = ("warn", "fail")
BLOCKING = ("fail", "error")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", type=Path, help="also write every file's checks and the per-check figures here")
    parser.add_argument("--jobs", type=int, default=2, help="files checked at once (processes)")
    parser.add_argument("--only", help="score only files whose name contains this")
    args = parser.parse_args()
    labels_path = args.folder / "labels.csv"
    if not labels_path.exists():
        print(f"no labels.csv in {args.folder}", file=sys.stderr)
        return 2
    with labels_path.open(newline="") as f:
        labels = [r for r in csv.DictReader(f) if not args.only or args.only in r["file"]]

    tasks = [(str(args.folder / r["file"]), r["kind"]) for r in labels]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(_check, tasks))
    rows = [_row(label, result) for label, result in zip(labels, results)]

    stats = per_check(rows)
    _print_checks(stats)
    confusion = _print_verdicts(rows)
    if args.json:
        args.json.write_text(json.dumps({"files": rows, "checks": stats, "confusion": confusion}, indent=2))
    return 0


def _check(task: tuple[str, str]) -> dict:
    """One file's report, in a worker process: its checks as plain data, or the input error."""
    import preflight

    path, kind = task
    start = time.perf_counter()
    try:
        report = preflight.check(**{kind: path}, policy=preflight.Policy())
    except preflight.PreflightError as exc:
        return {"error": str(exc), "seconds": round(time.perf_counter() - start, 2)}
    checks = [{"id": c.id, "status": c.status.value, "value": c.value, "message": c.message} for c in report.checks]
    return {"verdict": report.verdict, "checks": checks, "seconds": round(time.perf_counter() - start, 2)}


def _row(label: dict, result: dict) -> dict:
    must = sorted(filter(None, label["must_flag"].split(";")))
    checks = result.get("checks", [])
    flagged = sorted({c["id"] for c in checks if c["status"] in FLAGGED})
    failing = sorted({c["id"] for c in checks if c["status"] in BLOCKING})
    got = result.get("verdict", "error")
    if label["verdict"] == "go":
        right = got != "error" and not failing
    else:
        right = bool(set(must) & set(flagged)) and (label["verdict"] == "flag" or got == "no-go")
    return {"file": label["file"], "label": label["verdict"], "must_flag": must, "truth": label.get("truth", ""),
            "got": got, "right": right, "flagged": flagged, "failing": failing, "checks": checks,
            "error": result.get("error"), "seconds": result["seconds"]}


def per_check(rows: list[dict]) -> dict[str, dict]:
    ids = sorted({c["id"] for r in rows for c in r["checks"]} | {m for r in rows for m in r["must_flag"]})
    stats = {}
    for check in ids:
        tp = fn = fp = tn = warn_go = extra = 0
        go_values, pos_values = [], []
        for r in rows:
            mine = [c for c in r["checks"] if c["id"] == check]
            statuses = {c["status"] for c in mine}
            flagged = bool(statuses & set(FLAGGED))
            values = [c["value"] for c in mine if isinstance(c["value"], (int, float)) and not isinstance(c["value"], bool)]
            if check in r["must_flag"]:
                tp += flagged
                fn += not flagged
                pos_values += values
            elif r["label"] == "go" and mine:
                failed = bool(statuses & set(BLOCKING))
                fp += failed
                warn_go += flagged and not failed
                tn += not flagged
                go_values += values
            elif flagged:
                extra += 1
        labelled = tp + fn
        stats[check] = {
            "labelled": labelled, "tp": tp, "fn": fn, "fp": fp, "tn": tn, "warn_go": warn_go, "extra": extra,
            "precision": tp / (tp + fp) if tp + fp else None, "recall": tp / labelled if labelled else None,
            "margin": _margin(go_values, pos_values),
            "built": any(c["id"] == check for r in rows for c in r["checks"]),
        }
    return stats


def _margin(go: list[float], pos: list[float]) -> dict | None:
    """The go value nearest the labelled ones and the labelled value nearest the go ones."""
    if not go or not pos:
        return None
    higher = statistics.median(pos) >= statistics.median(go)  # which side flags
    nearest_go = max(go) if higher else min(go)
    nearest_pos = min(pos) if higher else max(pos)
    gap = (nearest_pos - nearest_go) if higher else (nearest_go - nearest_pos)
    return {"go": nearest_go, "flagged": nearest_pos, "gap": round(gap, 4), "flags": "above" if higher else "below"}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _print_checks(stats: dict[str, dict]) -> None:
    print(f"{'check':<15}{'lab':>5}{'TP':>5}{'FN':>5}{'FP':>5}{'TN':>5}{'warn go':>9}{'extra':>7}"
          f"{'prec':>7}{'recall':>8}   margin (nearest go | nearest labelled, gap)")
    for check, s in stats.items():
        m = s["margin"]
        margin = (f"{m['go']:g} | {m['flagged']:g}, {m['gap']:+g} (flags {m['flags']})" if m else "-")
        note = "" if s["built"] else "  (no analyzer yet)"
        print(f"{check:<15}{s['labelled']:>5}{s['tp']:>5}{s['fn']:>5}{s['fp']:>5}{s['tn']:>5}{s['warn_go']:>9}"
              f"{s['extra']:>7}{_fmt(s['precision']):>7}{_fmt(s['recall']):>8}   {margin}{note}")


def _print_verdicts(rows: list[dict]) -> dict:
    confusion = Counter((r["label"], r["got"]) for r in rows)
    got_kinds = ["go", "no-go", "error"]
    print(f"\nverdicts (rows: label, columns: got)\n{'':<8}" + "".join(f"{k:>8}" for k in got_kinds))
    for label in ("go", "no-go", "flag"):
        if any(r["label"] == label for r in rows):
            print(f"{label:<8}" + "".join(f"{confusion[(label, k)]:>8}" for k in got_kinds))
    right = sum(r["right"] for r in rows)
    false_go = sum(r["label"] == "no-go" and r["got"] == "go" for r in rows)
    false_nogo = sum(r["label"] == "go" and r["got"] != "go" for r in rows)
    print(f"\nright by the labels' rule: {right}/{len(rows)}; false GO {false_go}; false NO-GO {false_nogo}")
    for r in rows:
        if r["right"]:
            continue
        if r["error"]:
            print(f"  {r['file']}: {r['label']}, but it could not be checked: {r['error']}")
            continue
        blocking = [c for c in r["checks"] if c["status"] in BLOCKING]
        if r["label"] == "go":
            why = "; ".join(f"{c['id']} {c['status']}: {c['message']}" for c in blocking)
        else:
            missed = [c for c in r["checks"] if c["id"] in r["must_flag"]]
            why = "; ".join(f"{c['id']} {c['status']}: {c['message']}" for c in missed) or "no such check ran"
        print(f"  {r['file']}: label {r['label']} ({', '.join(r['must_flag']) or '-'}), got {r['got']}: {why}")
    return {f"{label}->{got}": n for (label, got), n in sorted(confusion.items())}


if __name__ == "__main__":
    sys.exit(main())
