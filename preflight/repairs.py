"""The repairs ``preflight fix`` makes before it chooses a window: what a video editor would do in a
minute, planned from the analyzers' own timelines, and never one that changes whose face or
voice it is.

- **crop**, one fixed rectangle for the whole clip (or the image): it holds the speaker's face
  (the union of their boxes over the clip, with ``fix.headroom``, ``fix.side_room`` and
  ``fix.chin_room`` of the face around it) and leaves out every fault: another face (its boxes
  with ``fix.other_face_room`` of its width around them and everything below: the body), the
  regions the overlay check finds (burned-in text and insets, and corner marks when it fails,
  with ``fix.mark_room`` of their height around them; not its hints, nor corner marks that only
  warn: weak evidence, and re-encoding a clip can move a static shape in a corner over that line), and letterbox or pillarbox bars (:mod:`preflight.features.bars`). Each
  fault is left out by keeping to one side of it; of the ways that hold the face, the largest
  rectangle whose aspect lies in 9:16-16:9 is chosen, with even sizes. The speaker is the face
  seen in the most frames (nearest the centre on a tie). It is refused, saying why, when a fault
  overlaps the face itself (the room around the face gives way to a fault when it must: a
  caption under a tight close-up), or the crop's short side would fall under the resolution
  check's warning limit (``resolution.warn_below``, or the source's own short side when it is
  less already): a crop may not make a source low-resolution.
- **loudness**: when the loudness check finds the speech quiet, a gain to ``fix.target_lufs``
  (EBU R128, ffmpeg's meter on the source's own sound), held so the true peak stays at
  ``fix.max_true_peak_dbtp``; the picture is copied.
- **trim**: stray frames of another shot at either edge (``scene_cuts.stray_frames``) are cut off.

Weak spots: a face the detector misses on every sampled frame is not kept; a second person whose
face is never seen (a shoulder only) is not a fault; bars of any colour but black are not found.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, NamedTuple

import cv2
import numpy as np
from pydantic import BaseModel, Field

from preflight import shutdown
from preflight.analyzers import faces as faces_check
from preflight.analyzers import loudness as loudness_check
from preflight.analyzers import overlay, scene_cuts
from preflight.features.bars import inside_bars
from preflight.features.faces import Box, FaceTrack
from preflight.media import Media, Probe, Role
from preflight.errors import TimedOut, UsageError
from preflight.evidence import THUMB_WIDTH, Picture
from preflight.evidence import picture as thumbnail
from preflight.media.probe import probe
from preflight.media.repair import Edit, apply, true_loudness
from preflight.outputs import discard, keep, refuse_unsafe, sibling
from preflight.pipeline import check, decode_for_check
from preflight.policy import Policy
from preflight.report import Outcome, Report, Span, Status, outcome
from preflight.sources import PathArg

Kind = Literal["crop", "loudness", "trim"]
KINDS: tuple[Kind, ...] = ("crop", "loudness", "trim")
# The outcomes (reason codes) a repair is planned for: a NO-GO failing only on these (or on what a
# window leaves out) may be saved by ``fix``; whether it is, the plan and the repaired file's check say.
REMOVES: dict[str, Kind] = {"faces.several": "crop", "overlay.text": "crop", "overlay.mark": "crop", "overlay.inset": "crop",
                            "loudness.quiet": "loudness", "scene_cuts.stray_frames": "trim"}
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in source pixels
_ASPECT_MIN, _ASPECT_MAX = 9 / 16, 16 / 9



class Repair(BaseModel):
    """One repair: what, why, and the rectangle (x, y, width, height of the source), the gain or the cut."""

    kind: Kind
    why: str
    rect: tuple[int, int, int, int] | None = Field(None, description="crop: x, y, width, height in source pixels")
    frame: tuple[int, int] | None = Field(None, description="crop: the source's width and height")
    gain_db: float | None = Field(None, description="loudness: the gain applied, dB")
    start: float | None = Field(None, description="trim: the first second kept")
    end: float | None = Field(None, description="trim: where what is kept ends, seconds (None: the end)")
    file: str | None = Field(None, description="the file repaired, as it was given")
    # crop: a frame of the source with the rectangle drawn, and the same frame cropped (for the page; not in JSON)
    before: Picture | None = Field(None, exclude=True)
    after: Picture | None = Field(None, exclude=True)


class Plan(BaseModel):
    """The repairs a source needs, and those it needs but cannot have, each with why."""

    repairs: list[Repair] = []
    refused: list[str] = Field([], description="repairs needed but not made, and why")

    def edit(self) -> Edit:
        crop = next((r for r in self.repairs if r.kind == "crop"), None)
        gain = next((r for r in self.repairs if r.kind == "loudness"), None)
        trim = next((r for r in self.repairs if r.kind == "trim"), None)
        return Edit(crop=crop.rect if crop else None, gain_db=gain.gain_db if gain else None,
                    start=trim.start if trim else None, end=trim.end if trim else None)


def plan(media: Media, policy: Policy, allowed: frozenset[str] = frozenset(KINDS),
         timeout: float | None = None) -> Plan:
    """The repairs of ``media`` (decoded with its frames kept, not streamed), of the kinds ``allowed``."""
    result = Plan()
    span = Span(start=0.0, end=media.seconds())
    if media.role is Role.VIDEO and "trim" in allowed:
        if (trim := _trim(media, policy)) is not None:
            result.repairs.append(trim)
            span = Span(start=trim.start or 0.0, end=trim.end if trim.end is not None else span.end)
    if media.role in (Role.VIDEO, Role.IMAGE) and "crop" in allowed:
        crop, refusal = _crop(media, policy, span)
        if crop is not None:
            result.repairs.append(crop)
        if refusal is not None:
            result.refused.append(refusal)
    if media.audio() is not None and "loudness" in allowed:
        gain, refusal = _gain(media, policy, timeout)
        if gain is not None:
            result.repairs.append(gain)
        if refusal is not None:
            result.refused.append(refusal)
    return result


# -- trim -----------------------------------------------------------------------------------------

def _trim(media: Media, policy: Policy) -> Repair | None:
    timelines = scene_cuts.ANALYZER.measure(media, policy)
    if timelines is None:
        return None
    checks = scene_cuts.ANALYZER.judge_window(timelines, Span(start=0.0, end=media.seconds()), policy)
    stray = next((c for c in checks if c.reason == "scene_cuts.stray_frames"), None)
    if stray is None:
        return None
    fps = media.probe.video.fps or 25.0
    edge = (policy.scene_cuts.edge_frames + 0.5) / fps
    start = max((s.start for s in stray.spans if s.start <= edge), default=None)
    # frames near the end of what was decoded are at the recording's end only if it was all decoded
    whole = media.status().seconds_limit is None
    end = min((s.start for s in stray.spans if s.start > edge), default=None) if whole else None
    if start is None and end is None:
        return None
    parts = [f"{round(start * fps)} frame(s) of another shot at the start" if start is not None else "",
             f"frames of another shot from {end:.2f} s to the end" if end is not None else ""]
    return Repair(kind="trim", why=" and ".join(p for p in parts if p) + " (stray frames)",
                  start=round(start, 4) if start is not None else None, end=round(end, 4) if end is not None else None)


# -- loudness -------------------------------------------------------------------------------------

def _gain(media: Media, policy: Policy, timeout: float | None) -> tuple[Repair | None, str | None]:
    timelines = loudness_check.ANALYZER.measure(media, policy)
    if timelines is None:
        return None, None
    checks = loudness_check.ANALYZER.judge_window(timelines, Span(start=0.0, end=media.seconds()), policy)
    quiet = next((c for c in checks if c.reason == "loudness.quiet"), None)
    if quiet is None or quiet.value is None or quiet.value <= -69.0:  # silence is no voice to raise
        return None, None
    level, peak = true_loudness(media.probe, timeout)
    limits = policy.fix
    gain = min(limits.target_lufs - level, limits.max_true_peak_dbtp - peak)
    if gain <= 0.5:
        return None, (f"loudness: the speech is quiet ({level:.1f} LUFS) but its true peak ({peak:.1f} dBTP) leaves no "
                      f"room under {limits.max_true_peak_dbtp:g} dBTP: raising it would clip")
    held = "" if gain >= limits.target_lufs - level - 0.05 else f", held by the true peak at {limits.max_true_peak_dbtp:g} dBTP"
    why = f"the speech is quiet: {level:.1f} LUFS integrated, brought to {level + gain:.1f} LUFS{held}"
    return Repair(kind="loudness", why=why, gain_db=round(gain, 2)), None


# -- crop -----------------------------------------------------------------------------------------

def _crop(media: Media, policy: Policy, span: Span) -> tuple[Repair | None, str | None]:
    width, height = media.probe.video.width, media.probe.video.height
    frames = media.rgb.array()
    if not len(frames):
        return None, None
    sx, sy = width / frames.shape[2], height / frames.shape[1]
    # Bars: the picture's own rectangle, from the frames of the kept span.
    times = media.rgb.times if media.role is Role.VIDEO else np.zeros(1)
    inside = (times >= span.start - 1e-6) & (times <= span.end + 1e-6)
    bx0, by0, bx1, by1 = inside_bars(frames[inside] if inside.any() else frames)
    picture = (int(np.ceil(bx0 * sx)), int(np.ceil(by0 * sy)), int(bx1 * sx), int(by1 * sy))
    faults: list[tuple[Rect, str]] = []
    measured = faces_check.ANALYZER.measure(media, policy)
    track = measured.track.within(span.start, span.end)
    face_checks = faces_check.ANALYZER.judge_window(measured, span, policy)
    speaker, others = _people(track)
    if speaker is None:
        return None, None  # no face to keep: nothing a crop can save
    fw, fh = track.frame_width, track.frame_height
    tx, ty = width / fw, height / fh
    if any(c.reason == "faces.several" for c in face_checks):
        room = policy.fix.other_face_room
        for boxes in others:
            x0 = min(b.x for b in boxes) - room * np.median([b.width for b in boxes])
            x1 = max(b.x + b.width for b in boxes) + room * np.median([b.width for b in boxes])
            y0 = min(b.y for b in boxes) - room * np.median([b.height for b in boxes])
            faults.append(((int(x0 * tx), int(y0 * ty), int(np.ceil(x1 * tx)), height), "another face"))
    marks = overlay.ANALYZER.measure(media, policy)
    judged = overlay.ANALYZER.judge_window(marks, span, policy)
    if any(c.status is not Status.PASS for c in judged):
        faults += [(r, "a mark or text burned in") for r in _marks(marks, policy, outcome(judged, False) is Outcome.NO_GO)]
    bars = picture != (0, 0, width, height)
    if not faults and not bars:
        return None, None
    # The face with the room a portrait needs around it; where a fault takes that room, the face
    # itself (a caption under a tight close-up is cut off when the face stays whole).
    room = _room(speaker, tx, ty, width, height, policy)
    bare = _room(speaker, tx, ty, width, height, policy.model_copy(update={"fix": policy.fix.model_copy(
        update={"headroom": 0.0, "chin_room": 0.0, "side_room": 0.0})}))
    # A crop may not make the source low-resolution: its short side stays at the resolution
    # check's warning limit, or at the source's own when that is less already.
    least = min(policy.resolution.warn_below, width - width % 2, height - height % 2)
    rect, refusal = _largest(picture, room, faults, least)
    if rect is None:
        rect, _ = _largest(picture, bare, faults, least)
    what = ", ".join(sorted({why for _, why in faults} | ({"letterbox or pillarbox bars"} if bars else set())))
    if rect is None:
        return None, f"crop: {what} cannot be cropped out: {refusal}"
    x0, y0, x1, y1 = rect
    if (x1 - x0, y1 - y0) == (width, height):
        return None, None
    why = f"{what}: cropped to {x1 - x0}x{y1 - y0} at ({x0}, {y0}) of {width}x{height}, the speaker's head whole"
    kept = np.flatnonzero(inside) if inside.any() else np.arange(len(frames))
    at = int(kept[len(kept) // 2])  # a frame from the middle of what is kept
    frame = frames[at]
    before = thumbnail(frame, float(times[at]), [(x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height)], 2 * THUMB_WIDTH)
    after = thumbnail(frame[int(y0 / sy):int(np.ceil(y1 / sy)), int(x0 / sx):int(np.ceil(x1 / sx))], float(times[at]), [],
                    max(2, round(2 * THUMB_WIDTH * (x1 - x0) / width)))
    return Repair(kind="crop", why=why, rect=(x0, y0, x1 - x0, y1 - y0), frame=(width, height), before=before, after=after), None


def _people(track: FaceTrack) -> tuple[list[Box] | None, list[list[Box]]]:
    """The faces grouped by where they are over the frames: the speaker's (seen in the most frames,
    nearest the centre on a tie) and the others' (each seen on 2 or more frames, or on the image)."""
    groups: list[list[Box]] = []
    for found in track.faces:
        taken: set[int] = set()
        for b in sorted(found, key=lambda b: -b.width * b.height):
            cx, cy = b.x + b.width / 2, b.y + b.height / 2
            near = [i for i, g in enumerate(groups) if i not in taken
                    and abs(np.mean([q.x + q.width / 2 for q in g[-3:]]) - cx) < 0.5 * b.width
                    and abs(np.mean([q.y + q.height / 2 for q in g[-3:]]) - cy) < 0.5 * b.height]
            if near:
                groups[near[0]].append(b)
                taken.add(near[0])
            else:
                groups.append([b])
                taken.add(len(groups) - 1)
    if not groups:
        return None, []
    w, h = track.frame_width, track.frame_height

    def off_centre(g: list[Box]) -> float:
        return float(abs(np.median([b.x + b.width / 2 for b in g]) - w / 2) / w
                     + abs(np.median([b.y + b.height / 2 for b in g]) - h / 2) / h)

    ranked = sorted(groups, key=lambda g: (-len(g), off_centre(g)))
    least = 1 if len(track.faces) == 1 else 2
    return ranked[0], [g for g in ranked[1:] if len(g) >= least]


def _room(speaker: list[Box], tx: float, ty: float, width: int, height: int, policy: Policy) -> Rect:
    """The speaker's face boxes' union with the room a portrait needs around it, in source pixels."""
    limits = policy.fix
    fw, fh = float(np.median([b.width for b in speaker])), float(np.median([b.height for b in speaker]))
    x0 = min(b.x for b in speaker) - limits.side_room * fw
    x1 = max(b.x + b.width for b in speaker) + limits.side_room * fw
    y0 = min(b.y for b in speaker) - limits.headroom * fh
    y1 = max(b.y + b.height for b in speaker) + limits.chin_room * fh
    return (max(0, int(x0 * tx)), max(0, int(y0 * ty)), min(width, int(np.ceil(x1 * tx))), min(height, int(np.ceil(y1 * ty))))


def _marks(marks: overlay.Marks, policy: Policy, failed: bool) -> list[Rect]:
    """The overlay's regions as boxes in source pixels, each with ``fix.mark_room`` of its height
    around it: burned-in text and insets, and corner marks when the check fails."""
    if marks.text is None or not marks.text.size:
        return []
    # Not the overlay's hints (a static shape in a corner of a still scene: a shelf as often as a
    # logo), nor corner marks that only warn: a crop on weak evidence would reframe a good clip.
    covered = marks.text | (marks.marks if failed or marks.caption is not None else np.zeros_like(marks.text))
    if marks.caption is None:  # a video: its insets too
        covered = covered | marks.pasted
    n, _, stats, _ = cv2.connectedComponentsWithStats(covered.astype(np.uint8), connectivity=8)
    sx, sy = marks.scale
    room = policy.fix.mark_room
    boxes = []
    for x, y, w, h, _ in stats[1:n]:
        pad = room * h
        boxes.append((int((x - pad) * sx), int((y - pad) * sy), int(np.ceil((x + w + pad) * sx)), int(np.ceil((y + h + pad) * sy))))
    return boxes


def _largest(picture: Rect, keep: Rect, faults: list[tuple[Rect, str]], min_side: int) -> tuple[Rect | None, str | None]:
    """The largest rectangle inside ``picture`` holding ``keep``, clear of every fault, with an
    aspect in 9:16-16:9, even sizes and a short side of ``min_side`` or more; else None and why."""
    px0, py0, px1, py1 = picture
    kx0, ky0, kx1, ky1 = max(keep[0], px0), max(keep[1], py0), min(keep[2], px1), min(keep[3], py1)
    sides = []
    for (fx0, fy0, fx1, fy1), why in faults:
        if fx1 <= px0 or fx0 >= px1 or fy1 <= py0 or fy0 >= py1:
            continue  # already outside the picture (in a bar)
        ways = [way for way, fits in (("left", fx1 <= kx0), ("right", fx0 >= kx1), ("above", fy1 <= ky0), ("below", fy0 >= ky1))
                if fits]
        if not ways:
            return None, f"{why} lies within the speaker's head and shoulders"
        sides.append([(way, (fx0, fy0, fx1, fy1)) for way in ways])
    best: Rect | None = None
    small: tuple[int, int] | None = None
    for choice in itertools.product(*sides):
        x0, y0, x1, y1 = px0, py0, px1, py1
        for way, (fx0, fy0, fx1, fy1) in choice:
            if way == "left":
                x0 = max(x0, fx1)
            elif way == "right":
                x1 = min(x1, fx0)
            elif way == "above":
                y0 = max(y0, fy1)
            else:
                y1 = min(y1, fy0)
        rect = _fit((x0, y0, x1, y1), (kx0, ky0, kx1, ky1))
        if rect is None:
            continue
        w, h = rect[2] - rect[0], rect[3] - rect[1]
        if min(w, h) < min_side:
            small = max(small or (0, 0), (w, h), key=lambda s: s[0] * s[1])
            continue
        if best is None or w * h > (best[2] - best[0]) * (best[3] - best[1]):
            best = rect
    if best is not None:
        return best, None
    if small is not None:
        return None, (f"the largest crop that leaves it out is {small[0]}x{small[1]}, its short side under the "
                      f"{min_side} px the resolution check warns below")
    return None, "no crop between 9:16 and 16:9 holds the speaker's head and shoulders and leaves it out"


def _fit(bounds: Rect, keep: Rect) -> Rect | None:
    """``bounds`` narrowed to an aspect in 9:16-16:9 around ``keep`` and to even sizes and offsets."""
    x0, y0, x1, y1 = bounds
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return None
    if w > _ASPECT_MAX * h:
        w = int(_ASPECT_MAX * h)
    elif w < _ASPECT_MIN * h:
        h = int(w / _ASPECT_MIN)
    w, h = w - w % 2, h - h % 2
    if w < keep[2] - keep[0] or h < keep[3] - keep[1]:
        return None

    def place(lo: int, hi: int, size: int, k0: int, k1: int) -> int:
        at = round((k0 + k1) / 2 - size / 2)  # centred on the face's room, holding it, inside the bounds
        return max(min(max(min(at, k0), k1 - size), hi - size), lo)

    nx, ny = place(x0, x1, w, keep[0], keep[2]), place(y0, y1, h, keep[1], keep[3])
    if nx % 2:  # even offsets for 4:2:0 chroma
        nx, w = nx + 1, w - 2 * (nx + 1 + w > x1)
    if ny % 2:
        ny, h = ny + 1, h - 2 * (ny + 1 + h > y1)
    return nx, ny, nx + w, ny + h


def plan_file(probe: Probe, policy: Policy, allowed: frozenset[str] = frozenset(KINDS),
              timeout: float | None = None) -> Plan:
    """Decode ``probe``'s source as a check does (its frames kept, up to the duration maximum and
    a second) and plan its repairs."""
    planned, media = _plan_decoded(probe, policy, allowed, timeout)
    media.close()
    return planned


def _plan_decoded(probe: Probe, policy: Policy, allowed: frozenset[str],
                  timeout: float | None) -> tuple[Plan, Media]:
    """:func:`plan_file`'s plan, and its decode still open (the caller closes it)."""
    media = decode_for_check(probe, policy)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        # past ``timeout`` the decode is stopped (its readers end, so does the plan) and TimedOut raised
        return pool.submit(plan, media, policy, allowed, timeout).result(timeout=timeout), media
    except BaseException as exc:
        media.close()
        if isinstance(exc, concurrent.futures.TimeoutError):
            raise TimedOut(f"{probe.path}: planning the repairs did not finish in its time and was stopped") from None
        raise
    finally:
        pool.shutdown(wait=False)


class Repaired(BaseModel):
    """What :func:`repair` did: the plan, and the repaired file's check; ``output`` is set only when it is GO."""

    source: str
    plan: Plan
    output: str | None = None
    report: Report | None = Field(None, description="the ordinary check of the repaired file")

    @property
    def go(self) -> bool:
        return self.report is not None and self.report.go


def repair(source: PathArg, output: PathArg | None, policy: Policy | None = None,
           allowed: frozenset[str] = frozenset(KINDS), *, dry_run: bool = False, timeout: float | None = None) -> Repaired:
    """Plan ``source``'s repairs, write it repaired to a temporary file beside ``output``, check that,
    and rename it to ``output`` only when GO. With ``dry_run``, or nothing to repair, only the plan."""
    policy = policy or Policy()
    source = Path(source)
    if output is not None:
        refuse_unsafe({"the output": output}, [source])
    probed = probe(source)
    planned = plan_file(probed, policy, allowed, timeout)
    result = Repaired(source=str(source), plan=planned)
    if dry_run or not planned.repairs:
        return result
    if output is None:
        raise UsageError("name the file to write with -o OUT (or give --dry-run to only see the repairs)")
    out = Path(output)
    partial = sibling(out)
    try:
        apply(probed, planned.edit(), partial, timeout)
        report = check(**{probed.role.value: partial}, policy=policy, labels={str(partial): str(out)},
                       **({} if timeout is None else {"timeout": timeout}))
        if report.go:
            keep(partial, out)
        return result.model_copy(update={"report": report, "output": str(out) if report.go else None})
    finally:
        discard(partial)


class Staged(NamedTuple):
    """What :func:`stage` gives ``fix``: the probe to go on with, the plan, and the plan's decode."""

    target: Probe
    plan: Plan
    decoded: Media | None  # the plan's decode of ``target``, for its window and its check: set when
    # nothing was repaired and the decode reached the end (a longer recording is decoded again)


def stage(target: Probe, policy: Policy, allowed: Collection[str], stack: contextlib.ExitStack,
          timeout: float | None = None) -> Staged:
    """For ``preflight fix``: ``target``'s repairs, written to a temporary folder that ``stack``
    deletes, so that the window is chosen on the repaired recording; the probe to go on with (the
    repaired file's, or ``target`` when there is nothing to repair) and the plan. Only the
    first ``duration.max_s`` and a second are decoded for the plan, as a check decodes them (a
    plan holds the frames; fix's own decode is streamed): in a longer recording a fault that
    appears later is not seen here and is left to the check of the cut, the speaker's face room
    is that of the first seconds, and stray frames at its end are not looked for. That decode,
    with what the plan measured on it, is kept open until ``stack`` closes when it is all of an
    unrepaired recording: the window is chosen on it, and the recording kept whole checked on it."""
    planned, media = _plan_decoded(target, policy, frozenset(allowed), timeout)
    planned = planned.model_copy(update={"repairs": [r.model_copy(update={"file": target.source.label})
                                                     for r in planned.repairs]})
    if not planned.repairs and media.status().seconds_limit is None:
        stack.callback(media.close)
        return Staged(target, planned, media)
    media.close()  # a repaired recording is decoded anew; so is a longer one (its frames are not held meanwhile)
    if not planned.repairs:
        return Staged(target, planned, None)
    folder = stack.enter_context(shutdown.temporary_folder(prefix="preflight-repair-"))
    dest = folder / f"repaired{suffix(target)}"
    apply(target, planned.edit(), dest, timeout)
    return Staged(probe(dest, target.source.label), planned, None)  # a repaired recording is named as its source


def suffix(source: Probe) -> str:
    """The kind of file a repair of ``source`` is written as: MP4, WAV, or the image's JPEG or PNG."""
    return image_suffix(source.path) if source.role is Role.IMAGE else ".mp4" if source.role is Role.VIDEO else ".wav"


def image_suffix(path: PathArg) -> str:
    """A repaired image is written as it came: JPEG for a JPEG, else PNG (lossless)."""
    return ".jpg" if Path(str(path)).suffix.lower() in (".jpg", ".jpeg") else ".png"
