"""av_sync: the voice in a video must be the visible person's own, in sync with their lips.

Mosaic forbids dubbing: a voice-over, another person's voice, a translated or synthetic voice
over the face. The measure is Light-ASD's sync curve (:mod:`preflight.features.sync`): its
speaking score over the speech frames, for the sound shifted by -40..+40 frames (25 fps)
against the picture. The sync strength is the score's z-score against the lags at least 8
frames away, at the best lag within the in-sync window: sound up to 3 frames (120 ms) early or
5 frames (200 ms) late, about ITU-R BT.1359's acceptability range for broadcast lip sync
(sound 90 ms early, 185 ms late). One shared talking head (the Obama address) itself runs
160-240 ms late and is a good source.

The curve is smoothed over 3 lags first: neighbouring lags compare nearly the same frames, so a
real sync peak spans several lags and a one-lag spike is noise (on the evaluation below this
moved no own voice, and took the other-voice pairs under 2.5 from 64 to 65 of 68).

Limits, from ``eval/avsync.py`` (the 9 good talking heads with their own voice, the 68 ordered
pairs of them with another clip's sound, and each with its own sound shifted 0.2, 0.5 and 1 s
late and 0.5 s early): the own voices' sync strength is 2.1-7.3, except a 4.1 s vertical clip
with a small face (0.20; 72 speech frames); the other-voice pairs' median is 0.7 and 65 of 68
are under 2.5; the shared dubbed clips' 9 are at most 1.45. So it passes at 2.5 or more, fails
under 1.5 when at least 100 speech frames with a face were compared (4 s), and warns between
or with less evidence: good footage is not failed, weak evidence only warns. The fail limit is
a guess between the own voices' 2.1 and the dubs' 1.45 (the German dub), not a wide gap.

When the voice is out of sync rather than someone else's, the curve peaks away from the
window. Every message that does not pass names the highest lag within 1.3 s: 26 of the 36
shifted clips get it within 80 ms of the truth (the misses: the 4.1 s clip, which has no curve
with its own voice either, and 4 clips of the two faces whose own curves are weakest). A peak
of z 4 or more is reported as the offset, which re-muxing fixes (10 shifted clips, 9 right; 1
of the 68 other-voice pairs). Weaker peaks are as high for another voice as for an own voice
shifted (other-voice chance peaks: median z 2.4, 57 of 58 under 3.7), so those messages say
both: another voice, or, if it is the person's own, the lag to try.

Weak spots: small, low-contrast mouths (a phone clip at 11% of the frame height) give weak
curves that only warn when they should fail, or fail just under the limit (the German dub:
1.45); short clips (5 s) give noisy curves in which another voice can line up by chance (2 of
68 pairs passed at z 4.5); a voice 200 ms late passes, and one clip 1 s late passed on a chance
in-sync peak. Only the 10 s of picture with the most speech are looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features.sync import FPS, SyncCurve, sync_curve
from preflight.media import Media, Role
from preflight.policy import AvSyncLimits, Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Timelines

REASONS = {
    "av_sync.other_voice": "the voice does not move with the lips: a dub, a voice-over or another speaker",
    "av_sync.offset": "the same voice, out of sync by the offset given: re-mux it",
    "av_sync.weak": "the lips and the voice agree too weakly to clear it: listen and watch",
}

_MERGE_GAP_S = 0.3
_PEAK_RANGE = 32  # frames: offsets farther than this are read as chance peaks at the curve's ends
_SMOOTH = 3  # lags: neighbouring lags share most of their frames, so a one-lag spike is noise


@dataclass(frozen=True)
class SyncJudgment:
    """What a sync curve says, before it is worded: the check's status and its evidence."""

    status: Status
    reason: str | None
    strength: float  # z-score at the best lag within the in-sync window
    in_sync_lag: int  # frames: that lag
    peak_lag: int | None  # frames: the highest point outside the window, within _PEAK_RANGE
    peak_z: float | None
    frames: int

    @property
    def offset_ms(self) -> int | None:
        return None if self.peak_lag is None else self.peak_lag * 1000 // FPS

    @property
    def out_of_sync(self) -> bool:
        """The peak is strong enough to read the voice as the face's own, shifted."""
        return self.reason == "av_sync.offset"


def verdict(curve: SyncCurve, limits: AvSyncLimits) -> SyncJudgment:
    """The verdict on a sync curve (smoothed over ``_SMOOTH`` lags first)."""
    curve = curve.smoothed(_SMOOTH)
    window = [int(lag) for lag in curve.lags if -limits.early_frames <= lag <= limits.late_frames]
    strength, best = max((curve.z(lag), lag) for lag in window)
    peak = _peak(curve, limits)
    peak_z = None if peak is None else curve.z(peak)
    if strength >= limits.warn_below:
        return SyncJudgment(Status.PASS, None, strength, best, peak, peak_z, curve.frames)
    enough = curve.frames >= limits.min_frames
    status = Status.FAIL if strength < limits.fail_below and enough else Status.WARN
    if peak_z is not None and peak_z >= limits.offset_z:
        reason = "av_sync.offset"
    else:
        reason = "av_sync.other_voice" if status is Status.FAIL else "av_sync.weak"
    return SyncJudgment(status, reason, strength, best, peak, peak_z, curve.frames)


@dataclass(frozen=True)
class Sync(Timelines):
    curve: SyncCurve | None  # None: too little speech with a face


def measure(media: Media, policy: Policy) -> Sync | None:
    if media.separate_audio or media.probe.audio is None:
        return None
    return Sync(str(media.probe.path), sync_curve(media, policy.speech.threshold, policy.faces.min_confidence))


def judge(t: Sync, window: Span, policy: Policy) -> list[Check]:
    limits = policy.av_sync
    limit = (f"sync strength >= {limits.warn_below:g} (fail < {limits.fail_below:g}) within "
             f"-{limits.early_frames * 1000 // FPS}..+{limits.late_frames * 1000 // FPS} ms")
    if t.curve is None:
        return [Check(id="av_sync", source=t.source, status=Status.SKIPPED, value=None, unit="z", limit=limit,
                      message="too little speech with a face to compare the voice with the lips")]
    return [_check(verdict(t.curve, limits), t.curve, limits, t.source, limit)]


def _check(j: SyncJudgment, curve: SyncCurve, limits: AvSyncLimits, source: str, limit: str) -> Check:
    """The judgment worded for a user: what the curve says and what to do about it."""
    parts = [f"sync strength {j.strength:.1f} at {j.in_sync_lag * 1000 // FPS:+d} ms over {j.frames} speech frames"]
    if j.status is Status.PASS:
        return Check(id="av_sync", source=source, status=Status.PASS, value=round(j.strength, 2), unit="z",
                     limit=limit, message=parts[0] + ": the lips move with this voice")
    remux = None
    if j.offset_ms is not None:
        ms = j.offset_ms
        side = f"{abs(ms)} ms {'late' if ms > 0 else 'early'}"
        remux = f"re-mux the sound {abs(ms)} ms {'earlier' if ms > 0 else 'later'} (e.g. ffmpeg -itsoffset {-ms / 1000:+.2f} on the audio input)"
    if j.out_of_sync:
        parts.append(f"the same voice looks out of sync: the sound is {side} (peak z {j.peak_z:.1f})")
        fix = f"{remux}, then check again"
    else:
        parts.append("the voice does not look like the visible person's (a dub, a voice-over or another speaker?)")
        fix = "use a recording of the person speaking in their own voice, sound and picture recorded together"
        if remux is not None:
            # Too weak to tell an out-of-sync own voice from another voice: say both (eval/avsync.py).
            parts.append(f"if it is their own voice, it agrees best with the sound {side} (weak: z {j.peak_z:.1f})")
            fix += f"; if it is their own voice, {remux} and check again"
    if j.frames < limits.min_frames:
        parts.append(f"only {j.frames} speech frames to judge by: listen and watch")
    return Check(id="av_sync", source=source, status=j.status, reason=j.reason, value=round(j.strength, 2), unit="z",
                 limit=limit, spans=_quiet_lips(curve), message="; ".join(parts), fix=fix)


def _peak(curve: SyncCurve, limits: AvSyncLimits) -> int | None:
    """The lag of the curve's highest point if it lies outside the in-sync window (within range)."""
    near = np.abs(curve.lags) <= _PEAK_RANGE
    lag = int(curve.lags[near][np.argmax(curve.scores[near])])
    return None if -limits.early_frames <= lag <= limits.late_frames else lag


def _quiet_lips(curve: SyncCurve) -> list[Span]:
    """Where the voice is heard but the face's score says it is not speaking (at lag 0)."""
    quiet = curve.times[curve.speaking < 0]
    spans = Span.merge(np.round(quiet, 2), gap=_MERGE_GAP_S)
    return [Span(start=s.start, end=round(s.end + 1 / FPS, 2)) for s in spans if s.end - s.start >= 0.2]


ANALYZER = Analyzer(checks=("av_sync",), roles=frozenset({Role.VIDEO}), policy="av_sync",
                    aspect=Aspect.PICTURE, reasons=REASONS, measure=measure, judge=judge, windowed=False)
