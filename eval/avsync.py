"""The av_sync evaluation: sync curves of own-voice, other-voice, shifted and shrunken talking
heads, judged as the check judges them, with the ROC of the strong-evidence clips.

Every talking head (``eval/cases.py``'s TALKING from the shared set, and FETCHED from
``eval/out/fetched/`` when it is there) is decoded and encoded once (:func:`preflight.features.sync.encode`,
the picture over the whole clip); its own curve and every ordered pair, the picture of one with
the sound of another, are then computed from those encodings (:func:`~preflight.features.sync.curve_of`,
the picture's window chosen by the sound's speech as the check chooses it). The picture's and the
sound's encoders are independent, so a pair's curve is the curve of the two muxed into one file,
but for the AAC re-encode. Files are encoded as they are: the shared videos (own voices with other
faults, and the dubs labelled av_sync), and ``cases.py``'s ``dubs`` shifts and ``small`` family,
which are made into OUT if they are not there.

    .venv/bin/python eval/avsync.py eval/out/cases [--jobs 1] [--json curves.json] [--curves curves.json]

``--curves`` re-judges the curves an earlier ``--json`` saved, in a second, to try other limits.
Encodings are kept in OUT/avsync_cache/ (delete it after changing the crops or the models).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "media"
sys.path.insert(0, str(ROOT / "eval"))
import cases  # noqa: E402  (eval/cases.py, beside this file)

WHOLE = 10**6  # frames: encode the picture over the whole clip; windows are sliced from it


def _encode(path: str, cache: str, source: str | None = None) -> str | None:
    """Encode one clip into the cache (once); its cache file, or None when it has no curve.

    ``source``: the cache file of the clip whose picture this one copies stream for stream (a
    shifted sound): only the sound is encoded, the picture's encoding is that one's, exactly."""
    from preflight.features.faces import face_track
    from preflight.features.mfcc import mfcc
    from preflight.features.sync import _with_face, encode
    from preflight.features import onnx
    from preflight.features.vad import speech_activity
    from preflight.media import decode, probe
    from preflight.policy import Policy

    dest = Path(cache) / f"{Path(path).stem}.npz"
    if dest.exists() and ("none" in np.load(dest) or "face" in np.load(dest)):
        return None if "none" in np.load(dest) else str(dest)
    policy = Policy()
    media = decode(probe(Path(path)), sample_fps=policy.faces.sample_fps)
    try:
        if media.talk is None or media.audio() is None:
            np.savez(dest, none=1)
        elif dest.exists():  # an older cache entry, without the frames that have a face
            old = dict(np.load(dest))
            np.savez(dest, **old, face=_with_face(face_track(media, policy.faces.min_confidence), len(old["audio"])))
        elif source is not None and Path(source).exists() and "none" not in np.load(source):
            picture = np.load(source)
            features = mfcc(media.audio().samples).astype(np.float32)
            n = min(len(picture["audio"]), len(features) // 4)
            audio = onnx.session("light_asd_audio.onnx").run(None, {"mfcc": features[None, : 4 * n]})[0][0]
            times = np.arange(n) / 25
            speech = np.zeros(n, dtype=bool)
            for start, end in speech_activity(media, policy.speech.threshold).spans:
                speech[(times >= start) & (times < end)] = True
            np.savez(dest, visual=picture["visual"][:n], audio=audio[:n], speech=speech, mouth_px=picture["mouth_px"][:n],
                     face=picture["face"][:n])
        else:
            e = encode(media, policy.speech.threshold, policy.faces.min_confidence, window=WHOLE)
            if e is None:
                np.savez(dest, none=1)
            else:
                np.savez(dest, visual=e.visual, audio=e.audio, speech=e.speech, mouth_px=e.mouth_px, face=e.face)
    finally:
        media.close()
    return None if "none" in np.load(dest) else str(dest)


def _curve(picture: str, voice: str) -> dict | None:
    """The curve of ``picture``'s encoding with ``voice``'s sound, as the check computes it."""
    from preflight.features.sync import WINDOW, Encoded, best_window, curve_of

    p, v = np.load(picture), np.load(voice)
    n = min(len(p["visual"]), len(v["audio"]))
    first, width = best_window(v["speech"][:n], WINDOW)
    c = curve_of(Encoded(visual=p["visual"][first:first + width], first=first, audio=v["audio"][:n],
                         speech=v["speech"][:n], mouth_px=p["mouth_px"][:n], face=p["face"][:n]))
    if c is None:
        return None
    return {"frames": c.frames, "mouth_px": round(c.mouth_px, 1), "lags": c.lags.tolist(),
            "scores": [round(float(s), 4) for s in c.scores]}


def _judged(result: dict) -> dict:
    """``result`` with the av_sync check's judgment of its curve, exactly as the check judges it."""
    if result.get("scores") is None:
        return result
    from preflight.analyzers.av_sync import verdict
    from preflight.features.sync import SyncCurve
    from preflight.policy import Policy

    curve = SyncCurve(lags=np.array(result["lags"]), scores=np.array(result["scores"]), frames=result["frames"],
                      times=np.zeros(0), speaking=np.zeros(0), mouth_px=result["mouth_px"])
    j = verdict(curve, Policy().av_sync)
    return {**result, "strength": round(j.strength, 3), "status": j.status.value, "reason": j.reason,
            "strong": j.strong, "in_sync_ms": j.in_sync_lag * 40, "offset_ms": j.offset_ms, "peak_z": round(j.peak_z, 2)}


def _clips(out: Path) -> list[tuple[str, str, str, str]]:
    """(kind, name, path, truth) of every file to encode; kinds: talking, shared, shift, small."""
    labels = out / "labels.csv"
    rows = list(csv.DictReader(labels.open())) if labels.exists() else []
    have = {r["file"].split("_")[0] for r in rows}
    missing = [f for f, prefix in (("dubs", "shift"), ("small", "small")) if prefix not in have]
    if missing:
        subprocess.run([sys.executable, str(ROOT / "eval" / "cases.py"), str(out), "--only", ",".join(missing)], check=True)
        rows = list(csv.DictReader(labels.open()))
    talking = [(name, SHARED / name) for name in cases.TALKING] + list(cases.fetched().items())
    clips = [("talking", Path(name).stem, str(path), "") for name, path in talking]
    shared = [r for r in csv.DictReader((SHARED / "labels.csv").open()) if r["kind"] == "video" and r["file"] not in cases.TALKING]
    clips += [("shared", Path(r["file"]).stem, str(SHARED / r["file"]), "dub" if "av_sync" in r["must_flag"] else "own")
              for r in shared]
    clips += [(r["file"].split("_")[0], Path(r["file"]).stem, str(out / r["file"]), r["truth"])
              for r in rows if r["file"].startswith(("shift_", "small_"))]
    return clips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--curves", type=Path, help="re-judge the curves of an earlier --json instead of computing them")
    args = parser.parse_args()
    if args.curves:
        _report([_judged(r) for r in json.loads(args.curves.read_text())])
        return 0
    clips = _clips(args.out)
    cache = args.out / "avsync_cache"
    cache.mkdir(exist_ok=True)
    sources = {cases.stem(Path(path).name): str(cache / f"{name}.npz") for kind, name, path, _ in clips if kind == "talking"}
    of = [sources.get(name.removeprefix("shift_").rsplit("_", 1)[0]) if kind == "shift" else None
          for kind, name, _, _ in clips]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        done: dict[int, str | None] = {}
        for shifts in (False, True):  # the talking heads first: a shifted sound's picture is one of theirs
            batch = [i for i, c in enumerate(clips) if (c[0] == "shift") == shifts]
            done |= dict(zip(batch, pool.map(_encode, [clips[i][2] for i in batch], [str(cache)] * len(batch),
                                             [of[i] for i in batch])))
        encoded = [done[i] for i in range(len(clips))]
        items = []  # (kind, picture, voice, truth, picture's encoding, voice's encoding)
        heads = {name: (e, Path(path).name) for (kind, name, path, _), e in zip(clips, encoded) if kind == "talking" and e}
        who = {Path(k).stem: v[:2] for k, v in {**cases.TALKING, **cases.FETCHED}.items()}
        for p, (pe, _) in heads.items():
            for v, (ve, _) in heads.items():
                kind = "own" if p == v else "other"
                if kind == "other" and who[p] == who[v]:
                    continue  # two cuts of one recording from the same start: the same picture and sound
                truth = "" if kind == "own" else ("same person" if who[p][0] == who[v][0] else "other person")
                items.append((kind, p, v, truth, pe, ve))
        for (kind, name, _, truth), e in zip(clips, encoded):
            if kind != "talking":
                label = {"shared": "shared_" + truth}.get(kind, kind)
                items.append((label, name, name, truth, e, e))
        curves = list(pool.map(_curve_or_none, [i[4] for i in items], [i[5] for i in items]))
    results = [_judged({"kind": kind, "picture": p, "voice": v, "truth": truth, **(c or {"scores": None})})
               for (kind, p, v, truth, _, _), c in zip(items, curves)]
    _report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def _curve_or_none(picture: str | None, voice: str | None) -> dict | None:
    return None if picture is None or voice is None else _curve(picture, voice)


def _report(results: list[dict]) -> None:
    got = [r for r in results if r.get("strength") is not None]
    missing = sorted({r["picture"] for r in results if r.get("strength") is None})
    print(f"curves: {len(got)}; no curve (no face, too little speech): {', '.join(missing) or '-'}\n")
    print("status per kind (reason: count), strong / weak evidence")
    for kind in sorted({r["kind"] for r in got}):
        for strong in (True, False):
            rs = [r for r in got if r["kind"] == kind and r["strong"] == strong]
            if rs:
                counts = Counter(f"{r['status']}{'/' + r['reason'].split('.')[1] if r['reason'] else ''}" for r in rs)
                print(f"  {kind:12} {'strong' if strong else 'weak':6} {len(rs):4}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    own_kinds = ("own", "shared_own", "small")
    failed = [r for r in got if r["kind"] in own_kinds and r["status"] == "fail"]
    print(f"\nown voices failed: {len(failed)}" + "".join(f"\n  {r['picture']} {r['reason']} z {r['strength']}" for r in failed))
    own = np.array([r["strength"] for r in got if r["kind"] == "own" and r["strong"]])
    other = np.array([r["strength"] for r in got if r["kind"] == "other" and r["strong"]])
    if len(own) and len(other):
        auc = float(np.mean(own[:, None] > other[None, :]) + 0.5 * np.mean(own[:, None] == other[None, :]))
        print(f"\nstrong evidence: {len(own)} own voices (sync strength {own.min():.2f}-{own.max():.2f}), "
              f"{len(other)} other-voice pairs (median {np.median(other):.2f}, max {other.max():.2f}); AUC {auc:.3f}")
        print("  limit   own under   other under")
        for limit in np.arange(1.0, 4.01, 0.25):
            print(f"  {limit:5.2f}   {np.mean(own < limit):8.0%}   {np.mean(other < limit):10.0%}")
    weak_other = [r for r in got if r["kind"] == "other" and not r["strong"]]
    if weak_other:
        w = np.array([r["strength"] for r in weak_other])
        print(f"weak evidence: {len(weak_other)} other-voice pairs, sync strength median {np.median(w):.2f}, max {w.max():.2f}")
    print("\nother-voice pairs that do not fail:")
    for r in sorted((r for r in got if r["kind"] in ("other", "shared_dub") and r["status"] != "fail"), key=lambda r: -r["strength"]):
        print(f"  {r['picture']:22} with {r['voice']:22} {r['status']:4} {r['reason'] or '':20} z {r['strength']:5.2f} "
              f"frames {r['frames']:3} mouth {r['mouth_px']:5.0f} {'strong' if r['strong'] else 'weak'}")
    own_offset = {r["picture"]: r["offset_ms"] for r in got if r["kind"] == "own"}
    shifts = [r for r in got if r["kind"] == "shift"]
    if shifts:
        print("\nshifted own voices: the shift (ms), status, reason, offset reported (ms) and peak z, the shift plus the "
              "source's own offset, within 80 ms")
        right = Counter()
        for r in sorted(shifts, key=lambda r: (int(r["truth"]), r["picture"])):
            source = r["picture"].removeprefix("shift_").rsplit("_", 1)[0]
            base = next((own_offset[k] for k in own_offset if cases.stem(k) == source or k == source), None)
            expected = None if base is None else int(r["truth"]) + base
            ok = expected is not None and abs(r["offset_ms"] - expected) <= 80
            right[(r["truth"], r["reason"] == "av_sync.offset", ok)] += 1
            print(f"  {r['picture']:32} {int(r['truth']):+6d} {r['status']:4} {r['reason'] or '':19} {r['offset_ms']:+6d} "
                  f"z {r['peak_z']:4.1f}  {'' if expected is None else f'{expected:+6d}'} {'yes' if ok else 'no'} "
                  f"{'strong' if r['strong'] else 'weak'}")
        for truth in sorted({r["truth"] for r in shifts}, key=int):
            n = sum(v for k, v in right.items() if k[0] == truth)
            print(f"  {int(truth):+5d} ms: {n} clips, reported as an offset {sum(v for k, v in right.items() if k[0] == truth and k[1])}, "
                  f"peak within 80 ms {sum(v for k, v in right.items() if k[0] == truth and k[2])}")


if __name__ == "__main__":
    sys.exit(main())
