"""``preflight fix``: find the best 4-15 s window of a longer recording, cut it, prove it GO.

The recording is decoded once, as a check decodes it, and every windowed analyzer
(:mod:`preflight.analyzers.base`) that can be measured on that decode measures it. Each says
where in its timelines a window would fail (``avoid``: a scene cut, not one face for too long,
another voice, a song...), in its own rule's terms; fix's window leaves those stretches out.

The window is the longest stretch free of them, at most the duration maximum less
``fix.margin_s`` (re-encoding may add a frame or an audio packet), at least the minimum, with
speech for at least the speech check's share. Its edges sit in pauses (the analyzers' ``guide``
says where the speech is), ``fix.pause_lead_s`` from the nearest word; an edge inside speech
counts as ``fix.mid_word_cost_s`` shorter. Ties go to more speech, then the larger face. The
windows are then judged in that order by the same analyzers (``judge_window``) on the
recording's timelines, and the first that passes them all is chosen: a stretch free of bad
moments can still fail as a whole (its background too loud, short blips of a song adding up,
faces missing from too many frames). What a streamed decode cannot show (overlay, lip sync, a
person's face rather than a statue's) is judged by the ordinary check of the cut file: the
output is written to a temporary file beside ``OUT`` and renamed into place only when that
check says GO (a repaired recording whose window is all of it is its own output once checked GO:
not cut and encoded a second time). A failure no window leaves out may still be repaired when its analyzer offers a
``resync``: the sound moved by the offset it names, and checked again.

A recording a check decodes whole (up to the duration maximum and a second) and that needs no
repair is decoded once, as a check decodes it, for the repairs' plan (:func:`~preflight.repairs.stage`):
the window is chosen on that decode, and the check of the recording kept whole runs on it too, each
analysis measured once. A longer one is decoded again for the window, streamed.

Memory: that decode is streamed (:func:`~preflight.media.decode`'s ``streamed``): the frame
readers read their frames as they come, side by side, and keep per-frame numbers, not pictures,
so what grows with the length is the sound (16 kHz float, about 4 MB a minute), the sound
features' working memory and the timelines: bench/fix.py measured a peak of 372 MB for 1 minute
of 720p and 867 MB for 10. Recordings are read up to ``fix.max_input_s`` (10 minutes by
default): by the length the header states, or, when it states none, by the packets' times; the
decode itself stops a second past the limit whatever the header says.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import shutil
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, computed_field

from preflight.analyzers import ANALYZERS, Analyzer
from preflight.analyzers.base import Stretch, Timelines, clock
from preflight.errors import InputError, TimedOut, UsageError
from preflight.media import Media, Probe, Role, decode
from preflight.media.cut import cut, resync
from preflight.media.probe import packets_end, probe
from preflight.outputs import discard, keep, refuse_unsafe, sibling
from preflight.pipeline import ANALYSIS_TIMEOUT_S, check
from preflight import repairs as repairing
from preflight.repairs import KINDS, Repair
from preflight.policy import Policy
from preflight.report import Check, Report, Span, Status, blocked
from preflight.sources import PathArg, Sources, local_copies, source_set

# The checks whose failure a window can leave out: the windowed analyzers' (too long, a cut, not
# one face, another voice, a song, little speech...). Others (the resolution, an overlay, lip sync)
# hold for the whole recording and any cut of it.
CUTTABLE = frozenset(check for a in ANALYZERS.values() if a.windowed for check in a.checks)
_ANALYZER_OF = {check: a for a in ANALYZERS.values() for check in a.checks}

STEP_S = 0.01  # the timeline's resolution: the audio features' hop
WHOLE_S = 0.5  # a window this close to both ends of the recording cuts nothing away

__all__ = ["CUTTABLE", "FixResult", "Stretch", "Window", "choose", "first_passing", "fix", "savable"]


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
                                                         "take out the offset a check measured, the picture copied")
    warnings: list[str] = Field([], description="what to know about the recording itself: damaged, and the window "
                                                "chosen from the part that decodes")
    repairs: list[Repair] = Field([], description="the repairs made before the window was chosen (what, why, the "
                                                  "rectangle, the gain, the trim)")
    repairs_refused: list[str] = Field([], description="repairs the recording needs that could not be made, and why")
    image_output: str | None = Field(None, description="the image of an image and an audio, repaired (cropped), written "
                                                       "beside `output` under its name when the cut is GO")
    image_only: bool = Field(False, description="an image alone: repaired (`repairs`), nothing to cut")

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
    inputs = [p for p in (*files, video, image, audio) if p is not None]
    if output is not None:
        refuse_unsafe({"the output": output}, inputs)
    with local_copies(Sources(files, video, image, audio)) as local, contextlib.ExitStack() as staged:
        probes = source_set(local.sources, local.origin)
        target, still = _roles(probes)
        if target is None:
            if still is None:
                raise UsageError("give the recording to cut: a video, or a voice audio (or an image alone, to repair)")
            return _fix_image(still, output, policy, dry_run, repairs, timeout)
        out = _output(output, target, dry_run)
        _within_limit(target, policy)
        original, (target, plan, planned_on) = target, repairing.stage(target, policy, repairs, staged, timeout)
        decoded = [planned_on] if planned_on is not None else []  # for the window and the check of the whole
        still_out = None
        if still is not None:  # the image beside the voice: cropped when it needs it, written beside the cut
            given, (still, still_plan, still_on) = still, repairing.stage(still, policy, set(repairs) & {"crop"}, staged,
                                                                          timeout)
            decoded += [still_on] if still_on is not None else []
            plan = plan.model_copy(update={"repairs": still_plan.repairs + plan.repairs,
                                           "refused": still_plan.refused + plan.refused})
            if still is not given:
                still_out = None if out is None else out.with_suffix(repairing.suffix(given))
                if still_out is not None:
                    refuse_unsafe({"the repaired image": still_out}, inputs)
        if planned_on is not None:  # all of it, decoded as a check decodes it: the window is chosen on that too
            media = planned_on
            result = choose(media, policy, deadline)
        else:
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
        result = result.model_copy(update={"warnings": _caveats(media, policy), "repairs": plan.repairs,
                                           "repairs_refused": plan.refused})
        origin = {**local.origin, str(target.path): original.source.label}
        if still is not None:
            origin[str(still.path)] = still.label or still.source.label
        if dry_run or not result.whole:  # only the check of the recording kept whole reads the plan's frames
            for m in decoded:
                m.release_frames()
        if dry_run or result.window is None:
            return result
        if result.whole:
            # Nothing is cut away, so the recording's own verdict stands: re-encoding it must not
            # turn a NO-GO into a GO (a dub's sync strength moved from fail to warn when re-encoded).
            roles = {"image": still.path, "audio": target.path} if still is not None else {target.role.value: target.path}
            repaired = target is not original  # fix wrote it (MP4 or WAV): GO as it is, it is the output, not cut again
            named = {**origin, str(target.path): str(out), **({str(still.path): str(still_out)} if still_out else {})}
            own = check(**roles, policy=policy, timeout=_left(deadline, target), labels=named if repaired else origin,
                        decoded=decoded)
            if own.go and repaired:
                _write(still.path if still_out else None, still_out)
                _write(target.path, out)
                return result.model_copy(update={"report": own, "output": str(out),
                                                 "image_output": str(still_out) if still_out else None})
            if not own.go:
                if (offset := _offset_only(own, policy)) is None or still is not None:
                    return result.model_copy(update={"report": own})
                # Only the sound's timing fails: move it, and copy the picture as it is.
                if (moved := _resync_and_check(target.path, target, offset, out, policy, deadline)) is None:
                    return result.model_copy(update={"report": own})
                return result.model_copy(update={"report": moved, "output": str(out), "sound_moved_ms": offset})
        report, moved = _cut_and_check(target, still, result.window, out, policy, deadline, still_out)
        return result.model_copy(update={"report": report, "output": str(out) if report.go else None,
                                         "image_output": str(still_out) if report.go and still_out else None,
                                         "sound_moved_ms": moved})


def savable(report: Report) -> bool:
    """Whether ``fix`` can save a NO-GO report: every failure is one a window leaves out, one
    whose analyzer offers to move the sound (:class:`~preflight.analyzers.base.Resync`), or one a
    repair is planned for (:data:`preflight.repairs.REMOVES`: a second face or a mark a crop leaves out)."""
    return all(c.id in CUTTABLE or _offset(c) is not None or c.reason in repairing.REMOVES for c in report.blocking)


def _offset(check: Check) -> int | None:
    """The sound offset (ms) the check's analyzer offers to try for it, or None."""
    analyzer = _ANALYZER_OF.get(check.id)
    return analyzer.resync.offset(check) if analyzer is not None and analyzer.resync is not None else None


def _resync_worked(check: Check, policy: Policy) -> bool:
    analyzer = _ANALYZER_OF.get(check.id)
    return analyzer is not None and analyzer.resync is not None and analyzer.resync.worked(check, policy)


def _offset_only(report: Report, policy: Policy) -> int | None:
    """The offset to move the sound by, when one check, failing with an offset its analyzer
    offers to try, is all that makes ``report`` NO-GO."""
    failing = [c for c in report.checks if blocked([c], policy.strict)]
    return _offset(failing[0]) if len(failing) == 1 else None


def choose(media: Media, policy: Policy, deadline: float | None = None) -> FixResult:
    """The best window of a decoded recording, the stretches it avoids, and why. Past
    ``deadline`` (``time.monotonic()``), the decode is stopped and :class:`TimedOut` raised."""
    judges = _measured(media, policy, deadline)
    rejected = sorted((s for a, t in judges if a.avoid is not None for s in a.avoid(t, policy)), key=lambda s: s.start)
    guides = [a.guide(t) for a, t in judges if a.guide is not None]
    spans = next((g.speech for g in guides if g.speech is not None), [])
    face = next((g.face for g in guides if g.face is not None), None)
    duration = media.seconds()
    n = max(1, int(np.ceil(duration / STEP_S)))
    bad = np.zeros(n, dtype=bool)
    for s in rejected:
        bad[_index(s.start, n):_index(s.end, n, up=True)] = True
    clean = [(a * STEP_S, min(b * STEP_S, duration)) for a, b in _runs(~bad)]
    candidates = [w for a, b in clean for w in _windows(a, b, spans, face, policy)]
    ranked = sorted(candidates, key=lambda w: (w.duration - policy.fix.mid_word_cost_s * (2 - w.in_pauses),
                                               w.speech_s, w.face or 0.0), reverse=True)
    source = media.source.label
    if ranked:
        window, checks = first_passing(ranked, judges, policy)
        if window is not None:
            return FixResult(source=source, duration=round(duration, 3), window=window, checks=checks,
                             why=_why_chosen(window, rejected, duration), rejected=rejected)
        # Stretches clean of every moment to avoid, but no window of them passes as a whole.
        best = ranked[0]
        failing = "; ".join(f"{c.id}: {c.message}" for c in checks if blocked([c], policy.strict))
        return FixResult(source=source, duration=round(duration, 3), window=None, checks=checks, best_partial=best,
                         why=f"no window passes its checks; the best, {clock(best.start)}-{clock(best.end)}, fails {failing}",
                         rejected=rejected)
    partial = max((_measure(a, b, spans, face, in_pauses=0) for a, b in clean), key=lambda w: w.duration, default=None)
    return FixResult(source=source, duration=round(duration, 3), window=None,
                     why=_why_none(rejected, partial, bool(spans), policy), best_partial=partial,
                     rejected=rejected)


def _measured(media: Media, policy: Policy, deadline: float | None) -> list[tuple[Analyzer, Timelines]]:
    """The windowed analyzers that can be measured on this (streamed) decode, with their
    timelines, in the registry's order. A streamed decode waits for each frame reader, so those
    read side by side from the start, and the others measure meanwhile, in turn."""
    analyzers = [a for a in ANALYZERS.values() if a.windowed and a.streams and a.applies(media)]
    readers = [a for a in analyzers if a.needs.frames]
    rest = [a for a in analyzers if not a.needs.frames]
    with ThreadPoolExecutor(max_workers=len(readers) + 1) as pool:
        futures = {a.name: pool.submit(_reading, media, a.measure_streamed, media, policy) for a in readers}
        others = pool.submit(_reading, media, lambda: {a.name: a.measure_streamed(media, policy) for a in rest})
        timelines = {name: _by(f, deadline, media) for name, f in futures.items()} | _by(others, deadline, media)
    return [(a, timelines[a.name]) for a in analyzers if timelines[a.name] is not None]


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


def _roles(probes: list[Probe]) -> tuple[Probe, Probe | None]:
    """The recording to cut, and the still image kept beside it (or None)."""
    by_role = {p.role: p for p in probes}
    if Role.VIDEO in by_role and Role.AUDIO in by_role:
        raise UsageError("fix cuts one recording: give a video with its own sound, a voice audio, "
                         "or an image with a voice audio (not a video and a separate audio)")
    return by_role.get(Role.VIDEO) or by_role.get(Role.AUDIO), by_role.get(Role.IMAGE)


def _fix_image(image: Probe, output: PathArg | None, policy: Policy, dry_run: bool, allowed: Collection[str],
               timeout: float | None) -> FixResult:
    """An image alone has nothing to cut: it is repaired (cropped), checked, and written only when GO."""
    wanted = repairing.suffix(image)
    if output is not None and Path(output).suffix.lower().replace(".jpeg", ".jpg") != wanted:
        raise UsageError(f"{output}: fix writes the repaired image as {'JPEG' if wanted == '.jpg' else 'PNG'}, as it "
                         f"came; name the output *{wanted}")
    done = repairing.repair(image.path, None if dry_run else output, policy, frozenset(allowed) & {"crop"},
                            dry_run=dry_run, timeout=timeout)
    label = image.source.label
    repairs = [r.model_copy(update={"file": label}) for r in done.plan.repairs]
    nothing = "nothing in it that a crop repairs (`preflight check` gives its verdict)"
    why = "an image alone: nothing to cut; " + ("; ".join(r.why for r in repairs) or "; ".join(done.plan.refused) or nothing)
    return FixResult(source=label, duration=0.0, window=None, why=why, rejected=[], image_only=True,
                     repairs=repairs, repairs_refused=done.plan.refused, report=done.report, output=done.output)


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


def _caveats(media: Media, policy: Policy) -> list[str]:
    """What a window must say of the recording it comes from: the caveat of each analyzer that
    offers one (a damaged decode: the window comes from the part that decodes) whose check flags
    the whole recording."""
    notes = []
    for a in ANALYZERS.values():
        if a.caveat is not None and a.streams and not a.needs.frames and a.applies(media):
            if (timelines := a.measure(media, policy)) is not None:
                notes += [a.caveat.format(message=c.message) for c in a.judge_window(timelines, Span(start=0.0, end=media.seconds()), policy)
                          if c.status in (Status.FAIL, Status.WARN)]
    return notes


def _by(future: concurrent.futures.Future, deadline: float | None, media: Media):
    """The future's result, waited for until ``deadline`` at most: then the decode is stopped
    (the readers see their streams end) and :class:`TimedOut` raised."""
    try:
        return future.result(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
    except concurrent.futures.TimeoutError:
        media.close()
        raise TimedOut(f"{media.probe.source.label}: fix did not finish in its time and was stopped; the file may be "
                       "damaged or built to stall the decoder") from None


def _left(deadline: float | None, target: Probe) -> float:
    """Seconds left before ``deadline`` for the next step (the check's own limit without one)."""
    if deadline is None:
        return ANALYSIS_TIMEOUT_S
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut(f"{target.source.label}: fix did not finish in its time and was stopped")
    return left


def _reading(media: Media, compute, *args, **kwargs):
    """``compute(*args, **kwargs)``, which reads a streamed frame sequence; if it breaks, the
    decode is stopped (else the decoder would wait for it forever and the sound never come)."""
    try:
        return compute(*args, **kwargs)
    except BaseException:
        media.close()
        raise


def _windows(a: float, b: float, spans: list[tuple[float, float]], face: Callable[[float, float], float | None] | None,
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
            w = _measure(t0, t1, spans, face, in_pauses=int(_in_pause(t0, spans)) + int(_in_pause(t1, spans)))
            if w.speech_s >= policy.speech.min_ratio * w.duration:
                windows.append(w)
    return windows


def _in_pause(t: float, spans: list[tuple[float, float]]) -> bool:
    return not any(s < t < e for s, e in spans)


def _measure(t0: float, t1: float, spans: list[tuple[float, float]],
             face: Callable[[float, float], float | None] | None, *, in_pauses: int) -> Window:
    speech = sum(max(0.0, min(e, t1) - max(s, t0)) for s, e in spans)
    return Window(start=round(t0, 3), end=round(t1, 3), speech_s=round(speech, 2),
                  face=face(t0, t1) if face is not None else None, in_pauses=in_pauses)


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


def _why_none(rejected: list[Stretch], partial: Window | None, speech: bool, policy: Policy) -> str:
    shortest = policy.duration.min_s
    head = f"no {shortest:g} s stretch clear of what the checks reject, speech in at least {policy.speech.min_ratio:.0%} of it"
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
    what = " or ".join(dict.fromkeys(s.what for s in group))
    return f"{what} {len(group)} times from {clock(group[0].start)} on, every {min(gaps):.0f}-{max(gaps):.0f} s"


def _cut_and_check(target: Probe, still: Probe | None, window: Window, out: Path, policy: Policy,
                   deadline: float | None = None, still_out: Path | None = None) -> tuple[Report, int | None]:
    """Cut ``window`` to a temporary file beside ``out`` (its name this run's alone), check it,
    and rename it to ``out`` only on GO; when only its sound's offset fails, move the sound
    (:func:`_resync_and_check`). The report, and how far the sound was moved. ``still_out``: where
    the (repaired) image beside the cut audio is written when the cut is GO."""
    partial = _temporary(out)
    try:
        cut(target, window.start, window.end, partial, deadline=deadline,
            lengths=(policy.duration.min_s, policy.duration.max_s - policy.fix.margin_s / 2))
        roles = {"image": still.path, "audio": partial} if still is not None else {target.role.value: partial}
        named = {str(partial): str(out), **({str(still.path): str(still_out)} if still is not None and still_out else {})}
        report = check(**roles, policy=policy, timeout=_left(deadline, target), labels=named)
        if not report.go and still is None and (offset := _offset_only(report, policy)) is not None:
            if (moved := _resync_and_check(partial, probe(partial, str(out)), offset, out, policy, deadline)) is not None:
                return moved, offset
        if report.go:
            _write(still.path if still is not None and still_out is not None else None, still_out)
            _keep(partial, out)
        return report, None
    finally:
        discard(partial)


def _write(source: Path | None, out: Path | None) -> None:
    """A copy of the checked ``source`` at ``out``, whole or not at all (nothing when either is None)."""
    if source is None or out is None:
        return
    copied = _temporary(out)
    try:
        shutil.copyfile(source, copied)
        _keep(copied, out)
    finally:
        discard(copied)


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
    the check whose analyzer offered the offset says it took (:class:`~preflight.analyzers.base.Resync`).
    The picture is copied stream for stream; the sound keeps its length (trimmed at one end,
    silence at the other) and is encoded as AAC. The copy's report when written, else None."""
    partial = _temporary(out)
    try:
        resync(source, probed, offset_ms, partial, deadline)
        report = check(video=partial, policy=policy, timeout=_left(deadline, probed), labels={str(partial): str(out)})
        if not (report.go and any(_resync_worked(c, policy) for c in report.checks)):
            return None
        _keep(partial, out)
        return report
    finally:
        discard(partial)


def _index(t: float, n: int, *, up: bool = False) -> int:
    i = int(np.ceil(t / STEP_S)) if up else int(np.floor(t / STEP_S))
    return min(max(i, 0), n)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of the runs where ``mask`` holds."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))
