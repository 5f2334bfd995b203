"""av_sync: the voice in a video must be the visible person's own, in sync with their lips.

Measured: Light-ASD's sync curve (:mod:`preflight.features.sync`) over the 10 s with the most
speech, smoothed over 3 lags; the sync strength is its z-score at the best lag within -120..+200 ms
(BT.1359's acceptability plus the measure's 40 ms margin); the peak is its highest point within
1.3 s, placed between lags. Evidence is strong with ``min_frames`` speech frames with a face and a
mouth crop of ``min_mouth_px`` source pixels; under those own voices and dubs score alike, so it
only warns (av_sync.unclear) and says what helps. On strong evidence dubs read a median of 0.4-0.7,
own voices of clean recordings 1.1-7 (of produced clips, with music or cuts, lower); between 1 and
2.2 the two are about as common (eval/avsync.py): under ``fail_below`` fails as another voice; under
``faint_below`` only when the curve agrees better out of sync (a peak of ``hint_z`` past
acceptability: another voice, or the same one shifted), else warns; ``pass_at`` sits over every dub
measured. A peak of ``offset_z`` or more away from sync is the same voice shifted, judged by ITU-R
BT.1359: in sync within +125/-45 ms, warns to +185/-90 ms plus the margin, fails past it
(av_sync.offset); weaker peaks are named as the lag to try.
Weak spots: a third of dubs, and own voices shifted 0.5 s whose peak is weak, only warn; a real
translation dub, or a voice timed to the speaker's pauses, can read like an own voice; lips
redrawn to match a foreign voice (a lip-sync generator) are in sync by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features.sync import FPS, SyncCurve, sync_curve
from preflight.media import Media, Role
from preflight.policy import AvSyncLimits, Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Needs, Resync, Timelines
from preflight.roles import Source

REASONS = {
    "av_sync.other_voice": "the voice does not move with the lips: a dub, a voice-over or another speaker",
    "av_sync.offset": "the same voice, out of sync by the offset given (ITU-R BT.1359): re-mux it; `preflight fix` does",
    "av_sync.weak": "the lips and the voice agree, but not clearly enough to rule out a dub: listen and watch",
    "av_sync.unclear": "too little to judge the lip sync by (a small mouth in the frame, little speech): record closer, or longer",
}

_PEAK_RANGE = 32  # frames: offsets farther than this are read as chance peaks at the curve's ends
_SMOOTH = 3  # lags: neighbouring lags share most of their frames, so a one-lag spike is noise
_MS = 1000 // FPS  # one lag


@dataclass(frozen=True)
class SyncJudgment:
    """What a sync curve says, before it is worded: the check's status and its evidence."""

    status: Status
    reason: str | None
    strength: float  # z-score at the best lag near sync (within acceptability and the margin)
    in_sync_lag: int  # frames: that lag
    peak_lag: int  # frames: the curve's highest point within _PEAK_RANGE
    peak_z: float
    offset_ms: int  # the peak's lag refined between lags; positive: the sound comes late
    frames: int
    mouth_px: float
    thin: tuple[str, ...]  # what the evidence lacks: "mouth", "speech"; empty when strong

    @property
    def out_of_sync(self) -> bool:
        return self.reason == "av_sync.offset"

    @property
    def strong(self) -> bool:
        return not self.thin


def verdict(curve: SyncCurve, limits: AvSyncLimits) -> SyncJudgment:
    """The verdict on a sync curve (smoothed over ``_SMOOTH`` lags first)."""
    c = curve.smoothed(_SMOOTH)
    early = (limits.accept_early_ms + limits.offset_margin_ms) // _MS
    late = (limits.accept_late_ms + limits.offset_margin_ms) // _MS
    strength, best = max((c.z(int(lag)), int(lag)) for lag in c.lags if -early <= lag <= late)
    near = np.flatnonzero(np.abs(c.lags) <= _PEAK_RANGE)
    k = int(near[np.argmax(c.scores[near])])
    peak = int(c.lags[k])
    peak_z, offset = c.z(peak), round((peak + _between(c.scores, k)) * _MS)
    thin = tuple(what for what, short in (("mouth", curve.mouth_px < limits.min_mouth_px),
                                           ("speech", curve.frames < limits.min_frames)) if short)
    judged = dict(strength=strength, in_sync_lag=best, peak_lag=peak, peak_z=peak_z, offset_ms=offset,
                  frames=curve.frames, mouth_px=curve.mouth_px, thin=thin)
    if peak_z >= limits.offset_z and not -limits.detect_early_ms <= offset <= limits.detect_late_ms:
        return SyncJudgment(Status.FAIL if _past(offset, limits) and not thin else Status.WARN, "av_sync.offset", **judged)
    if strength >= limits.pass_at:
        return SyncJudgment(Status.PASS, None, **judged)
    if thin:
        return SyncJudgment(Status.WARN, "av_sync.unclear", **judged)
    if strength < limits.fail_below or (strength < limits.faint_below and peak_z >= limits.hint_z and _past(offset, limits)):
        return SyncJudgment(Status.FAIL, "av_sync.other_voice", **judged)
    return SyncJudgment(Status.WARN, "av_sync.weak", **judged)


def _past(offset_ms: int, limits: AvSyncLimits) -> bool:
    """Whether an offset lies past BT.1359's acceptability and the measure's margin."""
    return offset_ms > limits.accept_late_ms + limits.offset_margin_ms or \
        offset_ms < -(limits.accept_early_ms + limits.offset_margin_ms)


def _between(scores: np.ndarray, k: int) -> float:
    """Where the peak at index ``k`` lies between lags (-0.5..0.5): the vertex of the parabola
    through it and its two neighbours."""
    if k == 0 or k == len(scores) - 1:
        return 0.0
    a, b, c = scores[k - 1], scores[k], scores[k + 1]
    bend = a - 2 * b + c
    return 0.0 if bend >= 0 else float(np.clip(0.5 * (a - c) / bend, -0.5, 0.5))


@dataclass(frozen=True)
class Sync(Timelines):
    curve: SyncCurve | None  # None: too little speech with a face


def measure(media: Media, policy: Policy) -> Sync | None:
    if media.separate_audio or media.probe.audio is None:
        return None
    return Sync(media.source, sync_curve(media, policy.speech.threshold, policy.faces.min_confidence))


def judge(t: Sync, window: Span, policy: Policy) -> list[Check]:
    limits = policy.av_sync
    limit = (f"sync strength >= {limits.pass_at:g} passes; < {limits.fail_below:g} fails (< {limits.faint_below:g} with "
             f"a clearer peak out of sync) given {limits.min_frames} speech "
             f"frames and a {limits.min_mouth_px:g} px mouth; in sync -{limits.detect_early_ms}..+{limits.detect_late_ms} ms, "
             f"out past -{limits.accept_early_ms}/+{limits.accept_late_ms} ms (ITU-R BT.1359)")
    if t.curve is None:
        return [ANALYZER.check(t.source, Status.SKIPPED, value=None, limit=limit,
                               message="too little speech with a face to compare the voice with the lips")]
    return [_check(verdict(t.curve, limits), t.curve, limits, t.source, limit)]


def remux_offset(check: Check) -> int | None:
    """The offset (ms, positive: the sound comes late) that a re-mux should try to take out, when
    this check failed and named one: a clear peak away from sync (av_sync.offset), or a weaker one
    given as the lag to try if the voice is the person's own; else None."""
    if check.id != "av_sync" or check.status is not Status.FAIL or "remux_ms" not in check.details:
        return None
    return int(check.details["remux_ms"])


def resynced(check: Check, limits: AvSyncLimits) -> bool:
    """Whether a copy whose sound was moved by :func:`remux_offset` shows the voice as the face's own:
    its sync strength near sync as clear as an offset must be (``offset_z``). A dub's chance peak,
    moved to sync, stays under it; a GO alone would let it through as a warning."""
    return check.id == "av_sync" and check.value is not None and float(check.value) >= limits.offset_z


def remux_command(offset_ms: int) -> str:
    """An ffmpeg command that moves the sound by ``offset_ms`` (positive: it comes late, so earlier)."""
    return (f"ffmpeg -i IN.mp4 -itsoffset {-offset_ms / 1000:+.3f} -i IN.mp4 -map 0:v -map 1:a -c:v copy -c:a aac "
            f"-shortest OUT.mp4")


def _side(offset_ms: int) -> str:
    return f"{abs(offset_ms)} ms {'late' if offset_ms > 0 else 'early'}"


def _check(j: SyncJudgment, curve: SyncCurve, limits: AvSyncLimits, source: Source, limit: str) -> Check:
    """The judgment worded for a user: what the curve says and what to do about it."""
    head = (f"sync strength {j.strength:.1f} at {j.in_sync_lag * _MS:+d} ms over {j.frames} speech frames, "
            f"the mouth {j.mouth_px:.0f} px")
    details: dict[str, float | int | str] = {"offset_ms": j.offset_ms, "peak_z": round(j.peak_z, 2), "frames": j.frames,
                                             "mouth_px": round(j.mouth_px, 1), "evidence": "weak" if j.thin else "strong"}
    if j.status is Status.PASS:
        return ANALYZER.check(source, Status.PASS, value=round(j.strength, 2), limit=limit, details=details,
                              message=head + ": the lips move with this voice")
    parts, fix = [head], ""
    remux = (f"re-mux the sound {abs(j.offset_ms)} ms {'earlier' if j.offset_ms > 0 else 'later'}: `preflight fix` "
             f"does it and checks the copy (or {remux_command(j.offset_ms)})")
    if j.out_of_sync:
        details["remux_ms"] = j.offset_ms
        bound = limits.accept_late_ms if j.offset_ms > 0 else limits.accept_early_ms
        parts.append(f"the same voice, out of sync: the sound is {_side(j.offset_ms)} (peak z {j.peak_z:.1f}; "
                     f"ITU-R BT.1359 accepts up to {bound} ms {'late' if j.offset_ms > 0 else 'early'})")
        fix = remux
    elif j.reason == "av_sync.other_voice":
        parts.append(f"the voice does not move with the lips (own voices measure {limits.fail_below:g} or more on this "
                     "much evidence): a dub, a voice-over or another speaker?" if j.strength < limits.fail_below else
                     f"the voice hardly moves with the lips in sync (under {limits.faint_below:g}) and agrees better "
                     f"{_side(j.offset_ms)}: another voice, or this one out of sync?")
        fix = "use a recording of the person speaking in their own voice, sound and picture recorded together"
    elif j.reason == "av_sync.weak":
        parts.append(f"the lips and the voice agree only faintly (under {limits.faint_below:g}, where own voices and "
                     "dubs read alike)" if j.strength < limits.faint_below else
                     f"the lips and the voice agree, but under {limits.pass_at:g}, where another voice can too")
        parts[-1] += ": listen and watch that it is the person's own voice"
        fix = "make sure the voice is the person's own, recorded with the picture"
    else:
        lacks = []
        if "mouth" in j.thin:
            lacks.append(f"the mouth is too small in the frame to judge the lip sync ({j.mouth_px:.0f} px, "
                         f"{limits.min_mouth_px:g} needed)")
        if "speech" in j.thin:
            lacks.append(f"only {j.frames} speech frames to judge the lip sync by ({limits.min_frames} needed)")
        parts += lacks + ["listen and watch that the voice is the person's own, in sync"]
        helps = (["record closer to the camera, or at a higher resolution"] if "mouth" in j.thin else []) + \
                (["record a longer take with more speech"] if "speech" in j.thin else [])
        fix = "; ".join(helps)
    if not j.out_of_sync and j.peak_z >= limits.hint_z and not -limits.detect_early_ms <= j.offset_ms <= limits.detect_late_ms:
        # Too weak to tell an out-of-sync own voice from another voice: say both (eval/avsync.py).
        parts.append(f"if it is their own voice, it agrees best with the sound {_side(j.offset_ms)} (weak: z {j.peak_z:.1f})")
        fix += f"; if it is their own voice, {remux}"
        details["remux_ms"] = j.offset_ms
    return ANALYZER.check(source, j.status, reason=j.reason, value=round(j.strength, 2), limit=limit, details=details,
                          spans=_quiet_lips(curve), message="; ".join(parts), fix=fix)


def _quiet_lips(curve: SyncCurve) -> list[Span]:
    """Where the voice is heard but the face's score says it is not speaking (at lag 0)."""
    quiet = curve.times[curve.speaking < 0]
    spans = Span.merge(np.round(quiet, 2), gap=Span.BRIDGED_S)  # runs at least 0.2 s long, then to their frames' ends
    return [Span(start=s.start, end=round(s.end + 1 / FPS, 2)) for s in spans if s.end - s.start >= 0.2]


ANALYZER = Analyzer(checks=("av_sync",), roles=frozenset({Role.VIDEO}), policy="av_sync",
                    aspect=Aspect.PICTURE, reasons=REASONS, measure=measure, judge=judge, windowed=False,
                    needs=Needs(frames=True, landmarks=True, model=True),
                    resync=Resync(offset=remux_offset, worked=lambda check, policy: resynced(check, policy.av_sync)),
                    units={"av_sync": "z"})
