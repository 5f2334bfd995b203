"""speech: how much of the audio is someone speaking, from Silero VAD.

Mosaic learns the voice and the lip movement from speech; a clip that is mostly silence,
breathing or background gives it too little. The ratio is the time in the VAD's speech spans
(:mod:`preflight.features.vad`, at ``threshold``) over the window judged (the whole audio in a
check); under ``min_ratio`` (half) it fails: normal phrasing with pauses reaches 60-90%.
Weak spots: singing and some music score as speech (the music check catches those); whispered
or very distant speech can score as silence.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.features.vad import SpeechActivity, speech_activity
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Guide, Timelines

REASONS = {
    "speech.no_audio": "a video with no sound and no separate voice",
    "speech.none": "no speech is heard at all",
    "speech.too_little": "speech in too small a share of the clip",
}


@dataclass(frozen=True)
class Speech(Timelines):
    activity: SpeechActivity | None  # None: no sound
    separate_audio: bool  # the voice comes from another source of the set


def measure(media: Media, policy: Policy) -> Speech:
    return Speech(media.source, speech_activity(media, policy.speech.threshold), media.separate_audio)


def judge(t: Speech, window: Span, policy: Policy) -> list[Check]:
    limits = policy.speech
    source = t.source
    limit = f">= {limits.min_ratio:.0%} of the clip"
    if t.activity is None:
        if t.separate_audio:
            return []
        # A video without sound and without a separate voice has no speech at all.
        return [ANALYZER.check(source, Status.FAIL, reason="speech.no_audio", value=0.0, limit=limit,
                               message="no audio: no speech to hear",
                               fix="use a clip with its sound, or give the voice as a separate audio (--audio voice.wav)")]
    activity = t.activity.within(window.start, window.end)
    ratio = activity.ratio
    message = f"speech in {ratio:.0%} of the clip ({activity.speech_seconds:.1f} s of {activity.duration:.1f} s)"
    if ratio >= limits.min_ratio:
        return [ANALYZER.check(source, Status.PASS, value=round(ratio, 3), limit=limit, message=message)]
    silent = [Span(start=a, end=b) for a, b in activity.gaps(at_least=0.5)]
    fix = ("record the person speaking to the camera for most of the clip"
           if ratio > 0 else "the audio has no speech: record the person speaking, or check the right track was exported")
    return [ANALYZER.check(source, Status.FAIL, reason="speech.too_little" if ratio > 0 else "speech.none",
                           value=round(ratio, 3), limit=limit, spans=silent, message=message, fix=fix)]


def guide(t: Speech) -> Guide:
    """Where the speech is: a window's edges go in the pauses, and its speech is counted from it."""
    return Guide(speech=t.activity.spans if t.activity is not None else None)


ANALYZER = Analyzer(checks=("speech",), roles=frozenset({Role.VIDEO, Role.AUDIO}), policy="speech",
                    aspect=Aspect.SOUND, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    guide=guide,
                    units={"speech": "share of time"})
