"""Cases for ``preflight fix``'s repairs, made from ../shared/media's good clips and portraits, and
their score.

    .venv/bin/python eval/repairs.py make eval/out/repairs          # the cases, each with NAME.json
    .venv/bin/python eval/repairs.py score eval/out/repairs         # fix each one, compare the repair

Each case is a good source with one fault an editor removes in a minute, and beside it
``NAME.json``: the repair a careful editor makes, from the geometry the fault was drawn with (not
from any measurement by the product):

- ``crop``: ``frame`` [W, H] and ``accept``: rectangles [x0, y0, x1, y1] any of which is right
  (a corner logo can go with the rows above or below it or the columns beside it); an edge given
  as null is free (a 9:16 clip cropped in width must lose height too, to stay within 9:16, and
  which rows go is a choice). ``keep`` is the speaker's face, which every crop must hold.
- ``gain_db``: the gain to the policy's loudness target (-23 LUFS), held so the true peak stays
  at -1 dBTP, from ffmpeg's ebur128 on the good source before it was made 18 dB quieter.
- ``trim``: the seconds cut from the start (the stray frames).

Families: a second face (another speaker's head, moving) pasted at the left or right edge of
the vertical clips and at the right of May's (the only clips with room beside the speaker); a
channel bug (a boxed "NEWS 24") in each corner; letterbox and pillarbox bars; a caption strip
under each good portrait; the sound 18 dB quieter; two frames of another clip at the start.
The square HDTF clips (512 px, the face filling 60% of the frame) and the vertical clip are
scaled 1.5x first for the second faces and the logos: a crop of a 512 px clip leaves less than
the resolution check's 480 px, which fix must refuse (the ``native`` case, a bug on the aoc clip
at its own 512 px, shows the refusal is named). A bug whose box overlaps the corner of the face's
extent over the clip (the HDTF close-ups' bottom corners: the chin comes within the bug's rows
and the ear within its columns) has no crop that keeps the face whole: its case expects the
refusal, by its reason. Each face and logo case names its ``base``, the clip scaled (mirrored)
as it was with no fault; a case NO-GO after the right repair whose base is NO-GO too is counted
apart (``base-no-go``): the repair cannot make GO what was not GO before the fault.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "media"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
TARGET_LUFS, PEAK_DBTP = -23.0, -1.0
QUIET_DB = 18.0
PORTRAITS = ["img_obama.jpg", "img_musk_df18.jpg", "img_zuckerberg_df13.jpg", "img_bezos_df21.jpg", "img_paul_rudd_fn.jpg",
             "img_tom_cruise_dl.jpg", "img_dicaprio_memo.jpg", "image_one_person.png"]
# The speaker's face over each clip (union of the detector's boxes, source pixels), for placing the
# faults beside it and for ``keep``.
FACES = {"good_aoc.mp4": (103, 124, 467, 475), "good_katie.mp4": (102, 129, 458, 464), "good_may5s.mp4": (69, 123, 391, 428),
         "good_demo3_a.mp4": (226, 262, 362, 404), "good_demo3_b.mp4": (220, 264, 375, 408),
         "good_obama_a.mp4": (79, 109, 368, 360)}
SIZES = {"good_aoc.mp4": (512, 512), "good_katie.mp4": (512, 512), "good_may5s.mp4": (512, 512),
         "good_demo3_a.mp4": (540, 960), "good_demo3_b.mp4": (540, 960), "good_obama_a.mp4": (450, 450)}
UP = 1.5


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *map(str, args)], check=True)


def stem(name: str) -> str:
    return re.sub(r"^(good_|img_|image_)", "", Path(name).stem)


def scaled(box: tuple[float, ...], k: float) -> list[int]:
    return [round(v * k) for v in box]


def write(out: Path, name: str, expected: dict) -> None:
    (out / f"{Path(name).stem}.json").write_text(json.dumps({"file": name, **expected}, indent=1))


VIDEO = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "copy"]


def second_faces(out: Path) -> int:
    """Katie's head and shoulders (her moving clip, her face about 65% of the patch's width) at an
    edge, her face 0.8 of the speaker's face width or less where the room beside the speaker is
    narrower (the patch at most 3/4 of that room)."""
    n = 0
    for clip, sides in (("good_demo3_a.mp4", ("left", "right")), ("good_demo3_b.mp4", ("left", "right")),
                        ("good_may5s.mp4", ("right",))):
        w, h = (round(v * UP) for v in SIZES[clip])
        for side in sides:
            # the vertical clips have room on the left only: mirrored for the right
            flip = side == "right" and "demo3" in clip
            face = scaled(FACES[clip], UP)
            if flip:
                face = [w - face[2], face[1], w - face[0], face[3]]
            room = face[0] if side == "left" else w - face[2]
            pw = min(round(0.8 * (face[2] - face[0]) / 0.65), round(0.75 * room))
            ph = round(pw * 440 / 480)
            y = max(0, face[1] - round(0.1 * ph))
            x = 0 if side == "left" else w - pw
            name = f"rep_face_{side}_{stem(clip)}.mp4"
            ffmpeg("-i", SHARED / clip, "-stream_loop", "-1", "-i", SHARED / "good_katie.mp4", "-filter_complex",
                   f"[0:v]scale={w}:{h}:flags=lanczos,setsar=1{',hflip' if flip else ''}[b];[1:v]crop=480:440:16:72,scale={pw}:{ph},setsar=1[p];"
                   f"[b][p]overlay={x}:{y}:shortest=1[v]", "-map", "[v]", "-map", "0:a", *VIDEO, out / name)
            rect = [pw, None, w, None] if side == "left" else [0, None, w - pw, None]
            write(out, name, {"fault": f"a second face at the {side} edge" + (" (the clip mirrored)" if flip else ""),
                              "crop": {"frame": [w, h], "accept": [rect], "keep": face}, "base": base(out, clip, flip)})
            n += 1
    return n


CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")


def logos(out: Path) -> int:
    """A boxed channel name in each corner, 3% of the short side in from it."""
    n = 0
    for clip in ("good_aoc.mp4", "good_katie.mp4", "good_demo3_a.mp4"):
        w, h = (round(v * UP) for v in SIZES[clip])
        short = min(w, h)
        size, inset = round(0.045 * short), round(0.03 * short)
        face = scaled(FACES[clip], UP)
        for corner in CORNERS:
            top, left = corner.startswith("top"), corner.endswith("left")
            name = f"rep_logo_{corner}_{stem(clip)}.mp4"
            pad = round(size * 0.4)
            x = f"{inset + pad}" if left else f"w-tw-{inset + pad}"
            y = f"{inset + pad}" if top else f"h-th-{inset + pad}"
            bug = (f"drawtext=fontfile={FONT}:text='NEWS 24':fontcolor=white:fontsize={size}:box=1:"
                   f"boxcolor=0xc0102a@0.9:boxborderw={pad}:x={x}:y={y}")
            ffmpeg("-i", SHARED / clip, "-vf", f"scale={w}:{h}:flags=lanczos,setsar=1,{bug}", *VIDEO, out / name)
            bx0, by0, bx1, by1 = drawn(w, h, bug)
            rows = [0, by1, w, h] if top else [0, 0, w, by0]
            cols = [bx1, 0, w, h] if left else [0, 0, bx0, h]
            fault = f"a channel bug in the {corner.replace('_', ' ')} corner"
            if not any(a[0] <= face[0] and a[1] <= face[1] and a[2] >= face[2] and a[3] >= face[3] for a in (rows, cols)):
                # the bug overlaps the corner of the face's extent over the clip (a face filling the
                # frame): neither the rows nor the columns clear of it hold the face whole
                write(out, name, {"fault": fault + ", over the corner of the face's extent", "refuse": "within the speaker's",
                                  "base": base(out, clip, False)})
            else:
                write(out, name, {"fault": fault, "crop": {"frame": [w, h], "accept": [rows, cols], "keep": face},
                                  "base": base(out, clip, False)})
            n += 1
    return n


def base(out: Path, clip: str, flip: bool) -> str:
    """The clip scaled (and mirrored) as its cases are, with no fault: what a case's NO-GO is held
    against (a fault's repair cannot make GO what was NO-GO before the fault was added)."""
    w, h = (round(v * UP) for v in SIZES[clip])
    name = f"base_{stem(clip)}{'_flip' if flip else ''}.mp4"
    if not (out / name).exists():
        ffmpeg("-i", SHARED / clip, "-vf", f"scale={w}:{h}:flags=lanczos,setsar=1{',hflip' if flip else ''}", *VIDEO, out / name)
    return name


def drawn(w: int, h: int, graph: str) -> tuple[int, int, int, int]:
    """The box [x0, y0, x1, y1] a filter draws on a black frame of w x h."""
    import numpy as np
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", f"color=black:s={w}x{h}", "-vf", graph,
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    ys, xs = np.nonzero(np.frombuffer(raw, np.uint8).reshape(h, w) > 16)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def bars(out: Path) -> int:
    """Letterbox and pillarbox bars around the clip at its own size."""
    n = 0
    for clip in ("good_aoc.mp4", "good_katie.mp4", "good_demo3_a.mp4"):
        w, h = SIZES[clip]
        face = list(FACES[clip])
        for kind, (fw, fh) in (("letterbox", (w, round(h * 4 / 3 / 2) * 2)), ("pillarbox", (round(w * 4 / 3 / 2) * 2, h))):
            x, y = (fw - w) // 2, (fh - h) // 2
            name = f"rep_{kind}_{stem(clip)}.mp4"
            ffmpeg("-i", SHARED / clip, "-vf", f"pad={fw}:{fh}:{x}:{y}:black,setsar=1", *VIDEO, out / name)
            write(out, name, {"fault": f"{kind} bars", "crop": {"frame": [fw, fh], "accept": [[x, y, x + w, y + h]],
                                                                "keep": [face[0] + x, face[1] + y, face[2] + x, face[3] + y]}})
            n += 1
    return n


def captions(out: Path) -> int:
    """A caption strip under each good portrait: the picture extended by a dark band, a line of text in it."""
    n = 0
    for portrait in PORTRAITS:
        w, h = (int(v) for v in subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of",
                                                "csv=p=0", SHARED / portrait], capture_output=True, text=True,
                                               check=True).stdout.strip().split(",")[:2])
        band = round(h * 0.14 / 2) * 2
        name = f"rep_caption_{stem(portrait)}.png"
        ffmpeg("-i", SHARED / portrait, "-vf", f"format=rgb24,pad={w}:{h + band}:0:0:0x101010,drawtext=fontfile={FONT}:"
               f"text='Meet our new host':fontcolor=white:fontsize={round(band * 0.45)}:x=(w-tw)/2:y={h}+({band}-th)/2",
               "-frames:v", "1", out / name)
        write(out, name, {"fault": "a caption strip under the portrait", "crop": {"frame": [w, h + band], "accept": [[0, 0, w, h]]}})
        n += 1
    return n


def loudness(path: Path) -> tuple[float, float]:
    """ffmpeg's ebur128: (integrated LUFS, true peak dBTP)."""
    log = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0", "-af", "ebur128=peak=true",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    summary = log[log.rindex("Summary:"):]
    return float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1]), float(re.search(r"Peak:\s+(-?[\d.inf]+) dBFS", summary)[1])


def quiet(out: Path) -> int:
    n = 0
    for clip in ("good_aoc.mp4", "good_katie.mp4", "good_may5s.mp4", "good_demo3_a.mp4", "good_obama_a.mp4",
                 "audio_good_radio31.wav", "aud_libri_198-209-0000.ogg"):
        level, peak = loudness(SHARED / clip)
        audio = clip.endswith((".wav", ".ogg"))
        name = f"rep_quiet_{stem(clip)}" + (".wav" if audio else ".mp4")
        codec = ["-c:a", "pcm_s16le"] if audio else ["-c:v", "copy", "-c:a", "aac", "-b:a", "192k"]
        ffmpeg("-i", SHARED / clip, "-af", f"volume=-{QUIET_DB}dB", *codec, out / name)
        gain = min(TARGET_LUFS - (level - QUIET_DB), PEAK_DBTP - (peak - QUIET_DB))
        write(out, name, {"fault": f"the sound {QUIET_DB:g} dB too quiet", "gain_db": round(gain, 2),
                          "source_lufs": level, "source_peak_dbtp": peak})
        n += 1
    return n


def strays(out: Path) -> int:
    """Two frames of another clip (scaled to this one's size) before the first."""
    clips = ["good_aoc.mp4", "good_katie.mp4", "good_obama_a.mp4", "good_demo3_a.mp4", "good_may5s.mp4"]
    for i, clip in enumerate(clips):
        other = clips[(i + 1) % len(clips)]
        w, h = SIZES[clip]
        name = f"rep_stray_{stem(clip)}.mp4"
        ffmpeg("-i", SHARED / clip, "-i", SHARED / other, "-filter_complex",
               f"[1:v]scale={w}:{h},setsar=1,fps=25,format=yuv420p,trim=start_frame=20:end_frame=22,setpts=PTS-STARTPTS[o];"
               f"[0:v]setsar=1,fps=25,format=yuv420p,trim=start_frame=2,setpts=PTS-STARTPTS[m];[o][m]concat=n=2:v=1[v]",
               "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "aac",
               "-shortest", out / name)
        write(out, name, {"fault": f"two frames of {other} at the start", "trim": {"start_s": 0.08}})
    return len(clips)


def native(out: Path) -> int:
    """A logo and a second face on clips at their own size, whose crop cannot keep 480 px."""
    clip = "good_aoc.mp4"
    name = "rep_native_logo_aoc.mp4"
    ffmpeg("-i", SHARED / clip, "-vf", f"drawtext=fontfile={FONT}:text='NEWS 24':fontcolor=white:fontsize=23:box=1:"
           "boxcolor=0xc0102a@0.9:boxborderw=9:x=w-tw-24:y=24", *VIDEO, out / name)
    write(out, name, {"fault": "a channel bug in the top right corner of a 512 px clip", "refuse": "resolution"})
    return 1


FAMILIES = {"faces": second_faces, "logos": logos, "bars": bars, "captions": captions, "quiet": quiet, "strays": strays,
            "native": native}


def make(out: Path, only: list[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for name in only:
        print(f"{name}: {FAMILIES[name](out)} cases", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("out", type=Path)
    m.add_argument("--only", default=",".join(FAMILIES))
    s = sub.add_parser("score")
    s.add_argument("folder", type=Path)
    s.add_argument("--only", default="", help="a substring of the case names to score")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"no labelled media at {SHARED}", file=sys.stderr)
        return 2
    if args.command == "make":
        return make(args.out, args.only.split(","))
    return score(args.folder, args.only)


CONTROLS = ["good_aoc.mp4", "good_katie.mp4", "good_may5s.mp4", "good_demo3_a.mp4", "good_obama_a.mp4", *PORTRAITS,
            "audio_good_radio31.wav", "aud_libri_198-209-0000.ogg"]


def judged(expected: dict, plan, out: Path | None) -> tuple[bool, str]:
    """Whether the plan is the editor's repair: the crop within 5% of the frame on every given edge
    of one accepted rectangle (and holding the face), the gain within 1 dB, the trim within a frame."""
    kinds = {r.kind: r for r in plan.repairs}
    wanted = {k for k in ("crop", "gain_db", "trim") if k in expected}
    wanted = {"loudness" if k == "gain_db" else k for k in wanted}
    if set(kinds) != wanted:
        return False, f"repairs {sorted(kinds)} where {sorted(wanted)} were wanted"
    if "crop" in wanted:
        frame = expected["crop"]["frame"]
        x, y, w, h = kinds["crop"].rect
        got = [x, y, x + w, y + h]
        tolerance = [0.05 * frame[0], 0.05 * frame[1]] * 2
        off = [max(abs(g - e) - t, 0) if e is not None else 0 for a in expected["crop"]["accept"]
               for g, e, t in zip(got, a, tolerance)]
        fits = [all(abs(g - e) <= t for g, e, t in zip(got, a, tolerance) if e is not None) for a in expected["crop"]["accept"]]
        keep = expected["crop"].get("keep")
        holds = keep is None or (got[0] <= keep[0] + 2 and got[1] <= keep[1] + 2 and got[2] >= keep[2] - 2 and got[3] >= keep[3] - 2)
        if not any(fits) or not holds:
            return False, f"crop {got} where {expected['crop']['accept']} (within 5%){'' if holds else ', and it cuts the face'}"
    if "loudness" in wanted and abs(kinds["loudness"].gain_db - expected["gain_db"]) > 1.0:
        return False, f"gain {kinds['loudness'].gain_db:+.1f} dB where {expected['gain_db']:+.1f} dB"
    if "trim" in wanted and abs((kinds["trim"].start or 0) - expected["trim"]["start_s"]) > 0.041:
        return False, f"trim from {kinds['trim'].start} s where {expected['trim']['start_s']} s"
    return True, "the editor's repair"


def _base_fails(folder: Path, name: str, policy, done_file: Path, done: dict) -> tuple[set[str], str]:
    """The checks the case's base (its clip scaled as the case was, no fault) fails, and their
    messages; checked once."""
    from preflight.pipeline import check

    key = f"base:{name}"
    if key not in done or "ids" not in done[key]:
        report = check(video=folder / name, policy=policy, timeout=900.0)
        failing = [c for c in report.checks if c.status.value in ("fail", "error")]
        done[key] = {"file": key, "outcome": "base", "cpu": 0, "ids": sorted(c.id for c in failing),
                     "why": "; ".join(f"{c.id}: {c.message}" for c in failing)}
        with done_file.open("a") as f:
            f.write(json.dumps(done[key]) + "\n")
    return set(done[key]["ids"]), done[key]["why"]


def score(folder: Path, only: str) -> int:
    """Repair every case (and plan the untouched good sources, which must need none); one line each, then the totals."""
    import resource

    from preflight.repairs import plan_file, repair
    from preflight.media.probe import probe
    from preflight.policy import Policy

    policy = Policy()
    rows = []
    out_dir = folder / "repaired"
    out_dir.mkdir(exist_ok=True)
    # One line per case as it is scored: a run killed on a loaded machine (the OOM killer) goes on
    # where it stopped when started again.
    done_file = folder / "score.jsonl"
    done = {d["file"]: d for d in map(json.loads, done_file.read_text().splitlines())} if done_file.exists() else {}
    order = ["quiet", "stray", "letterbox", "pillarbox", "caption", "logo", "face", "native"]
    for spec in sorted(folder.glob("rep_*.json"), key=lambda p: (order.index(p.stem.split("_")[1]), p.name)):
        expected = json.loads(spec.read_text())
        if only not in expected["file"]:
            continue
        if expected["file"] in done:
            d = done[expected["file"]]
            rows.append((d["file"], d["outcome"], d["cpu"]))
            print(f"{d['outcome']:8} {d['cpu']:5.1f} CPU-s  {d['file']}: {d['why']}", flush=True)
            continue
        source = folder / expected["file"]
        out = out_dir / source.name
        out.unlink(missing_ok=True)
        before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        result = repair(source, out, policy, timeout=900.0)  # a loaded machine: no analysis stopped for time
        after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before))
        if "gain_db" in expected and expected["source_lufs"] - QUIET_DB >= policy.loudness.quiet_below_lufs:
            # 18 dB down from a loud source is still over the quiet limit: the check passes it and
            # the rule makes no repair
            right = not result.plan.repairs
            why = (f"{expected['source_lufs'] - QUIET_DB:.1f} LUFS is not quiet by the policy: "
                   + ("no repair, right" if right else f"repaired anyway: {result.plan.repairs[0].why}"))
            outcome = "right" if right else "wrong"
        elif "refuse" in expected:
            right = not result.plan.repairs and any(expected["refuse"] in r for r in result.plan.refused)
            why = "; ".join(result.plan.refused) or "no refusal"
            outcome = "refused" if right else "wrong"
        else:
            right, why = judged(expected, result.plan, out)
            if not result.go:
                failing = [f"{c.id}: {c.message}" for c in (result.report.checks if result.report else [])
                           if c.status.value in ("fail", "error")]
                why = (f"{why}; NO-GO: {'; '.join(failing)}" if failing else
                       f"{why}; not repaired: {'; '.join(result.plan.refused) or 'nothing planned'}")
                outcome = "refused" if not result.plan.repairs else "no-go"
            else:
                again = plan_file(probe(out), policy)
                if again.repairs:
                    right, why = False, f"{why}; fix on its own output repairs again: {again.repairs[0].why}"
                outcome = "right" if right else "wrong"
        if outcome == "no-go" and expected.get("base"):
            ids, fails = _base_fails(folder, expected["base"], policy, done_file, done)
            failing = {c.id for c in result.report.checks if c.status.value in ("fail", "error")}
            if failing <= ids:  # the case fails nothing its base (no fault, no repair) does not
                outcome, why = "base-no-go", f"{why}; its base {expected['base']} (no fault) fails the same: {fails}"
        rows.append((expected["file"], outcome, cpu))
        with done_file.open("a") as f:
            f.write(json.dumps({"file": expected["file"], "outcome": outcome, "cpu": round(cpu, 1), "why": why}) + "\n")
        print(f"{outcome:8} {cpu:5.1f} CPU-s  {expected['file']}: {why}", flush=True)
    controls = 0
    for name in CONTROLS if not only else []:
        if f"control:{name}" in done:
            said = done[f"control:{name}"]["why"]
        else:
            planned = plan_file(probe(SHARED / name), policy)
            said = "; ".join(r.why for r in planned.repairs) or "no repair"
            with done_file.open("a") as f:
                f.write(json.dumps({"file": f"control:{name}", "outcome": "control", "cpu": 0, "why": said}) + "\n")
        controls += said != "no repair"
        print(f"{'control' if said == 'no repair' else 'REPAIRED':8} {name}: {said}", flush=True)
    n = len(rows)
    right = sum(r[1] == "right" for r in rows)
    refused = sum(r[1] == "refused" for r in rows)
    unfair = sum(r[1] == "base-no-go" for r in rows)
    fair = n - unfair
    print(f"\n{right}/{n} GO with the editor's repair ({right / max(n, 1):.0%}); {refused} refused with the reason "
          f"expected; {unfair} NO-GO as their base (the clip with no fault) is; {n - right - refused - unfair} wrong or "
          f"NO-GO otherwise; of the {fair} others: {right + refused} right ({(right + refused) / max(fair, 1):.0%}); "
          f"{controls} of {len(CONTROLS) if not only else 0} untouched good sources repaired; CPU {sum(r[2] for r in rows):.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
