"""``preflight fix``: find the best 4-15 s window of a longer recording, cut it, prove it GO.

The recording is decoded once, as a check decodes it, and the features the analyzers already
compute become stretches of time where the window may not be:

- scene cuts and frames gone dark (the scene-cut detector's cut times and dark frames);
- sampled frames without exactly one face (a single frame without one is a blink or a miss the
  faces check absorbs, and does not count);
- speech by any voice but the main one (the voice clusters: voice 0 speaks the most);
- music or singing, anywhere or between the words (the music check's two rules).

The window is the longest stretch free of them, at most the duration maximum less
``fix.margin_s`` (re-encoding may add a frame or an audio packet), at least the minimum, with
speech for at least the speech check's share. Its edges sit in pauses (VAD), ``fix.pause_lead_s``
from the nearest word; an edge inside speech counts as ``fix.mid_word_cost_s`` shorter. Ties go
to more speech, then the larger face. The windows are then judged in that order, each as the
windowed analyzers judge a window of the recording's timelines (:mod:`preflight.analyzers.base`:
the duration, the sound's checks and the cuts), and the first that passes them all is chosen: a
stretch free of bad moments can still fail as a whole (its background too loud, short blips of
music adding up, a second voice just under the stretch-merging gap). What the timelines of a
streamed decode cannot show (overlay, lip sync, a person's face rather than a statue's) is
judged by the ordinary check of the cut file: the output is written to a temporary file beside
``OUT`` and renamed into place only when that check says GO.

Memory: the decode is streamed (:func:`~preflight.media.decode`'s ``streamed``): the cut
detector and the face detector each read their frames as they come and keep per-frame numbers,
not pictures, so what grows with the length is the sound (16 kHz float, about 4 MB a minute),
the sound features' working memory and those timelines: bench/fix.py measured a peak of 372 MB
for 1 minute of 720p and 867 MB for 10. Recordings are read up to ``fix.max_input_s`` (10 minutes
by default): by the length the header states, or, when it states none, by the packets' times;
the decode itself stops a second past the limit whatever the header says.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import subprocess
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, computed_field

from preflight import shutdown
from preflight.analyzers import ANALYZERS, Analyzer, Aspect, av_sync, decodable, music, scene_cuts
from preflight.analyzers.base import Timelines
from preflight.errors import InputError, TimedOut, UsageError
from preflight.features.faces import FaceTrack, face_track
from preflight.features.sound_events import HOP_S, sound_events
from preflight.features.vad import speech_activity
from preflight.features.voices import FRAME_S, voices
from preflight.media import Media, Probe, Role, decode
from preflight.media.probe import keyframe_times, packets_end, probe, require_tool, tool_path
from preflight.outputs import discard, keep, refuse_unsafe, sibling
from preflight.pipeline import ANALYSIS_TIMEOUT_S, check
from preflight import repairs as repairing
from preflight.repairs import KINDS, Repair
from preflight.policy import Policy
from preflight.report import Check, Report, Span, Status, blocked
from preflight.sources import PathArg, Sources, local_copies, source_set

# The checks whose failure a window can leave out: the windowed analyzers' (too long, a cut, not
# one face, another voice, music, little speech...). Others (the resolution, an overlay, lip sync)
# hold for the whole recording and any cut of it.
CUTTABLE = frozenset(check for a in ANALYZERS.values() if a.windowed for check in a.checks)

STEP_S = 0.01  # the timeline's resolution: the audio features' hop
MERGE_GAP_S = 0.3  # bad moments closer than this read as one stretch
WHOLE_S = 0.5  # a window this close to both ends of the recording cuts nothing away


class Stretch(BaseModel):
    """A stretch of the recording the window must avoid, and why, in the checks' terms."""

    start: float
    end: float
    check: str  # the check it would fail: scene_cuts, faces, single_speaker, music
    why: str


class Window(BaseModel):
    start: float
    end: float
    speech_s: float = Field(description="speech heard inside it, seconds")
    face: float | None = Field(None, description="median face height / frame height inside it")
    in_pauses: int = Field(description="how many of its two edges sit in a pause, not inside a word")

    @computed_field  # in the JSON too
    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)


class FixResult(BaseModel):
    """What ``fix`` chose and why; ``output`` is set only when the cut was checked GO and written."""

    source: str
    duration: float = Field(description="of the recording read, seconds")
    window: Window | None = Field(description="the chosen window; None when none qualifies")
    why: str = Field(description="why this window, or why none qualifies")
    best_partial: Window | None = Field(None, description="when none qualifies: the longest clean stretch found")
    rejected: list[Stretch]
    checks: list[Check] = Field([], description="the window's checks, judged on the recording's timelines before "
                                                "any cut: the duration, the sound's and the cuts' (the cut file's "
                                                "own check is `report`)")
    output: str | None = None
    report: Report | None = Field(None, description="the ordinary check of the cut file")
    sound_moved_ms: int | None = Field(None, description="the sound was moved this much earlier (negative: later) to "
                                                         "take out the offset av_sync measured, the picture copied")
    warnings: list[str] = Field([], description="what to know about the recording itself: damaged, and the window "
                                                "chosen from the part that decodes")
    repairs: list[Repair] = Field([], description="the repairs made before the window was chosen (what, why, the "
                                                  "rectangle, the gain, the trim)")
    repairs_refused: list[str] = Field([], description="repairs the recording needs that could not be made, and why")

    @property
    def go(self) -> bool:
        return self.report is not None and self.report.go

    @property
    def refusal(self) -> str:
        """Why nothing was written, in a line (when ``output`` is None)."""
        return self.why if self.window is None else "the best window's cut is NO-GO in its check"

    @property
    def whole(self) -> bool:
        """The window keeps (nearly) all of the recording: within a pause's length of both ends."""
        w = self.window
        return w is not None and w.start <= WHOLE_S and w.end >= self.duration - WHOLE_S


def fix(
    *files: PathArg,
    video: PathArg | None = None,
    image: PathArg | None = None,
    audio: PathArg | None = None,
    output: PathArg | None = None,
    policy: Policy | None = None,
    dry_run: bool = False,
    timeout: float | None = None,
    repairs: Collection[str] = KINDS,
) -> FixResult:
    """Choose the best window of a long video (cut to MP4) or voice audio (cut to WAV; an image
    given with it is kept as it is), cut it to ``output``, and check the cut.

    ``output`` is written only when the cut file's check is GO; it may be left out with
    ``dry_run``, which chooses and explains the window and writes nothing. Raises
    :class:`~preflight.errors.UsageError` for a malformed call (no output, the output is an
    input, a folder or cannot be written, a video with a separate audio),
    :class:`~preflight.errors.InputError` for an input that cannot be read or is longer than
    ``policy.fix.max_input_s`` (as its header states, or as it decodes when it states none), and
    :class:`~preflight.errors.TimedOut` when ``timeout`` seconds pass first (None: no limit).
    Before the window is chosen, the recording is repaired (:mod:`preflight.repairs`: the kinds in
    ``repairs``, of crop, loudness and trim), and the window is chosen on the repaired recording.
    """
    policy = policy or Policy()
    deadline = None if timeout is None else time.monotonic() + timeout
    if output is not None:
        refuse_unsafe({"the output": output}, [p for p in (*files, video, image, audio) if p is not None])
    with local_copies(Sources(files, video, image, audio)) as local, contextlib.ExitStack() as staged:
        probes = source_set(local.sources)
        target, still = _roles(probes)
        out = _output(output, target, dry_run)
        _within_limit(target, policy)
        original, (target, plan) = target, repairing.stage(target, policy, repairs, staged, timeout)
        # A second past the limit: a recording whose header states no length is refused by its decode.
        media = decode(target, sample_fps=policy.faces.sample_fps, max_seconds=policy.fix.max_input_s + 1.0,
                       streamed=True)
        try:
            result = choose(media, policy, deadline)
        finally:
            media.close()
        if (bound := media.status().seconds_limit) is not None:  # it runs on: the header said less, or nothing
            stated = target.media_duration
            raise InputError(_too_long(original, bound, policy, "as it decodes, at least; its header states "
                                       + ("no length" if stated is None else f"{stated:.1f} s")))
        source = local.origin.get(str(original.path), str(original.path))
        result = result.model_copy(update={"source": source, "warnings": _damage(media, policy), "repairs": plan.repairs,
                                           "repairs_refused": plan.refused})
        origin = {**local.origin, str(target.path): source}  # a repaired recording is named as its source
        if dry_run or result.window is None:
            return result
        if result.whole:
            # Nothing is cut away, so the recording's own verdict stands: re-encoding it must not
            # turn a NO-GO into a GO (a dub's sync strength moved from fail to warn when re-encoded).
            roles = {"image": still.path, "audio": target.path} if still is not None else {target.role.value: target.path}
            own = check(**roles, policy=policy, timeout=_left(deadline, target))
            if not own.go:
                if (offset := _offset_only(own, policy)) is None or still is not None:
                    return result.model_copy(update={"report": own.relabelled(origin)})
                # Only the sound's timing fails: move it, and copy the picture as it is.
                if (moved := _resync_and_check(target.path, target, offset, out, policy, deadline)) is None:
                    return result.model_copy(update={"report": own.relabelled(origin)})
                return result.model_copy(update={"report": moved, "output": str(out), "sound_moved_ms": offset})
        report, moved = _cut_and_check(target, still, result.window, out, policy, deadline)
        return result.model_copy(update={"report": report, "output": str(out) if report.go else None,
                                         "sound_moved_ms": moved})


def savable(report: Report) -> bool:
    """Whether ``fix`` can save a NO-GO report: every failure is one a window leaves out, or a
    sound out of sync that moving it takes out."""
    return all(c.id in CUTTABLE or av_sync.remux_offset(c) is not None for c in report.checks if c.status is Status.FAIL)


def _offset_only(report: Report, policy: Policy) -> int | None:
    """The offset to move the sound by, when av_sync, failing with an offset to try (a clear one,
    or the lag its own voice would agree best at), is all that makes ``report`` NO-GO."""
    failing = [c for c in report.checks if blocked([c], policy.strict)]
    offsets = [av_sync.remux_offset(c) for c in failing]
    return offsets[0] if len(failing) == 1 and offsets[0] is not None else None


def choose(media: Media, policy: Policy, deadline: float | None = None) -> FixResult:
    """The best window of a decoded recording, the stretches it avoids, and why. Past
    ``deadline`` (``time.monotonic()``), the decode is stopped and :class:`TimedOut` raised."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        # A streamed decode waits for each frame reader, so the cut detector and the face
        # detector read side by side from the start, and the sound is analysed meanwhile.
        if media.role is Role.VIDEO:
            cuts = pool.submit(_reading, media, scene_cuts.scan, media, policy.scene_cuts)
            faces = pool.submit(_reading, media, face_track, media, policy.faces.min_confidence, landmarks=False)
        sound = pool.submit(_sound_stretches, media, policy)
        track = _by(faces, deadline, media) if media.role is Role.VIDEO else None
        picture = _picture_stretches(_by(cuts, deadline, media), track, media, policy) if track is not None else []
        rejected = sorted(_by(sound, deadline, media) + picture, key=lambda s: s.start)
    activity = speech_activity(media, policy.speech.threshold)
    duration = media.seconds()
    n = max(1, int(np.ceil(duration / STEP_S)))
    spans = activity.spans if activity is not None else []
    bad = np.zeros(n, dtype=bool)
    for s in rejected:
        bad[_index(s.start, n):_index(s.end, n, up=True)] = True
    clean = [(a * STEP_S, min(b * STEP_S, duration)) for a, b in _runs(~bad)]
    candidates = [w for a, b in clean for w in _windows(a, b, spans, track, policy)]
    ranked = sorted(candidates, key=lambda w: (w.duration - policy.fix.mid_word_cost_s * (2 - w.in_pauses),
                                               w.speech_s, w.face or 0.0), reverse=True)
    judges = _judges(media, policy, cuts.result() if media.role is Role.VIDEO else None)
    source = str(media.probe.path)
    if ranked:
        window, checks = first_passing(ranked, judges, policy)
        if window is not None:
            return FixResult(source=source, duration=round(duration, 3), window=window, checks=checks,
                             why=_why_chosen(window, rejected, duration), rejected=rejected)
        # Stretches clean of every moment to avoid, but no window of them passes as a whole.
        best = ranked[0]
        failing = "; ".join(f"{c.id}: {c.message}" for c in checks if blocked([c], policy.strict))
        return FixResult(source=source, duration=round(duration, 3), window=None, checks=checks, best_partial=best,
                         why=f"no window passes its checks; the best, {_clock(best.start)}-{_clock(best.end)}, fails {failing}",
                         rejected=rejected)
    partial = max((_measure(a, b, spans, track, in_pauses=0) for a, b in clean), key=lambda w: w.duration, default=None)
    return FixResult(source=source, duration=round(duration, 3), window=None,
                     why=_why_none(rejected, partial, bool(spans), media.role, policy), best_partial=partial,
                     rejected=rejected)


def first_passing(ranked: list[Window], judges: list[tuple[Analyzer, Timelines]],
                  policy: Policy) -> tuple[Window | None, list[Check]]:
    """The first of the ranked windows that every judge passes, with its checks; else None and
    the checks of the first (the best) window."""
    first: list[Check] = []
    for i, w in enumerate(ranked):
        checks = [c for analyzer, timelines in judges
                  for c in analyzer.judge_window(timelines, Span(start=w.start, end=w.end), policy)]
        if not blocked(checks, policy.strict):
            return w, checks
        first = checks if i == 0 else first
    return None, first


def _judges(media: Media, policy: Policy, cut_scan: scene_cuts.Scan | None) -> list[tuple[Analyzer, Timelines]]:
    """The windowed analyzers that can judge a window of this decode, with their timelines: the
    sound's and the duration's, and the cuts' from the scan fix made (the faces' need the landmarks,
    which fix leaves out; its own face stretches stand in for the count)."""
    judges: list[tuple[Analyzer, Timelines]] = []
    for analyzer in ANALYZERS.values():
        if analyzer.windowed and analyzer.aspect is not Aspect.PICTURE and analyzer.applies(media):
            if (timelines := analyzer.measure(media, policy)) is not None:
                judges.append((analyzer, timelines))
    if media.role is Role.VIDEO:
        judges.append((scene_cuts.ANALYZER, scene_cuts.Cuts(str(media.probe.path), cut_scan)))
    return judges


def _roles(probes: list[Probe]) -> tuple[Probe, Probe | None]:
    """The recording to cut, and the still image kept beside it (or None)."""
    by_role = {p.role: p for p in probes}
    if Role.VIDEO in by_role and Role.AUDIO in by_role:
        raise UsageError("fix cuts one recording: give a video with its own sound, a voice audio, "
                         "or an image with a voice audio (not a video and a separate audio)")
    target = by_role.get(Role.VIDEO) or by_role.get(Role.AUDIO)
    if target is None:
        raise UsageError("an image has nothing to cut: give the video, or the voice audio with --audio")
    return target, by_role.get(Role.IMAGE)


def _output(output: PathArg | None, target: Probe, dry_run: bool) -> Path | None:
    """The output, of the kind the recording cuts to (its path was checked before anything was read)."""
    if output is None:
        if dry_run:
            return None
        raise UsageError("name the file to write with -o OUT (or give --dry-run to only see the window)")
    out = Path(output)
    wanted = ".mp4" if target.role is Role.VIDEO else ".wav"
    if out.suffix.lower() != wanted:
        raise UsageError(f"{out}: fix writes the cut {target.role.value} as {wanted[1:].upper()}; name the output *{wanted}")
    return out


def _within_limit(target: Probe, policy: Policy) -> None:
    """Refuse a recording over ``fix.max_input_s`` before decoding it: by the length its header
    states, or, when it states none (a recording written to a pipe), by its packets' times."""
    seconds, how = target.media_duration, "its header"
    if seconds is None:
        seconds, how = packets_end(target), "its packets' times; its header states no length"
    if seconds is not None and seconds > policy.fix.max_input_s:
        raise InputError(_too_long(target, seconds, policy, how))


def _too_long(target: Probe, seconds: float, policy: Policy, how: str) -> str:
    return (f"{target.path}: {seconds:.1f} s long ({how}); fix reads recordings up to {policy.fix.max_input_s:g} s "
            "(policy fix.max_input_s): cut out the part with the take first")


def _damage(media: Media, policy: Policy) -> list[str]:
    """The recording's own decode, in the decodable check's words, when it is not clean: a
    window chosen from a damaged file's readable part must say so."""
    found = [c for c in decodable.ANALYZER.judge_window(decodable.ANALYZER.measure(media, policy),
                                                        Span(start=0.0, end=media.seconds()), policy)
             if c.status in (Status.FAIL, Status.WARN)]
    return [f"the recording is damaged: {c.message}; the window was chosen from the part that decodes"
            for c in found]


def _by(future: concurrent.futures.Future, deadline: float | None, media: Media):
    """The future's result, waited for until ``deadline`` at most: then the decode is stopped
    (the readers see their streams end) and :class:`TimedOut` raised."""
    try:
        return future.result(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
    except concurrent.futures.TimeoutError:
        media.close()
        raise TimedOut(f"{media.probe.path}: fix did not finish in its time and was stopped; the file may be "
                       "damaged or built to stall the decoder") from None


def _left(deadline: float | None, target: Probe) -> float:
    """Seconds left before ``deadline`` for the next step (the check's own limit without one)."""
    if deadline is None:
        return ANALYSIS_TIMEOUT_S
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut(f"{target.path}: fix did not finish in its time and was stopped")
    return left


def _reading(media: Media, compute, *args, **kwargs):
    """``compute(*args, **kwargs)``, which reads a streamed frame sequence; if it breaks, the
    decode is stopped (else the decoder would wait for it forever and the sound never come)."""
    try:
        return compute(*args, **kwargs)
    except BaseException:
        media.close()
        raise


def _picture_stretches(cut_scan: scene_cuts.Scan | None, track: FaceTrack, media: Media, policy: Policy) -> list[Stretch]:
    found: list[Stretch] = []
    if cut_scan is not None:
        guard = 2.0 / cut_scan.fps  # two frames: a window starting at the cut holds no frame of the shot before
        found += [Stretch(start=round(max(0.0, t - guard), 3), end=round(t + guard, 3), check="scene_cuts",
                          why=f"a scene cut at {_clock(t)}") for t in cut_scan.cut_times]
        found += _merged(cut_scan.fade_times, 1.0 / cut_scan.fps, "scene_cuts", "the picture is dark")
    counts, half = track.counts, 0.5 / (media.sample_fps or policy.faces.sample_fps)
    found += _merged(track.times[_lasting(counts >= 2)], half, "faces", "2+ faces in the frame")
    found += _merged(track.times[_lasting(counts == 0)], half, "faces", "no face in the frame")
    return found


def _lasting(mask: np.ndarray) -> np.ndarray:
    """``mask`` without its lone frames. One sampled frame with no face or a second one is a blink
    or a detector's slip (the faces check absorbs those in its margins); two in a row are not."""
    if len(mask) < 2:
        return mask
    before, after = np.concatenate([[False], mask[:-1]]), np.concatenate([mask[1:], [False]])
    return mask & (before | after)


def _sound_stretches(media: Media, policy: Policy) -> list[Stretch]:
    found: list[Stretch] = []
    heard = voices(media, policy.speech.threshold, policy.single_speaker.same_voice)
    if heard is not None and heard.count > 1:
        others = np.unique(heard.frames[heard.labels > 0]) * FRAME_S
        found += _merged(others, FRAME_S, "single_speaker", "a second voice speaks")
    if heard is not None and len(heard.overlap):
        found += _merged(heard.overlap * FRAME_S, FRAME_S, "single_speaker", "two people talk at once")
    events = sound_events(media)
    if events is not None and len(events.music):
        activity = speech_activity(media, policy.speech.threshold)
        anywhere, between = music.heard_frames(events, activity.spans if activity else [], policy)
        # Music between the words always fails; a blip under the voice shorter than the music
        # check's warning limit passes it, and is most often the detector hearing a sung vowel.
        found += [s for s in _merged(np.flatnonzero(anywhere) * HOP_S, HOP_S, "music", "music or singing")
                  if s.end - s.start > policy.music.warn_s]
        found += _merged(np.flatnonzero(between) * HOP_S, HOP_S, "music", "music between the words")
    return found


def _merged(times: np.ndarray, half: float, check: str, why: str) -> list[Stretch]:
    """Moments (each covering ``half`` either side) merged into stretches."""
    stretches: list[Stretch] = []
    for t in np.sort(times):
        start, end = max(0.0, float(t) - half), float(t) + half
        if stretches and start - stretches[-1].end <= MERGE_GAP_S:
            stretches[-1].end = round(end, 3)
        else:
            stretches.append(Stretch(start=round(start, 3), end=round(end, 3), check=check, why=why))
    for s in stretches:
        s.why = f"{s.why} {_clock(s.start)}-{_clock(s.end)}" if s.end - s.start > 2 * half + 1e-6 else f"{s.why} at {_clock(s.start)}"
    return stretches


def _windows(a: float, b: float, spans: list[tuple[float, float]], track: FaceTrack | None,
             policy: Policy) -> list[Window]:
    """Every window inside the clean stretch [a, b] with its edges in pauses (or at the stretch's
    edges, when those fall inside a word) that the duration and speech checks would pass."""
    inside = [(max(s, a), min(e, b)) for s, e in spans if e > a and s < b]
    if not inside:
        return []
    lead, shortest = policy.fix.pause_lead_s, policy.duration.min_s
    longest = policy.duration.max_s - policy.fix.margin_s
    # A start just before a word, an end just after one; at the stretch's edge when a word runs into it.
    starts = [max(inside[i - 1][1] if i else a, s - lead) for i, (s, _) in enumerate(inside)]
    ends = [min(inside[i + 1][0] if i + 1 < len(inside) else b, e + lead) for i, (_, e) in enumerate(inside)]
    windows = []
    for t0 in starts:
        options = [t1 for t1 in ends if shortest <= t1 - t0 <= longest]
        if min(b, t0 + longest) - t0 >= shortest:  # a take that never pauses long enough still yields a window
            options.append(min(b, t0 + longest))
        for t1 in options:
            w = _measure(t0, t1, spans, track, in_pauses=int(_in_pause(t0, spans)) + int(_in_pause(t1, spans)))
            if w.speech_s >= policy.speech.min_ratio * w.duration:
                windows.append(w)
    return windows


def _in_pause(t: float, spans: list[tuple[float, float]]) -> bool:
    return not any(s < t < e for s, e in spans)


def _measure(t0: float, t1: float, spans: list[tuple[float, float]], track: FaceTrack | None, *,
             in_pauses: int) -> Window:
    speech = sum(max(0.0, min(e, t1) - max(s, t0)) for s, e in spans)
    face = None
    if track is not None:
        heights = [f[0].height / track.frame_height for t, f in zip(track.times, track.faces) if t0 <= t <= t1 and len(f) == 1]
        face = round(float(np.median(heights)), 3) if heights else None
    return Window(start=round(t0, 3), end=round(t1, 3), speech_s=round(speech, 2), face=face, in_pauses=in_pauses)


def _why_chosen(w: Window, rejected: list[Stretch], duration: float) -> str:
    edges = {2: "both edges in pauses", 1: "one edge in a pause, one inside a word", 0: "both edges inside words"}[w.in_pauses]
    parts = [f"{w.duration:.1f} s of {duration:.1f} s", f"{w.speech_s:.1f} s of speech", edges]
    if w.face is not None:
        parts.append(f"face {w.face:.0%} of the frame height")
    before = [s for s in rejected if s.end <= w.start + 1e-6]
    after = [s for s in rejected if s.start >= w.end - 1e-6]
    if before:
        parts.append(f"after {before[-1].why}")
    if after:
        parts.append(f"before {after[0].why}")
    return "the longest clean stretch: " + "; ".join(parts)


def _why_none(rejected: list[Stretch], partial: Window | None, speech: bool, role: Role, policy: Policy) -> str:
    needs = "one shot with one face, one voice and no music" if role is Role.VIDEO else "one voice and no music"
    shortest = policy.duration.min_s
    head = f"no {shortest:g} s stretch of {needs}, speech in at least {policy.speech.min_ratio:.0%} of it"
    by_check: dict[str, list[Stretch]] = {}
    for s in rejected:
        by_check.setdefault(s.check, []).append(s)
    # The checks that cover the most time first: those are why nothing is left.
    ordered = sorted(by_check.values(), key=lambda group: -sum(s.end - s.start for s in group))
    reasons = [_summary(group) for group in ordered]
    if not speech:
        reasons.insert(0, "no speech is heard at all")
    elif not rejected:
        reasons.append("too little speech" if partial is None or partial.duration >= shortest
                       else f"the recording is only {partial.duration:.1f} s")
    elif partial is not None and partial.duration >= shortest:
        reasons.append("the clean stretches have too little speech")
    return f"{head}: " + "; ".join(reasons)


def _summary(group: list[Stretch]) -> str:
    if len(group) <= 3:
        return ", ".join(s.why for s in group)
    gaps = [b.start - a.start for a, b in zip(group, group[1:])]
    return f"{_what(group[0])} {len(group)} times from {_clock(group[0].start)} on, every {min(gaps):.0f}-{max(gaps):.0f} s"


def _what(s: Stretch) -> str:
    return {"scene_cuts": "a scene cut", "faces": "not one face", "single_speaker": "a second voice speaks",
            "music": "music or singing"}[s.check]


def _cut_and_check(target: Probe, still: Probe | None, window: Window, out: Path, policy: Policy,
                   deadline: float | None = None) -> tuple[Report, int | None]:
    """Cut ``window`` to a temporary file beside ``out`` (its name this run's alone), check it,
    and rename it to ``out`` only on GO; when only its sound's offset fails, move the sound
    (:func:`_resync_and_check`). The report, and how far the sound was moved."""
    partial = _temporary(out)
    try:
        _cut(target, window, partial, policy, deadline)
        roles = {"image": still.path, "audio": partial} if still is not None else {target.role.value: partial}
        report = check(**roles, policy=policy, timeout=_left(deadline, target))
        if not report.go and still is None and (offset := _offset_only(report, policy)) is not None:
            if (moved := _resync_and_check(partial, probe(partial), offset, out, policy, deadline)) is not None:
                return moved, offset
        report = report.relabelled({str(partial): str(out)})
        if report.go:
            _keep(partial, out)
        return report, None
    finally:
        discard(partial)


def _temporary(out: Path) -> Path:
    try:
        return sibling(out)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the cut there ({exc.strerror})") from None


def _keep(partial: Path, out: Path) -> None:
    try:
        keep(partial, out)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the cut there ({exc.strerror})") from None


def _resync_and_check(source: Path, probed: Probe, offset_ms: int, out: Path, policy: Policy,
                      deadline: float | None = None) -> Report | None:
    """A copy of the video ``source`` with its sound moved ``offset_ms`` earlier (later when
    negative), to a temporary file beside ``out``, checked, and renamed to ``out`` only when GO and
    av_sync now finds the voice clearly the face's own (:func:`~preflight.analyzers.av_sync.resynced`).
    The picture is copied stream for stream; the sound keeps its length (trimmed at one end,
    silence at the other) and is encoded as AAC. The copy's report when written, else None."""
    partial = _temporary(out)
    try:
        resync(source, probed, offset_ms, partial, deadline)
        report = check(video=partial, policy=policy, timeout=_left(deadline, probed)).relabelled({str(partial): str(out)})
        if not (report.go and any(av_sync.resynced(c, policy.av_sync) for c in report.checks)):
            return None
        _keep(partial, out)
        return report
    finally:
        discard(partial)


def resync(source: Path, probed: Probe, offset_ms: int, dest: Path, deadline: float | None = None) -> None:
    """Write ``source`` to ``dest`` (MP4) with its sound moved ``offset_ms`` earlier (later when
    negative): the picture copied (re-encoded only when MP4 cannot hold it), the sound as AAC."""
    ffmpeg = require_tool("ffmpeg")
    length = probed.audio.duration or probed.media_duration or 0.0
    shift = abs(offset_ms) / 1000
    moved = (f"atrim=start={shift:.3f},asetpts=PTS-STARTPTS,apad" if offset_ms > 0
             else f"adelay={abs(offset_ms)}:all=1") + f",atrim=end={length:.3f}"
    head = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", tool_path(source), "-filter_complex",
            f"[0:{probed.audio.index}]{moved}[a]", "-map", f"0:{probed.video.index}", "-map", "[a]"]
    tail = ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", "-f", "mp4"]
    failed = _run_cut([*head, "-c:v", "copy", *tail], dest, deadline, probed)
    if failed is not None:
        failed = _run_cut([*head, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", *tail],
                          dest, deadline, probed)
    if failed is not None:
        raise InputError(f"{source}: moving the sound {offset_ms:+d} ms failed ({failed})")


def _cut(target: Probe, window: Window, dest: Path, policy: Policy, deadline: float | None = None) -> None:
    """Frame-accurate. A video whose window starts on a keyframe (and ends on one, or at the end)
    is copied as it is, stream for stream: no second generation of compression. Otherwise the
    seek before the input decodes from the keyframe before and drops what precedes
    ``window.start``, and everything is re-encoded at the source's size."""
    ffmpeg = require_tool("ffmpeg")
    if target.role is Role.VIDEO and (span := copy_span(window, target, keyframe_times(target), policy)) is not None:
        start, end = span
        if _run_cut([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{start + _SEEK_PAST:.6f}",
                     "-i", tool_path(target.path), *(["-t", f"{end - start - 0.5 / target.video.fps:.6f}"] if end else []),
                     "-map", f"0:{target.video.index}", *(["-map", f"0:{target.audio.index}"] if target.audio else []),
                     "-c", "copy", "-avoid_negative_ts", "make_zero", "-movflags", "+faststart", "-f", "mp4"],
                    dest, deadline, target) is None and _lasts(dest, (end or target.video.duration or target.media_duration or 0) - start, target.video.fps):
            return
    args = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{window.start:.3f}", "-i", tool_path(target.path),
            "-t", f"{window.duration:.3f}"]
    if target.role is Role.VIDEO:
        args += ["-map", f"0:{target.video.index}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                 "-pix_fmt", "yuv420p"]
        if target.audio is not None:
            args += ["-map", f"0:{target.audio.index}", "-c:a", "aac", "-b:a", "192k"]
        args += ["-movflags", "+faststart", "-f", "mp4"]
    else:
        args += ["-map", f"0:{target.audio.index}", "-c:a", "pcm_s16le", "-f", "wav"]
    if (failed := _run_cut(args, dest, deadline, target)) is not None:
        raise InputError(f"{target.path}: cutting {_clock(window.start)}-{_clock(window.end)} failed ({failed})")


# Stream copy: what an MP4 holds as it is, and how near a keyframe an edge must be to move onto it
# (a frame: the cut detector's guard keeps the window two frames from any cut).
_COPYABLE_VIDEO, _COPYABLE_AUDIO = frozenset({"h264", "hevc"}), frozenset({"aac"})
_SEEK_PAST = 0.001  # s: seeking just past a keyframe lands on it, never on the one before


def copy_span(window: Window, target: Probe, keyframes: list[float], policy: Policy) -> tuple[float, float | None] | None:
    """The window moved by at most a frame at each edge onto keyframes, as (start, end), end None
    for "to the end of the recording"; None when the window cannot be copied as it is."""
    video = target.video
    if video is None or not video.fps or video.codec not in _COPYABLE_VIDEO or (
            target.audio is not None and target.audio.codec not in _COPYABLE_AUDIO):
        return None
    frame = 1.0 / video.fps
    start = min(keyframes, key=lambda k: abs(k - window.start), default=None)
    if start is None or abs(start - window.start) > frame:
        return None
    last = video.duration or target.media_duration or 0.0
    if window.end >= last - frame:
        end = None
    else:
        end = min((k for k in keyframes if k > start), key=lambda k: abs(k - window.end), default=None)
        if end is None or abs(end - window.end) > frame:
            return None
    length = (end if end is not None else last) - start
    if not policy.duration.min_s <= length <= policy.duration.max_s - policy.fix.margin_s / 2:
        return None
    return start, end


def _run_cut(args: list[str], dest: Path, deadline: float | None, target: Probe) -> str | None:
    """Run one ffmpeg cut into ``dest``; None when it worked, else ffmpeg's last line."""
    with shutdown.process(subprocess.Popen([*args, f"file:{dest.absolute()}"], stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)) as proc:
        try:
            _, errors = proc.communicate(timeout=None if deadline is None else _left(deadline, target))
        except subprocess.TimeoutExpired:
            proc.kill()
            raise TimedOut(f"{target.path}: cutting the window did not finish in its time and was stopped") from None
        except BaseException:
            proc.kill()
            raise
    return None if proc.returncode == 0 else (errors.strip().splitlines() or ["ffmpeg failed"])[-1]


def _lasts(path: Path, seconds: float, fps: float) -> bool:
    """The copy's picture runs ``seconds`` to within a frame and a half (else it is re-encoded)."""
    try:
        got = probe(path).video
    except InputError:
        return False
    return got is not None and got.duration is not None and abs(got.duration - seconds) <= 1.5 / fps


def _clock(t: float) -> str:
    """0:12.3"""
    minutes, seconds = divmod(max(0.0, t), 60.0)
    return f"{int(minutes)}:{seconds:04.1f}"


def _index(t: float, n: int, *, up: bool = False) -> int:
    i = int(np.ceil(t / STEP_S)) if up else int(np.floor(t / STEP_S))
    return min(max(i, 0), n)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of the runs where ``mask`` holds."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))
