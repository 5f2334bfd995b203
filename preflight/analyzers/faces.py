"""faces and face_size: exactly one face, a person's, upright and big enough.

faces counts the faces BlazeFace finds (``min_confidence``; full-range, else short-range for a
close-up) on each sampled frame (``sample_fps`` a second). Mosaic wants one person: a second face in
``multi_max_ratio`` of the frames, or for ``multi_max_run_s`` in a row (someone walking through
behind), fails; no face in over ``none_max_ratio`` of them (the speaker leaves or turns away) fails;
the margins absorb the detector's misses on single frames (blinks, motion blur). An image must show
one face. The face must be a person's: the landmark model finds a face on it in at least half the
frames with one face (camera clips: 93-100%; BlazeFace's "faces" in carvings, statues and patterns:
none), and its strict human check takes ``human_min_views`` of 7 views of the largest face (60 px or
more) on most of 3 frames. A picture on its side or upside down fails as ``faces.turned``: the
face's roll past ``sideways_roll`` for most of the clip, or, when the count fails and no upright
face was measured or when the human check fails, a turn under which both models find the face more
surely. A window is judged on its own frames; the human check and the turn on 3 frames of the whole
source. face_size, the median face height over the frame's, warns under ``size_warn_below``: a few
dozen pixels in a 360p sample.
Weak spots: paintings, statues, cartoons, anime and renders of people pass the human check, and
a real face covered by a hand or cut off by the frame's edge can fail it (the message names
both); a face behind the speaker, blurred and cut by the frame's edge, can be missed; the turn is
untried on real rotated footage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from preflight.features.faces import FaceTrack, Humanness, face_track, humanness, upright_turn
from preflight.media import Media, Role
from preflight.policy import FaceLimits, Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Guide, Needs, Stretch, Timelines
from preflight.roles import Source

REASONS = {
    "faces.none": "no face (an image), or no face in too many frames (a video)",
    "faces.several": "two or more faces (an image), or in too many frames or too long a run (a video)",
    "faces.turned": "the picture is upside down or on its side: the face stands upright only when it is turned",
    "faces.not_human": "the face does not look like a person's: an animal, a mask, a cartoon, or a face covered or cut off",
    "face_size.small": "the face is small in the frame",
}


@dataclass(frozen=True)
class Faces(Timelines):
    role: Role
    track: FaceTrack
    fps: float  # sampled frames a second
    # Asked only when a judgment needs them, each costing a landmark or detector pass on 3 frames
    # of the whole source (measured once): the human check, and the turn that stands the picture upright.
    human: Callable[[], Humanness]
    upright: Callable[[], int | None]
    landmarks: bool = True  # False: boxes only (a streamed decode); the count and the size are judged, no more


def measure(media: Media, policy: Policy) -> Faces:
    limits = policy.faces
    return Faces(media.source, media.role, face_track(media, limits.min_confidence),
                 media.sample_fps or limits.sample_fps, lambda: humanness(media, limits.min_confidence),
                 lambda: upright_turn(media, limits.min_confidence))


def measure_boxes(media: Media, policy: Policy) -> Faces:
    """The boxes alone, on a decode read once as it streams (``preflight fix``'s): the frames
    cannot be looked at again, and the landmarker costs more than the detector. A window is
    judged on the face count and size; the rest is the cut file's check's."""
    limits = policy.faces

    def unasked() -> None:
        raise RuntimeError("a streamed decode's faces have no landmarks and no frames to look at again")

    return Faces(media.source, media.role, face_track(media, limits.min_confidence, landmarks=False),
                 media.sample_fps or limits.sample_fps, unasked, unasked, landmarks=False)


def judge(t: Faces, window: Span, policy: Policy) -> list[Check]:
    limits = policy.faces
    track = t.track.within(window.start, window.end)
    source = t.source
    counts = track.counts
    if len(counts) == 0:
        return [ANALYZER.check(source, Status.SKIPPED, value=None, message="no frames decoded", unit="")]
    if t.role is Role.IMAGE:
        faces = _image_faces(source, int(counts[0]))
    else:
        faces = _video_faces(source, track, limits, t.fps)
    if t.landmarks:
        turn = _rolled(track, limits)
        # Turns are tried only where the landmarker did not measure a face, upright, on most frames
        # as decoded: two photos side by side are no picture on its side.
        upright = 2 * int(np.count_nonzero(track.measured)) > len(track.measured)
        if turn is None and faces.reason in ("faces.none", "faces.several") and not upright:
            turn = t.upright()
        if turn is not None:
            faces = _turned(faces, turn, t.role)
        elif faces.status is Status.PASS:
            faces = _measurable(faces, track) or _human(faces, t.human(), limits)
            if faces.reason == "faces.not_human" and (turn := t.upright()) is not None:
                faces = _turned(faces, turn, t.role)  # a face upside down is no person's until turned
    return [faces, _face_size(source, track, limits)]


def avoid(t: Faces, policy: Policy) -> list[Stretch]:
    """Where any window fails the count: a run of 2+ faces of ``multi_max_run_s``, and a run of
    no face longer than ``none_max_ratio`` of the longest window. Shorter runs fail a window only
    as a share of its frames, which its judgment weighs; lone misses are what the margins absorb."""
    if t.role is not Role.VIDEO:
        return []
    limits, track = policy.faces, t.track
    counts, half = track.counts, 0.5 / t.fps
    found: list[Stretch] = []
    for mask, what, longer in ((counts >= 2, "2+ faces in the frame", limits.multi_max_run_s - 1e-9),
                               (counts == 0, "no face in the frame", limits.none_max_ratio * policy.duration.max_s)):
        for run in Span.merge(track.times[mask], gap=1.0 / t.fps):
            if run.end - run.start + 1.0 / t.fps > longer:  # its frames, each 1 / fps long
                inside = mask & (track.times >= run.start) & (track.times <= run.end)
                found += Stretch.merged(track.times[inside], half, "faces", what, gap=half)
    return found


def guide(t: Faces) -> Guide:
    """The window's face size: the median face height over the frame height, on frames with one face."""
    def face(start: float, end: float) -> float | None:
        heights = [f[0].height / t.track.frame_height for time, f in zip(t.track.times, t.track.faces)
                   if start <= time <= end and len(f) == 1]
        return round(float(np.median(heights)), 3) if heights else None

    return Guide(face=face) if t.role is Role.VIDEO else Guide()


# ffmpeg filters that turn a picture clockwise by the key's degrees
_TURN_FILTERS = {90: "transpose=clock", 180: "transpose=clock,transpose=clock", 270: "transpose=cclock"}


def _rolled(track: FaceTrack, limits: FaceLimits) -> int | None:
    """The clockwise turn (90, 180, 270) that stands the picture upright when its face lies on
    its side or upside down, else None.

    BlazeFace finds many faces turned 90 or 180 degrees, so such a picture can still show one
    face (an upside-down clip: one in 78% of frames, with stray extra ones); the landmarker's
    roll says how it lies (the face fixture turned each way: -90 and +87; upright -3). Nobody
    holds their head past 60 degrees for most of a clip."""
    roll = track.roll[track.measured]
    if len(roll) == 0 or abs(float(np.median(roll))) < limits.sideways_roll:
        return None
    return int(round(float(np.median(roll)) / 90) * 90) % 360


def _turned(failed: Check, turn: int, role: Role) -> Check:
    """A picture whose face stands upright only once it is turned: say so, and how to turn it."""
    how = "upside down" if turn == 180 else f"on its side (it needs a turn of {turn} degrees clockwise)"
    what = "image" if role is Role.IMAGE else "video"
    return failed.model_copy(update={
        "status": Status.FAIL,
        "reason": "faces.turned",
        "message": f"{failed.message}; but the face stands upright only when the picture is turned {turn} degrees clockwise: "
                   f"the {what} is {how}, or its rotation flag was lost",
        "fix": f"turn the {what} upright (e.g. ffmpeg -i in -vf \"{_TURN_FILTERS[turn]}\" out), then check again",
    })


def _measurable(passed: Check, track: FaceTrack) -> Check | None:
    """A face the landmark model finds nothing on, in most frames with one face, is a face-like
    shape (an animal, a carving, a statue far off, a pattern), not a person's face: the failing check,
    else None."""
    one = track.counts == 1
    measured = int(np.count_nonzero(track.measured & one))
    if 2 * measured >= int(np.count_nonzero(one)):
        return None
    frames = int(np.count_nonzero(one))
    where = f" in {frames - measured} of {frames} frames" if frames > 1 else ""
    return passed.model_copy(update={
        "status": Status.FAIL,
        "reason": "faces.not_human",
        "message": f"{passed.message}, but the landmark model finds no face on it{where}: "
                   "an animal, a carving, a statue or a pattern rather than a person?",
        "fix": "use footage or a photo of the person themselves, face clearly visible",
        "spans": tuple(Span(start=round(float(t), 3), end=round(float(t), 3)) for t in track.times[one & ~track.measured][:20]),
    })


def _human(passed: Check, human: Humanness, limits: FaceLimits) -> Check:
    """A face that counts must be a person's: most frames checked must pass the human check."""
    if human.checked == 0:
        return passed  # faces too small to check; face_size speaks to that
    people = int(np.count_nonzero(human.passes >= limits.human_min_views))
    if 2 * people >= human.checked:
        return passed
    views = ", ".join(str(p) for p in human.passes)
    return passed.model_copy(update={
        "status": Status.FAIL,
        "reason": "faces.not_human",
        "message": f"the face does not look like a person's (the landmark model took {views} of 7 views of it, "
                   f"{limits.human_min_views} needed): an animal, a mask or a cartoon, or a real face covered "
                   "(a hand over the mouth) or cut off by the frame's edge?",
        "fix": "use footage or a photo of the person themselves, the whole face in the frame and uncovered",
        "spans": tuple(Span(start=round(float(t), 3), end=round(float(t), 3)) for t in human.times),
    })


def _image_faces(source: Source, n: int) -> Check:
    if n == 1:
        return ANALYZER.check(source, Status.PASS, value=1.0, limit="exactly 1", details={"most_faces": 1},
                              message="one face")
    message = "no face found" if n == 0 else f"{n} faces"
    fix = ("use a photo of the person facing the camera, face clearly visible" if n == 0
           else "crop the photo to the one person, or use a photo of them alone")
    return ANALYZER.check(source, Status.FAIL, reason="faces.none" if n == 0 else "faces.several", value=0.0,
                          limit="exactly 1", details={"most_faces": n}, message=message, fix=fix)


def _video_faces(source: Source, track: FaceTrack, limits: FaceLimits, fps: float) -> Check:
    counts = track.counts
    n = len(counts)
    multi, none = counts >= 2, counts == 0
    multi_ratio, none_ratio = multi.mean(), none.mean()
    longest_multi = _longest_run(multi) / fps
    gap = 1.0 / fps
    multi_spans = Span.merge(track.times[multi], gap)
    none_spans = Span.merge(track.times[none], gap)
    limit = (f"2+ faces in < {limits.multi_max_ratio:.0%} of frames and < {limits.multi_max_run_s:g} s in a row; "
             f"no face in <= {limits.none_max_ratio:.0%}")
    parts = [f"one face in {np.mean(counts == 1):.0%} of {n} frames"]
    if multi.any():
        parts.append(f"2+ faces in {multi_ratio:.0%} (up to {counts.max()}, longest run {longest_multi:.1f} s)")
    if none.any():
        parts.append(f"no face in {none_ratio:.0%}")
    message = "; ".join(parts)

    too_many = multi_ratio >= limits.multi_max_ratio or longest_multi >= limits.multi_max_run_s
    too_few = none_ratio > limits.none_max_ratio
    if too_many:
        fix, reason = "use footage with only the speaker in frame, or crop the other person out", "faces.several"
    elif too_few:
        fix, reason = "keep the speaker's face in frame and turned to the camera for the whole clip", "faces.none"
    else:
        fix = reason = None
    spans = (multi_spans if too_many else []) + (none_spans if too_few else [])
    return ANALYZER.check(source, Status.FAIL if fix else Status.PASS, reason=reason,
                          value=round(float(np.mean(counts == 1)), 3), details={"most_faces": int(counts.max())},
                          limit=limit, spans=sorted(spans, key=lambda s: s.start), message=message, fix=fix)


def _face_size(source: Source, track: FaceTrack, limits: FaceLimits) -> Check:
    heights = [f[0].height / track.frame_height for f in track.faces if len(f) == 1]
    limit = f">= {limits.size_warn_below:g} of the frame height"
    if not heights:
        return ANALYZER.check(source, Status.SKIPPED, check="face_size", value=None, limit=limit,
                              message="no frame with exactly one face to measure", unit="")
    size = float(np.median(heights))
    small = size < limits.size_warn_below
    return ANALYZER.check(source, Status.WARN if small else Status.PASS, check="face_size",
                          reason="face_size.small" if small else None, value=round(size, 3), limit=limit,
                          message=f"the face is {size:.0%} of the frame height",
                          fix="move the camera closer or crop so the head fills about a third of the frame" if small else None)


def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for m in mask:
        run = run + 1 if m else 0
        best = max(best, run)
    return best


ANALYZER = Analyzer(checks=("faces", "face_size"), roles=frozenset({Role.VIDEO, Role.IMAGE}), policy="faces",
                    aspect=Aspect.PICTURE, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    avoid=avoid, guide=guide, needs=Needs(frames=True, landmarks=True), streamed=measure_boxes,
                    units={"faces": "share of frames with one face", "face_size": "face height / frame height"})
