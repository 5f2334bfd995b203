"""The windows ``preflight fix`` chooses, file by file, to compare two versions of it.

Runs ``preflight.fix(..., dry_run=True)`` on every video and voice audio of a labelled folder
(../shared/media) and on the long recordings tests/test_fix.py composes from it (a music intro, a
take and four other people; a take between two music stretches; one speaker across a hard cut
to a tighter framing; two readers one after the other; music alone), and writes per file the
window, the best partial window when none qualifies, the stretches avoided (check, start, end)
and the window's checks' statuses. ``--compare`` prints what moved between two such outputs.

    .venv/bin/python eval/fix_windows.py ../shared/media --out fix.json [--work DIR]
    .venv/bin/python eval/fix_windows.py --compare before.json after.json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def composed(media: Path, work: Path) -> list[Path]:
    """tests/test_fix.py's long recordings, made once in ``work`` by its own recipes (from
    ../shared/media, which ``media`` must be)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_fix import INTRO, OUTRO, TAKE, _concat, _ffmpeg, _two_readers

    work.mkdir(parents=True, exist_ok=True)
    made = {
        "interview.mp4": lambda p: _concat(p, [(INTRO, "", None), (TAKE, "", None), *((o, "", None) for o in OUTRO)]),
        "short.mp4": lambda p: _concat(p, [(INTRO, "", None), ("good_obama_a.mp4", "", 6.0), (INTRO, "", None)]),
        "cut.mp4": lambda p: _concat(p, [("good_obama_pauses.mp4", "", None), ("good_obama_a.mp4", "crop=300:300:75:40,", 6.0)]),
        "two_readers.wav": _two_readers,
        "music.wav": lambda p: _ffmpeg("-i", media / INTRO, "-vn", "-ac", "1", "-ar", "16000", p),
    }
    for name, make in made.items():
        if not (work / name).exists():
            make(work / name)
    return [work / name for name in made]


def _window(w) -> list[float] | None:
    return None if w is None else [w.start, w.end]


def run(files: list[Path], out: Path) -> None:
    import preflight

    results: dict[str, dict] = {}
    for path in files:
        started = time.process_time()
        try:
            r = preflight.fix(path, dry_run=True)
        except Exception as exc:  # noqa: BLE001 - recorded: a refusal is a result too
            results[path.name] = {"error": f"{type(exc).__name__}: {exc}"}
        else:
            results[path.name] = {
                "window": _window(r.window), "best_partial": _window(r.best_partial),
                "rejected": [[s.check, s.start, s.end] for s in r.rejected],
                "checks": {c.id: c.status.value for c in r.checks}, "why": r.why,
            }
        results[path.name]["cpu_s"] = round(time.process_time() - started, 2)
        print(path.name, results[path.name].get("window"), results[path.name]["cpu_s"], file=sys.stderr, flush=True)
        out.write_text(json.dumps(results, indent=1))


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    moved = 0
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name, {}), b.get(name, {})
        diffs = [k for k in ("window", "best_partial", "error") if x.get(k) != y.get(k)]
        both = set(x.get("checks", {})) & set(y.get("checks", {}))
        if any(x["checks"][c] != y["checks"][c] for c in both):
            diffs.append("checks")  # a check judged by both moved; one judged by one only is listed apart
        if added := sorted(set(y.get("checks", {})) - set(x.get("checks", {}))):
            print(f"{name}: judged now too: " + ", ".join(f"{c} {y['checks'][c]}" for c in added))
        stretches = {tuple(s) for s in x.get("rejected", [])} ^ {tuple(s) for s in y.get("rejected", [])}
        if diffs or stretches:
            moved += bool(diffs)
            print(f"{name}: " + "; ".join(f"{k} {x.get(k)} -> {y.get(k)}" for k in diffs))
            for s in sorted(stretches, key=lambda s: (s[1], s[0])):
                print(f"    {'-' if tuple(s) in {tuple(t) for t in x.get('rejected', [])} else '+'} {s}")
    print(f"{len(set(a) | set(b))} files; window, partial, checks or refusal moved on {moved}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/fix_windows"))
    parser.add_argument("--compare", type=Path, nargs=2)
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    with (args.folder / "labels.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] in ("video", "audio")]
    run(composed(args.folder, args.work) + [args.folder / r["file"] for r in rows], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
