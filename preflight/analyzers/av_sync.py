"""av_sync: the voice in a video must be the visible person's own, in sync with their lips.

Mosaic forbids dubbing: a voice-over, another person's voice, a translated or synthetic voice
over the face. The measure is Light-ASD's sync curve (:mod:`preflight.features.sync`): its
speaking score over the speech frames, for the sound shifted by -40..+40 frames (25 fps)
against the picture. The sync strength is the score's z-score against the lags at least 8
frames away, at the best lag within the in-sync window: sound up to 3 frames (120 ms) early or
5 frames (200 ms) late, about ITU-R BT.1359's acceptability range for broadcast lip sync
(sound 90 ms early, 185 ms late). One shared talking head (the Obama address) itself runs
160-240 ms late and is a good source.

Limits, from ``eval/avsync.py`` (the 9 good talking heads with their own voice, the 68 ordered
pairs of them with another clip's sound, and each with its own sound shifted 0.2, 0.5 and 1 s
late and 0.5 s early): the own voices' sync strength is 2.61-6.1, except a 4.1 s vertical clip
with a small face (0.54; 72 speech frames); the other-voice pairs' median is 0.2 and 64 of 68
are under 2.5; the shared dubbed clips' 9 are at most 1.27. So it passes at 2.5 or more, fails
under 1.5 when at least 100 speech frames with a face were compared (4 s), and warns between
or with less evidence: good footage is not failed, weak evidence only warns.

When the voice is out of sync rather than someone else's, the curve peaks away from the
window: a peak of z 3 or more within 1.3 s is reported as the offset, which re-muxing fixes.

Weak spots: small, low-contrast mouths (a phone clip at 11% of the frame height) give weak
curves that only warn or pass when they should fail; short clips (5 s) give noisy curves in
which another voice can line up by chance (2 of 68 pairs passed at z 4.8); a voice 200 ms
late passes. Only the first 10 s of speech-filled picture is looked at.
"""

from __future__ import annotations

import numpy as np

from preflight.features.sync import FPS, SyncCurve, sync_curve
from preflight.media import Media, Role
from preflight.policy import AvSyncLimits, Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect

REASONS = {
    "av_sync.other_voice": "the voice does not move with the lips: a dub, a voice-over or another speaker",
    "av_sync.offset": "the same voice, out of sync by the offset given: re-mux it",
    "av_sync.weak": "the lips and the voice agree too weakly to clear it: listen and watch",
}

_MERGE_GAP_S = 0.3
_PEAK_RANGE = 32  # frames: offsets farther than this are read as chance peaks at the curve's ends


def analyze(media: Media, policy: Policy) -> list[Check]:
    if media.separate_audio or media.probe.audio is None:
        return []
    limits = policy.av_sync
    source = str(media.probe.path)
    limit = (f"sync strength >= {limits.warn_below:g} (fail < {limits.fail_below:g}) within "
             f"-{limits.early_frames * 1000 // FPS}..+{limits.late_frames * 1000 // FPS} ms")
    curve = sync_curve(media, policy.speech.threshold, policy.faces.min_confidence)
    if curve is None:
        return [Check(id="av_sync", source=source, status=Status.SKIPPED, value=None, unit="z", limit=limit,
                      message="too little speech with a face to compare the voice with the lips")]
    strength, best = _in_sync(curve, limits)
    offset = _offset(curve, limits)
    parts = [f"sync strength {strength:.1f} at {best * 1000 // FPS:+d} ms over {curve.frames} speech frames"]
    if strength >= limits.warn_below:
        return [Check(id="av_sync", source=source, status=Status.PASS, value=round(strength, 2), unit="z",
                      limit=limit, message=parts[0] + ": the lips move with this voice")]
    enough = curve.frames >= limits.min_frames
    status = Status.FAIL if strength < limits.fail_below and enough else Status.WARN
    if offset is not None:
        ms = offset * 1000 // FPS
        parts.append(f"the same voice looks out of sync: the sound is {abs(ms)} ms {'late' if ms > 0 else 'early'}")
        fix = (f"re-mux the sound {abs(ms)} ms {'earlier' if ms > 0 else 'later'} "
               f"(e.g. ffmpeg -itsoffset {-ms / 1000:+.2f} on the audio input), then check again")
    else:
        parts.append("the voice does not look like the visible person's (a dub, a voice-over or another speaker?)")
        fix = "use a recording of the person speaking in their own voice, sound and picture recorded together"
    if not enough:
        parts.append(f"only {curve.frames} speech frames to judge by: listen and watch")
    spans = _quiet_lips(curve)
    reason = "av_sync.offset" if offset is not None else (
        "av_sync.other_voice" if status is Status.FAIL else "av_sync.weak")
    return [Check(id="av_sync", source=source, status=status, reason=reason, value=round(strength, 2), unit="z",
                  limit=limit, spans=spans, message="; ".join(parts), fix=fix)]


def _in_sync(curve: SyncCurve, limits: AvSyncLimits) -> tuple[float, int]:
    window = [int(lag) for lag in curve.lags if -limits.early_frames <= lag <= limits.late_frames]
    strengths = [(curve.z(lag), lag) for lag in window]
    return max(strengths)


def _offset(curve: SyncCurve, limits: AvSyncLimits) -> int | None:
    """The lag of a strong peak outside the in-sync window, if there is one."""
    outside = (np.abs(curve.lags) <= _PEAK_RANGE) & ((curve.lags < -limits.early_frames) | (curve.lags > limits.late_frames))
    if not outside.any():
        return None
    lag = int(curve.lags[outside][np.argmax(curve.scores[outside])])
    return lag if curve.z(lag) >= limits.offset_z and curve.at(lag) > curve.scores.max() - 1e-9 else None


def _quiet_lips(curve: SyncCurve) -> list[Span]:
    """Where the voice is heard but the face's score says it is not speaking (at lag 0)."""
    quiet = curve.times[curve.speaking < 0]
    spans = Span.merge(np.round(quiet, 2), gap=_MERGE_GAP_S)
    return [Span(start=s.start, end=round(s.end + 1 / FPS, 2)) for s in spans if s.end - s.start >= 0.2]


ANALYZER = Analyzer(checks=("av_sync",), roles=frozenset({Role.VIDEO}), policy="av_sync",
                    aspect=Aspect.PICTURE, reasons=REASONS, judge=analyze)
