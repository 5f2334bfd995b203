"""single_speaker: whether one voice does all the speaking, and nobody talks over it.

Mosaic clones one voice. The speech is cut where its speaker changes (pyannote segmentation) into
pieces of 0.5-1 s; two pieces' similarity is the mean of two speaker encoders' cosines (CAM++,
GE2E); the pieces are grouped into voices (:mod:`preflight.features.voices`). It fails when others
than the main voice speak for over ``other_max_s`` (pauses under 0.3 s included) in groups apart
below ``same_voice``, or two talk at once for over ``overlap_max_s``; it warns when they are apart
only below ``maybe_same_voice``. The value is the similarity of the two least alike groups. One
voice stays well above ``same_voice`` through noise, echo, a lower level and lossy coding (it lies
about 3 standard deviations under one voice's mean); most pairs of voices fall below it, and between
the limits lie mostly alike voices, so that band warns (``eval/voices.py``).
Weak spots: alike voices of one room and microphone mostly only warn, some pass; a second voice
speaking under ``other_max_s`` passes, one of up to 1.5 s can; a voice 12 dB under the main one is
not heard as overlap, a crowd 10 dB under one can be. Channels whose loudness correlates under
``channels_agree`` warn. Voices are told apart over the whole audio; a window's main voice is the
one speaking most in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preflight.features.voices import FRAME_S, Voices, assign, channel_agreement, embedded
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Needs, Stretch, Timelines
from preflight.roles import Source

REASONS = {
    "single_speaker.others": "another voice speaks for longer than the limit",
    "single_speaker.overlap": "two people talk at once for longer than the limit",
    "single_speaker.maybe_others": "another voice may speak for longer than the limit: voices a little alike",
    "single_speaker.channels": "the channels carry different sounds: a source (a voice) per channel?",
}


def others_spans(found: Voices) -> list[Span]:
    """Where anyone but the main voice speaks: its speech frames, pauses under 0.3 s bridged."""
    times = sorted({t for v in range(1, found.count) for t in found.times(v)})
    return Span.runs(times, FRAME_S)


def others_time(found: Voices) -> float:
    """How long anyone but the main voice speaks: the length of :func:`others_spans`, the rule's measure."""
    return round(sum(s.end - s.start for s in others_spans(found)), 3)


def overlap_spans(found: Voices) -> list[Span]:
    """Where two talk at once, pauses under 0.3 s bridged."""
    times = (found.overlap * FRAME_S).tolist()
    return Span.runs(times, FRAME_S)


def overlap_time(found: Voices) -> float:
    return round(sum(s.end - s.start for s in overlap_spans(found)), 3)


@dataclass(frozen=True)
class Speakers(Timelines):
    voices: Voices  # grouped at same_voice
    maybe: Voices  # grouped at maybe_same_voice
    agreement: float | None  # of the channels' loudness over the whole audio; None: one channel


def measure(media: Media, policy: Policy) -> Speakers | None:
    found = embedded(media, policy.speech.threshold)
    if found is None:
        return None
    limits = policy.single_speaker
    return Speakers(media.source, assign(*found, limits.same_voice), assign(*found, limits.maybe_same_voice),
                    channel_agreement(media.audio()))


def judge(t: Speakers, window: Span, policy: Policy) -> list[Check]:
    limits = policy.single_speaker
    found = t.voices.within(window.start, window.end)
    source = t.source
    limit = (f"one voice: others <= {limits.other_max_s:g} s (voices differ below {limits.same_voice:g} similarity, "
             f"may differ below {limits.maybe_same_voice:g}), "
             f"two at once <= {limits.overlap_max_s:g} s; channels alike (loudness correlation >= {limits.channels_agree:g})")
    agreement = t.agreement
    apart = agreement if agreement is not None and agreement < limits.channels_agree else None
    at_once = overlap_time(found)
    where = " (the channels heard apart)" if found.channels > 1 else ""
    both = f"; two talk at once for {at_once:.1f} s" if at_once else ""
    if found.windows == 0 and at_once <= limits.overlap_max_s:
        heard = "no stretch of one person's speech of 0.5 s or more" + both
        if apart is not None:
            return [_channels_apart(source, limit, apart, heard + " to compare voices")]
        return [ANALYZER.check(source, Status.SKIPPED, value=None, limit=limit,
                               message=f"{heard}: too little to compare voices")]
    others = others_time(found)
    if found.count <= 1:
        message = f"one voice ({found.windows} stretches of speech compared{where}; least alike {found.similarity:.2f}){both}"
    else:
        message = (f"{found.count} voices{where}: others speak for {others:.1f} s "
                   f"(similarity {found.similarity:.2f} to the main voice){both}")
    if others > limits.other_max_s:
        return [ANALYZER.check(source, Status.FAIL, reason="single_speaker.others", value=found.similarity,
                               limit=limit, spans=others_spans(found), message=message,
                               fix="use a recording where only the person in the avatar speaks; cut out other voices")]
    if at_once > limits.overlap_max_s:
        return [ANALYZER.check(source, Status.FAIL, reason="single_speaker.overlap", value=found.similarity,
                               limit=limit, spans=overlap_spans(found), message=message,
                               fix="use a recording where only the person in the avatar speaks; nobody may talk over them")]
    maybe = t.maybe.within(window.start, window.end)
    if others_time(maybe) > limits.other_max_s:
        return [ANALYZER.check(source, Status.WARN, reason="single_speaker.maybe_others", value=found.similarity,
                               limit=limit, spans=others_spans(maybe),
                               message=(f"{message}; but another voice may speak for {others_time(maybe):.1f} s "
                                        f"(pieces of speech alike at {maybe.similarity:.2f} only)"),
                               fix="listen to the spans: if someone else speaks there, cut them out or use another recording")]
    if apart is not None:
        return [_channels_apart(source, limit, apart, message, found.similarity)]
    return [ANALYZER.check(source, Status.PASS, value=found.similarity, limit=limit, message=message)]


def avoid(t: Speakers, policy: Policy) -> list[Stretch]:
    """Wherever anyone but the recording's main voice speaks, and where two talk at once: each
    counts toward the window's limit, and one person's recording has none of them."""
    found = t.voices
    stretches = []
    if found.count > 1:
        stretches += Stretch.merged(np.unique(found.frames[found.labels > 0]) * FRAME_S, FRAME_S, "single_speaker",
                                    "a second voice speaks", Span.BRIDGED_S)
    if len(found.overlap):
        stretches += Stretch.merged(found.overlap * FRAME_S, FRAME_S, "single_speaker", "two people talk at once",
                                    Span.BRIDGED_S)
    return stretches


def _channels_apart(source: Source, limit: str, agreement: float, heard: str, similarity: float | None = None) -> Check:
    return ANALYZER.check(source, Status.WARN, reason="single_speaker.channels", value=similarity, limit=limit,
                          message=(f"{heard}; but the channels carry different sounds "
                                   f"(their loudness agrees at {agreement:.2f}): a voice or source in each?"),
                          fix=("listen to each channel: if another person or sound is in one, use the channel with only "
                               "the person in the avatar (e.g. ffmpeg -af pan=mono|c0=c0)"))


ANALYZER = Analyzer(checks=("single_speaker",), roles=frozenset({Role.VIDEO, Role.AUDIO}), policy="single_speaker",
                    aspect=Aspect.SOUND, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    avoid=avoid, needs=Needs(model=True),
                    units={"single_speaker": "similarity"})
