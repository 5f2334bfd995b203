"""Real recordings the generated cases need that ../shared/media does not hold: non-stationary
noise (rain, wind, traffic, crowd babble, clatter, keyboard) and music beds of several genres.

``eval/sources.csv`` names each by the public repository, the commit and the path it comes from,
its sha256, its licence and what it sounds like. Nothing of it is committed here: this script
copies each file out of a local clone of its repository (a clone with that commit, at
``CLONES/<owner>/<name>`` or ``CLONES/<owner>+<name>/repo``) into ``eval/out/sources/`` and
checks the sum, so every case made from it is the same on every machine:

    .venv/bin/python eval/sources.py ~/clones            # then eval/cases.py --only noise_real,beds
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIST = HERE / "sources.csv"
CACHE = HERE / "out" / "sources"


def rows() -> list[dict[str, str]]:
    with LIST.open(newline="") as f:
        return list(csv.DictReader(f))


def cached(name: str) -> Path:
    """The checked copy of source ``name`` (raises with what to run when it is missing)."""
    row = next((r for r in rows() if r["name"] == name), None)
    if row is None:
        raise KeyError(f"{name} is not in {LIST}")
    path = CACHE / f"{name}{Path(row['path']).suffix}"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run eval/sources.py with a folder of clones ({row['repo']})")
    return path


def _clone(root: Path, repo: str) -> Path | None:
    owner, name = repo.split("/")
    for candidate in (root / owner / name, root / f"{owner}+{name}" / "repo", root / f"{owner}+{name}"):
        if candidate.exists():
            return candidate
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clones", type=Path, help="a folder holding clones of the repositories in sources.csv")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    bad = 0
    for row in rows():
        out = CACHE / f"{row['name']}{Path(row['path']).suffix}"
        clone = _clone(args.clones, row["repo"])
        if clone is None:
            print(f"{row['name']}: no clone of {row['repo']} under {args.clones}", file=sys.stderr)
            bad += 1
            continue
        blob = subprocess.run(["git", "-C", str(clone), "show", f"{row['commit']}:{row['path']}"],
                              capture_output=True).stdout
        if hashlib.sha256(blob).hexdigest() != row["sha256"]:
            print(f"{row['name']}: {row['repo']}@{row['commit'][:10]}:{row['path']} is missing or differs", file=sys.stderr)
            bad += 1
            continue
        out.write_bytes(blob)
    print(f"{len(rows()) - bad} of {len(rows())} sources in {CACHE}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
