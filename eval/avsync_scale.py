"""The av_sync evaluation across frame sizes: how clear an own voice and another voice read as the
mouth the lip model sees gets smaller, and what an upscaled clip looks like to it.

The lip model sees mouth crops cut from the 400 px talk stream (``media.decode.TALK_LONG_SIDE``),
so a mouth of M source pixels in a frame whose long side is L reaches it as M x 400 / L pixels
("talk pixels"), however sharp the source. The shared talking heads are 450-1030 px; uploads are
often 1080p or 4K, where a close-up's mouth is 200-300 source pixels and 20-60 talk pixels.

Two families, made into OUT/scaled/ from every talking head (``eval/cases.py``'s TALKING and
FETCHED):
- ``wide``: the clip scaled so its mouth is 30, 40, 50, 60, 75, 90 or 110 talk pixels in a 1280x720 frame (720x1280 for a portrait clip)
  (grey around it, a third of the way down), own voice; then its picture with 6 other people's
  voices (pairs from the encodings, as ``eval/avsync.py`` makes them).
- ``up``: the phone clips (540x960) upscaled 1.5x and 2x, own voice.

    .venv/bin/python eval/avsync_scale.py eval/out [--jobs 2] [--json eval/out/avsync_scale.json]

Prints, per kind and size, the strength's range and how the committed limits judge each curve.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "eval"))
import avsync  # noqa: E402
import cases  # noqa: E402

TALK_PX = (30, 40, 50, 60, 75, 90, 110)
CANVAS = (1280, 720)
UPSCALE = (1.5, 2.0)
VOICES = 6  # other people's voices per scaled picture


def _mouth_px(cache: str) -> float:
    e = np.load(cache)
    return float(np.median(e["mouth_px"][e["face"]])) if e["face"].any() else float("nan")


def _make(src: Path, out: Path, vf: str) -> None:
    if not out.exists():  # made under another name first: a failed run leaves no half-written case
        part = out.with_name(f"part_{out.name}")
        cases.ffmpeg("-i", src, "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "copy", part)
        part.rename(out)


def _portrait(src: Path) -> bool:
    from preflight.media import probe

    video = probe(src).video
    return video.height > video.width


def _wide(src: Path, mouth: float, talk_px: int, out: Path) -> Path:
    """``src`` scaled so its mouth is ``talk_px`` talk pixels in a CANVAS frame (cropped to it when larger)."""
    w, h = CANVAS
    if _portrait(src):
        w, h = h, w
    k = talk_px / (mouth * 400 / max(w, h))
    vf = (f"scale=trunc(iw*{k:.4f}/2)*2:trunc(ih*{k:.4f}/2)*2,"
          f"crop=min(iw\\,{w}):min(ih\\,{h}):(iw-ow)/2:(ih-oh)/3,pad={w}:{h}:(ow-iw)/2:(oh-ih)/3:color=0x606870,setsar=1")
    _make(src, out, vf)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = args.out / "scaled"
    cache = folder / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    heads = {Path(n).stem: p for n, p in [(n, cases.SHARED / n) for n in cases.TALKING] + list(cases.fetched().items())}
    who = {Path(k).stem: v[0] for k, v in {**cases.TALKING, **cases.FETCHED}.items()}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        native = dict(zip(heads, pool.map(avsync._encode, map(str, heads.values()), [str(cache)] * len(heads))))
        clips: list[tuple[str, str, int | float, Path]] = []  # (kind, head, size, file)
        for name, path in heads.items():
            if native[name] is None:
                continue
            mouth = _mouth_px(native[name])
            clips += [("wide", name, px, _wide(path, mouth, px, folder / f"wide_{name}_{px}.mp4")) for px in TALK_PX]
        for name in ("good_demo3_a", "good_demo3_b"):
            for k in UPSCALE:
                out = folder / f"up_{name}_{k:g}x.mp4"
                _make(heads[name], out, f"scale=trunc(iw*{k:g}/2)*2:trunc(ih*{k:g}/2)*2,setsar=1")
                clips.append(("up", name, k, out))
        encoded = list(pool.map(avsync._encode, [str(c[3]) for c in clips], [str(cache)] * len(clips)))
        items = []  # (kind, head, size, voice, picture's encoding, voice's encoding)
        for (kind, name, size, _), e in zip(clips, encoded):
            if e is None:
                continue
            items.append((f"{kind}_own", name, size, name, e, e))
            if kind == "wide":
                others = sorted(v for v in native if native[v] and who[v] != who[name])
                step = max(1, len(others) // VOICES)
                items += [("wide_other", name, size, v, e, native[v]) for v in others[::step][:VOICES]]
        curves = list(pool.map(avsync._curve_or_none, [i[4] for i in items], [i[5] for i in items]))
    results = []
    for (kind, name, size, voice, _, _), c in zip(items, curves):
        if c is None:
            continue
        r = avsync._judged({"kind": kind, "picture": name, "voice": voice, "size": size, **c})
        long_side = max(CANVAS) if kind == "wide" else 960 * size
        r["talk_px"] = round(r["mouth_px"] * min(1.0, 400 / long_side), 1)
        results.append(r)
    _report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def _report(results: list[dict]) -> None:
    groups = defaultdict(list)
    for r in results:
        groups[(r["kind"], r["size"])].append(r)
    print("kind          size   n  strength min / median / max   strong  status (strong only)")
    for (kind, size), rs in sorted(groups.items()):
        s = np.array([r["strength"] for r in rs])
        strong = [r for r in rs if r["strong"]]
        counts = defaultdict(int)
        for r in strong:
            counts[r["status"]] += 1
        print(f"{kind:12} {size:>5} {len(rs):3}  {s.min():6.2f} / {np.median(s):6.2f} / {s.max():6.2f}   {len(strong):4}   "
              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    low = [r for r in results if r["kind"].endswith("own") and r["strength"] < 2.2]
    print(f"\nown voices under 2.2: {len(low)}" + "".join(f"\n  {r['kind']} {r['picture']} {r['size']} "
                                                         f"{r['strength']} mouth {r['mouth_px']} src px" for r in low))


if __name__ == "__main__":
    raise SystemExit(main())
