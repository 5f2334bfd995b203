"""mouth_motion: whether the visible person's lips move while speech is heard.

Mosaic animates the avatar's mouth from how the person's mouth moves with their words; a still
photo under a voice-over, a person listening while someone else talks, or a face whose mouth is
hidden gives it nothing to learn. The measure is the spread of the lip opening (inner-lip gap
over face height, see :mod:`preflight.features.landmarks`) over the sampled frames in which the
VAD hears speech: its 90th minus its 10th percentile. A video with its own speech measures only
those frames; a video whose voice comes in a separate audio measures all frames.

Under ``min_range`` (0.02) it fails: speaking faces on the labelled clips reach 0.057-0.074 (lips
closed between syllables, open on vowels); a still photo reads 0.009 (landmark jitter and a smile
that does not change).
Weak spots: at 5 frames a second, very fast, small articulation can be undersampled; a person
chewing or grimacing without speaking (which the speech check catches) passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features.faces import FaceTrack, face_track
from preflight.features.vad import SpeechActivity, speech_activity
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Needs, Timelines

REASONS = {"mouth_motion.still": "the mouth barely moves while speech is heard"}

_MIN_FRAMES = 5


@dataclass(frozen=True)
class Lips(Timelines):
    track: FaceTrack
    speech: SpeechActivity | None  # None: the voice is in a separate audio (or there is no sound)


def measure(media: Media, policy: Policy) -> Lips:
    return Lips(media.source, face_track(media, policy.faces.min_confidence),
                speech_activity(media, policy.speech.threshold))


def judge(t: Lips, window: Span, policy: Policy) -> list[Check]:
    limits = policy.mouth_motion
    source = t.source
    limit = f"lip opening varies by >= {limits.min_range:g} of the face height while speaking"
    track = t.track.within(window.start, window.end)
    activity = t.speech.within(window.start, window.end) if t.speech is not None else None
    if activity is None:
        speaking = np.ones(len(track.times), dtype=bool)
        spans: list[Span] = []
    else:
        speaking = np.array([any(a <= t <= b for a, b in activity.spans) for t in track.times], dtype=bool)
        spans = [Span(start=a, end=b) for a, b in activity.spans]
    measured = speaking & track.measured
    if np.count_nonzero(measured) < _MIN_FRAMES:
        return [ANALYZER.check(source, Status.SKIPPED, value=None, limit=limit,
                               message="too few frames with both a measurable face and speech")]
    opening = track.opening[measured]
    spread = float(np.percentile(opening, 90) - np.percentile(opening, 10))
    message = f"lip opening varies by {spread:.3f} of the face height over {len(opening)} speaking frames"
    if spread >= limits.min_range:
        return [ANALYZER.check(source, Status.PASS, value=round(spread, 4), limit=limit, message=message)]
    return [ANALYZER.check(source, Status.FAIL, reason="mouth_motion.still", value=round(spread, 4), limit=limit,
                           spans=spans, message=message + ": the mouth barely moves while speech is heard",
                           fix="film the person speaking the words themselves, mouth visible; not a still image or a voice-over")]


ANALYZER = Analyzer(checks=("mouth_motion",), roles=frozenset({Role.VIDEO}), policy="mouth_motion",
                    aspect=Aspect.PICTURE, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    needs=Needs(frames=True, landmarks=True),
                    units={"mouth_motion": "of face height"})
