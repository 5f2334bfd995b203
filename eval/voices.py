"""One voice or two: how far apart each speaker encoder puts one-voice and two-voice files, on the
same pieces of speech, and how long the segmentation model hears two people at once.

For every file of the labelled folders with speech (``../shared/media`` and the folders
``eval/cases.py`` makes), the speech is cut into pieces as :mod:`preflight.features.voices` cuts
it, and each encoder embeds the same pieces:

- ``campplus``: 3D-Speaker's CAM++ (``models/campplus.onnx``, :func:`preflight.features.voices.campplus`);
- ``ge2e``: Resemblyzer's GE2E (``models/voice_encoder.onnx``, :func:`preflight.features.voices.ge2e`;
  its own front end: librosa's mel power of the audio at -30 dBFS);
- ``fused``: CAM++'s and GE2E's unit embeddings side by side, so that two pieces' cosine is the
  mean of the two encoders' (:func:`preflight.features.voices.fuse`): what the check runs;
  ``--models fused`` measures both encoders;
- ``ecapa``: SpeechBrain's ECAPA-TDNN (``ecapa.onnx`` in ``--candidates``, made by
  ``scripts/export_voice_models.py --candidates``), measured and not shipped.

The statistic single_speaker thresholds, per file: the lowest ``same_voice`` at which the check
fails it for another voice (:func:`preflight.analyzers.single_speaker.others_time` over the
limit): the similarity of the merge of groups of pieces whose undoing first exposes too much of
another voice. One-voice files should need a high one (never failing at
the limit), two-voice files fail at a low one. Per model it prints both distributions, the margin
(the lowest one-voice value minus the highest two-voice value: positive when a limit separates
them), the ROC (for each limit, the share of two-voice files failed against one-voice files
failed) and the same per family. The overlap, the time the segmentation model hears two at once,
is printed per family. Files are labelled by ``labels.csv``: two voices when ``must_flag`` names
single_speaker, one voice when the label is go or flag and does not.

    .venv/bin/python eval/voices.py ../shared/media eval/out/cases [--candidates eval/out/models] [--cache eval/out/voices]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import pickle
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from preflight.analyzers.single_speaker import others_time, overlap_time  # noqa: E402
from preflight.features import voices as v  # noqa: E402
from preflight.features.vad import detect  # noqa: E402
from preflight.media import Audio  # noqa: E402
from preflight.media.decode import MAX_CHANNELS  # noqa: E402
from preflight.policy import Policy  # noqa: E402

ALWAYS = -1.0  # the statistic of a file the check fails at any same_voice (two at once for too long)
CHECK_MODEL = "fused"  # what single_speaker runs
FAMILIES = ("turns", "stereo", "hand", "overlap", "reverb", "level", "noise", "change", "var", "re")


def load(path: Path) -> Audio:
    """The file's sound as preflight decodes it: 16 kHz, the mean of its channels and the channels."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels",
                            "-of", "csv=p=0", str(path)], capture_output=True, text=True).stdout.strip()
    if not probe:
        raise ValueError("no audio")
    n = min(max(int(probe.split(",")[0]), 1), MAX_CHANNELS)
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(path), "-map", "a:0", "-f", "f32le", "-ac", str(n),
                          "-ar", "16000", "-"], capture_output=True, check=True).stdout
    x = np.frombuffer(raw, "<f4")
    if n == 1:
        return Audio(x.copy())
    channels = np.ascontiguousarray(x[: len(x) // n * n].reshape(-1, n).T)
    return Audio(channels.mean(axis=0, dtype=np.float32), channels=channels)


class Encoders:
    """The shipped encoders (the package's own code) and any candidate found in ``--candidates``."""

    def __init__(self, candidates: Path | None) -> None:
        import onnxruntime

        self.sessions = {}
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        if candidates and (candidates / "ecapa.onnx").exists():
            self.sessions["ecapa"] = onnxruntime.InferenceSession(str(candidates / "ecapa.onnx"), options,
                                                                  providers=["CPUExecutionProvider"])

    @property
    def names(self) -> list[str]:
        return ["campplus", "ge2e", "fused", *self.sessions]

    def embed(self, name: str, audio: Audio, cut: v.Pieces) -> np.ndarray:
        if name == "campplus":
            return v.campplus(audio, cut)
        if name == "ge2e":
            return v.ge2e(audio, cut)
        if not cut.pieces:
            return np.zeros((0, 192), np.float32)
        x = np.clip(audio.samples, -1, 1).astype(np.float32)
        session = self.sessions[name]
        out = [session.run(None, {"waveforms": np.concatenate([x[f * 160 : f * 160 + 160] for f in frames])[None]})[0][0]
               for frames in cut.pieces]
        return np.stack(out)


def measure(path: Path, encoders: Encoders, models: list[str], cache: Path | None) -> dict | None:
    """The file's pieces (per track) and each encoder's embeddings of them; None without sound."""
    key = hashlib.sha1(f"{path.resolve()}:{path.stat().st_size}:{path.stat().st_mtime}".encode()).hexdigest()[:16]
    stored = (lambda what: cache / f"{key}.{what}.pickle") if cache else None
    audio = None
    if stored and stored("cut").exists():
        cut = pickle.loads(stored("cut").read_bytes())
    else:
        policy = Policy()
        try:
            audio = load(path)
        except (ValueError, subprocess.CalledProcessError):
            return None
        tracks = v.tracks_of(audio, detect(audio, policy.speech.threshold), policy.speech.threshold)
        cut = [v.pieces(a, act) for a, act in tracks]
        if stored:
            stored("cut").write_bytes(pickle.dumps(cut))
    embeddings = {}
    wanted = [m for m in models if m != "fused"] + ([m for m in ("campplus", "ge2e") if m not in models] if "fused" in models else [])
    for name in wanted:
        if stored and stored(name).exists():
            embeddings[name] = pickle.loads(stored(name).read_bytes())
            continue
        if audio is None:
            audio = load(path)
        policy = Policy()
        tracks = v.tracks_of(audio, detect(audio, policy.speech.threshold), policy.speech.threshold) \
            if len(cut) > 1 else [(audio, None)]
        embeddings[name] = [encoders.embed(name, a, p) for (a, _), p in zip(tracks, cut)]
        if stored:
            stored(name).write_bytes(pickle.dumps(embeddings[name]))
    if "fused" in models:
        embeddings["fused"] = [v.fuse(a, b) for a, b in zip(embeddings["campplus"], embeddings["ge2e"])]
    return {"cut": cut, "embeddings": embeddings}


def critical(result: dict, model: str, policy: Policy) -> float | None:
    """The lowest ``same_voice`` on the grid at which the check fails the file: another voice heard
    for longer than the limit; ALWAYS when two talk at once for longer than theirs (whatever the
    voices' limit); None when there are no pieces to compare and no overlap."""
    limits = policy.single_speaker
    embeddings = result["embeddings"][model]
    if overlap_time(v.assign(result["cut"], embeddings, 0.0)) > limits.overlap_max_s:
        return ALWAYS
    if sum(len(e) for e in embeddings) == 0:
        return None
    from scipy.cluster.hierarchy import linkage

    every = np.concatenate(embeddings).astype(np.float64)
    # The grouping changes only where a merge happens: just above each merge's similarity (the
    # check's clustering equals scipy's average linkage: tests/features/test_voices_cluster.py).
    merges = sorted(set(np.round(1.0 - linkage(every, method="average", metric="cosine")[:, 2], 4))) if len(every) > 1 else []
    for t in [-1.0, *merges]:
        if others_time(v.assign(result["cut"], embeddings, float(t) + 1e-4)) > limits.other_max_s:
            return round(float(t), 4)
    return 1.0


def family_of(folder: Path, name: str) -> str:
    if folder.resolve() == (ROOT.parent / "shared" / "media").resolve():
        return "shared"
    prefix = name.split("_")[0]
    return prefix if prefix in FAMILIES else folder.name


def roc(one: list[float], two: list[float]) -> list[tuple[float, float, float]]:
    """(limit, share of two-voice files failed, share of one-voice files failed) at each limit."""
    points = []
    for limit in sorted(set(one) | set(two)):
        points.append((limit, np.mean([s <= limit for s in two]), np.mean([s <= limit for s in one])))
    return points


def auc(one: list[float], two: list[float]) -> float:
    pairs = [(a > b) + 0.5 * (a == b) for a in one for b in two]
    return float(np.mean(pairs)) if pairs else float("nan")


def report(rows: list[dict], models: list[str]) -> dict:
    out = {}
    for model in models:
        valued = [r for r in rows if r["class"] in ("one", "two") and r.get(model) is not None]
        one = [r[model] for r in valued if r["class"] == "one" and r[model] != ALWAYS]
        two = [r[model] for r in valued if r["class"] == "two" and r[model] != ALWAYS]
        always = {c: sum(r["class"] == c and r[model] == ALWAYS for r in valued) for c in ("one", "two")}
        print(f"\n== {model}: the lowest same_voice at which a file fails for another voice "
              f"(one voice: {len(one)} files, two voices: {len(two)}; failed for two at once whatever "
              f"the limit, left out here: {always['one']} one-voice, {always['two']} two-voice)")
        if not one or not two:
            continue
        q = lambda xs, p: float(np.percentile(xs, p))  # noqa: E731
        print(f"  one voice:  min {min(one):.3f}  1% {q(one, 1):.3f}  5% {q(one, 5):.3f}  median {q(one, 50):.3f}  "
              f"mean {np.mean(one):.3f}  sd {np.std(one):.3f}")
        print(f"  two voices: max {max(two):.3f}  99% {q(two, 99):.3f}  95% {q(two, 95):.3f}  median {q(two, 50):.3f}")
        margin = min(one) - max(two)
        print(f"  margin (lowest one-voice minus highest two-voice): {margin:+.3f}; AUC {auc(one, two):.4f}")
        best = max(roc(one, two), key=lambda p: (p[1] - p[2], -p[0]))
        zero_fp = [p for p in roc(one, two) if p[2] == 0]
        print(f"  ROC: best limit {best[0]:.3f} fails {best[1]:.1%} of two-voice and {best[2]:.1%} of one-voice files; "
              + (f"with no one-voice file failed, at most {zero_fp[-1][1]:.1%} of two-voice at limit < {min(one):.3f}"
                 if zero_fp else "every limit fails a one-voice file"))
        print("  ROC points (limit: two-voice failed, one-voice failed): " + ", ".join(
            f"{lim:.2f}: {np.mean([x < lim for x in two]):.0%}, {np.mean([x < lim for x in one]):.1%}"
            for lim in np.arange(round(q(two, 50), 2), round(q(one, 50), 2) + 1e-9, 0.02)))
        print(f"  {'family':<8}{'one':>5}{'lowest':>8}{'two':>5}{'highest':>8}{'margin':>8}")
        fams = defaultdict(lambda: ([], []))
        for r in valued:
            if r[model] != ALWAYS:
                fams[r["family"]][r["class"] == "two"].append(r[model])
        for fam, (o, t) in sorted(fams.items()):
            lo, hi = (min(o) if o else None), (max(t) if t else None)
            m = f"{lo - hi:+.3f}" if o and t else "-"
            print(f"  {fam:<8}{len(o):>5}{'' if lo is None else f'{lo:.3f}':>8}{len(t):>5}"
                  f"{'' if hi is None else f'{hi:.3f}':>8}{m:>8}")
        if model == CHECK_MODEL:
            at_limits(valued, model)
        out[model] = {"one": one, "two": two, "margin": margin, "auc": auc(one, two)}
    return out


def at_limits(rows: list[dict], model: str) -> None:
    """What the policy's limits do, per family: fail (below same_voice, or two at once), warn
    (below maybe_same_voice), pass; and each class's nearest value against the fail limit."""
    limits = Policy().single_speaker
    fail, warn = limits.same_voice, limits.maybe_same_voice

    def verdict(x: float) -> str:
        return "fail" if x < fail else ("warn" if x < warn else "pass")

    print(f"  at the policy's limits (fail below {fail:g} or two at once over {limits.overlap_max_s:g} s, warn below "
          f"{warn:g}); gap: lowest one-voice value (not failed for two at once) minus {fail:g}, and {fail:g} minus the "
          f"highest two-voice value")
    print(f"  {'family':<8}{'one':>5}{'fail':>6}{'(flag)':>7}{'warn':>6}{'(go)':>6}{'lowest':>8}{'gap':>8}"
          f"{'two':>6}{'fail':>6}{'warn':>6}{'pass':>6}{'highest':>9}{'gap':>8}")
    fams = defaultdict(list)
    for r in rows:
        fams[r["family"]].append(r)
    for fam in [*sorted(fams), "all"]:
        these = rows if fam == "all" else fams[fam]
        one = [r for r in these if r["class"] == "one"]
        two = [r for r in these if r["class"] == "two"]
        n1 = {k: [r for r in one if verdict(r[model]) == k] for k in ("fail", "warn", "pass")}
        n2 = {k: [r for r in two if verdict(r[model]) == k] for k in ("fail", "warn", "pass")}
        lo = min((r[model] for r in one if r[model] != ALWAYS), default=None)
        hi = max((r[model] for r in two if r[model] != ALWAYS), default=None)
        print(f"  {fam:<8}{len(one):>5}{len(n1['fail']):>6}{sum(r['label'] == 'flag' for r in n1['fail']):>7}"
              f"{len(n1['warn']):>6}{sum(r['label'] == 'go' for r in n1['warn']):>6}"
              f"{'-' if lo is None else f'{lo:.3f}':>8}{'-' if lo is None else f'{lo - fail:+.3f}':>8}"
              f"{len(two):>6}{len(n2['fail']):>6}{len(n2['warn']):>6}{len(n2['pass']):>6}"
              f"{'-' if hi is None else f'{hi:.3f}':>9}{'-' if hi is None else f'{fail - hi:+.3f}':>8}")
    for r in sorted(rows, key=lambda r: r[model]):
        if r["class"] == "one" and verdict(r[model]) != "pass":
            print(f"    one voice, {verdict(r[model])}: {r['file']} ({r['label']}, {r[model]:.3f})")
    for r in sorted(rows, key=lambda r: r[model]):
        if r["class"] == "two" and verdict(r[model]) == "pass":
            print(f"    two voices, pass: {r['file']} ({r[model]:.3f})")


def overlap_report(rows: list[dict]) -> None:
    print("\n== overlap: seconds of speech the segmentation model hears two people at once (largest, by family and class)")
    fams = defaultdict(lambda: ([], []))
    for r in rows:
        if r["class"] in ("one", "two"):
            fams[r["family"]][r["class"] == "two"].append((r["overlap"], r["file"]))
    for fam, (o, t) in sorted(fams.items()):
        top = max(o) if o else None
        low_two = sorted(t)[: max(1, len(t) // 10)] if t else []
        print(f"  {fam:<8} one voice: {len(o):>4} files, most {top[0] if top else 0:.2f} s"
              f"{f' ({top[1]})' if top and top[0] > 0 else ''}; two voices: {len(t):>3} files, "
              f"{sum(x > 1.0 for x, _ in t)} over 1 s" + (f", least {low_two[0][0]:.2f} s" if t else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--candidates", type=Path, help="folder with ecapa.onnx (a candidate encoder)")
    parser.add_argument("--cache", type=Path, help="keep each file's pieces and embeddings here")
    parser.add_argument("--only", help="files whose name contains this")
    parser.add_argument("--models", help="comma-separated encoders (default: every one found)")
    parser.add_argument("--families", help="comma-separated families to measure (default: all)")
    parser.add_argument("--json", type=Path, help="write every file's values here")
    args = parser.parse_args()
    encoders = Encoders(args.candidates)
    models = args.models.split(",") if args.models else encoders.names
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    policy = Policy()
    rows = []
    for folder in args.folders:
        with (folder / "labels.csv").open(newline="") as f:
            labels = [r for r in csv.DictReader(f) if r["kind"] in ("audio", "video") and (not args.only or args.only in r["file"])]
        for label in labels:
            two = "single_speaker" in label["must_flag"].split(";")
            cls = "two" if two else ("one" if label["verdict"] in ("go", "flag") else "other")
            if cls == "other":
                continue
            family = family_of(folder, label["file"])
            if args.families and family not in args.families.split(","):
                continue
            result = measure(folder / label["file"], encoders, models, args.cache)
            if result is None:
                continue
            row = {"file": label["file"], "family": family, "class": cls, "label": label["verdict"],
                   "overlap": round(sum(len(p.overlap) for p in result["cut"]) * 0.01, 2),
                   "pieces": sum(len(p.pieces) for p in result["cut"])}
            for model in models:
                row[model] = critical(result, model, policy)
            rows.append(row)
            print(f"{label['file'][:60]:<60} {cls} pieces {row['pieces']:>3} overlap {row['overlap']:5.2f} "
                  + " ".join(f"{m} {row[m] if row[m] is not None else '-'}" for m in models), flush=True)
    summary = report(rows, models)
    overlap_report(rows)
    if args.json:
        args.json.write_text(json.dumps({"files": rows, "models": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
