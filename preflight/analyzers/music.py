"""music: music or singing under, between or instead of the speech.

Mosaic learns the voice from the audio; a bed, a song, a jingle or singing leaves it a voice it
cannot separate from the music. FireRedVAD's audio event detector
(:mod:`~preflight.features.sound_events`, on levelled audio) scores music and singing every 10 ms;
an AudioSet tagger scores the clip:
- **between the words** (100 ms or more from any speech), a clean recording holds room tone only:
  music at ``pause_probability`` for over ``pause_max_s`` fails (an intro, a sting); clean speech
  with hum or noise reaches about half a second, a short sting twice the limit.
- **anywhere**: music or singing at ``probability`` for over ``fail_s`` fails, over ``warn_s`` warns
  (a singing delivery, a faint bed: listen); a bed 20 dB under a voice passes ``fail_s``, clean
  speech stays under 2 s.
- **under the whole voice**, where the detector hears little: the tagger's
  (:mod:`~preflight.features.tags`) Music probability for the whole audio fails at ``bed_fail``
  (more likely than not), warns at ``bed_warn``; a window's own bed is the cut file's check to find.
Weak spots: a bed 20-25 dB under a voice (drums and bass above all) can pass; loud hum or rumble and
a voice echoing in a bare room read as music.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from preflight.features.sound_events import HOP_S, SoundEvents, sound_events
from preflight.features.tags import MUSIC, Tags, tags
from preflight.features.vad import speech_activity
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Needs, Stretch, Timelines

REASONS = {
    "music.heard": "music or singing heard for longer than the failing limit",
    "music.bed": "the clip as a whole sounds like music under the voice (an audio tagger's probability of music)",
    "music.between_words": "music in the pauses between the words (an intro, a sting, a bed)",
    "music.some": "music or singing heard briefly: listen to the marked stretches",
}

_AWAY_FROM_SPEECH_S = 0.1


@dataclass(frozen=True)
class Heard(Timelines):
    events: SoundEvents
    speech: list[tuple[float, float]]  # the VAD's speech spans, seconds
    seconds: float = 0.0  # of the audio
    # the audio tagger's view of the whole clip: asked only when the whole audio is judged
    tagged: Callable[[], Tags | None] = lambda: None


def measure(media: Media, policy: Policy) -> Heard | None:
    events = sound_events(media)
    if events is None:
        return None
    activity = speech_activity(media, policy.speech.threshold)
    audio = media.audio()
    return Heard(media.source, events, activity.spans if activity else [], audio.duration if audio else 0.0,
                 lambda: tags(media))


def judge(t: Heard, window: Span, policy: Policy) -> list[Check]:
    events = t.events.within(window.start, window.end)
    limits = policy.music
    source = t.source
    limit = (f"<= {limits.warn_s:g} s of music or singing (fail > {limits.fail_s:g} s, "
             f"or > {limits.pause_max_s:g} s between the words, or the clip's music probability >= {limits.bed_fail:g})")
    if len(events.music) == 0:
        return [ANALYZER.check(source, Status.SKIPPED, value=None, limit=limit,
                               message="the audio is too short to listen to")]
    music = events.music >= limits.probability
    singing = events.singing >= limits.probability
    heard, between = heard_frames(events, t.speech, policy)
    seconds = events.seconds(heard)
    between_s = events.seconds(between)

    if seconds > limits.fail_s or between_s > limits.pause_max_s:
        status = Status.FAIL
    elif seconds > limits.warn_s:
        status = Status.WARN
    else:
        status = Status.PASS
    parts = []
    if seconds or between_s:
        parts.append(f"music heard for {events.seconds(music):.1f} s, singing for {events.seconds(singing):.1f} s")
        if between_s:
            parts.append(f"{between_s:.1f} s of music between the words")
    bed = None
    whole = window.start <= HOP_S and window.end >= t.seconds - HOP_S
    if whole and (tagged := t.tagged()) is not None:
        bed = tagged.of(MUSIC)
        if bed >= limits.bed_warn:
            parts.append(f"the clip as a whole sounds like music (an audio tagger's probability {bed:.2f})")
    bed_status = (Status.FAIL if bed is not None and bed >= limits.bed_fail else
                  Status.WARN if bed is not None and bed >= limits.bed_warn else Status.PASS)
    message = "; ".join(parts) or "no music or singing heard"
    if status is Status.PASS and bed_status is Status.PASS:
        return [ANALYZER.check(source, status, value=round(seconds, 2), limit=limit, message=message)]
    spans = Span.runs(np.round(events.times(heard | between), 2), HOP_S, digits=2)
    if bed_status is not Status.PASS and (status is Status.PASS or bed_status is Status.FAIL):
        spans = [Span(start=round(window.start, 2), end=round(window.end, 2))]  # a bed runs under the whole clip
    worst = Status.FAIL if Status.FAIL in (status, bed_status) else Status.WARN
    fix = ("use a recording with no music under or between the words, of the person speaking, not singing"
           if worst is Status.FAIL else
           "listen to the marked stretches: if music or singing is there, use a recording without it")
    if status is Status.FAIL:
        reason = "music.between_words" if between_s > limits.pause_max_s and seconds <= limits.fail_s else "music.heard"
    elif bed_status is Status.FAIL:
        reason = "music.bed"
    else:
        reason = "music.some"
    return [ANALYZER.check(source, worst, reason=reason, value=round(seconds, 2), limit=limit, spans=spans,
                           message=message, fix=fix)]


def avoid(t: Heard, policy: Policy) -> list[Stretch]:
    """Music between the words, which fails past ``pause_max_s`` in all, wherever it is; and music
    or singing anywhere for longer than ``warn_s`` in one stretch, which alone would warn. A blip
    under the voice shorter than that passes, and is most often the detector hearing a sung vowel."""
    if len(t.events.music) == 0:
        return []
    anywhere, between = heard_frames(t.events, t.speech, policy)
    found = [s for s in Stretch.merged(np.flatnonzero(anywhere) * HOP_S, HOP_S, "music", "music or singing", Span.BRIDGED_S)
             if s.end - s.start > policy.music.warn_s]
    return found + Stretch.merged(np.flatnonzero(between) * HOP_S, HOP_S, "music", "music between the words",
                                  Span.BRIDGED_S)


def heard_frames(events: SoundEvents, speech: list[tuple[float, float]], policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Per 10 ms frame of ``events``: music or singing heard anywhere, and music heard between
    the words (``speech``: the VAD's spans). ``preflight fix`` keeps its window clear of both."""
    limits = policy.music
    heard = (events.music >= limits.probability) | (events.singing >= limits.probability)
    pauses = _pauses(events.start, speech, len(heard))
    return heard, pauses & (np.maximum(events.music, events.singing) >= limits.pause_probability)


def _pauses(start: float, speech: list[tuple[float, float]], n: int) -> np.ndarray:
    """The ``n`` 10 ms frames from ``start`` s that lie at least 100 ms from any speech."""
    away = np.ones(n, dtype=bool)
    for a_s, b_s in speech:
        a = max(0, int((a_s - start - _AWAY_FROM_SPEECH_S) / HOP_S))
        b = min(n, int(np.ceil((b_s - start + _AWAY_FROM_SPEECH_S) / HOP_S)))
        if b > 0:
            away[a:b] = False
    return away


ANALYZER = Analyzer(checks=("music",), roles=frozenset({Role.VIDEO, Role.AUDIO}), policy="music",
                    aspect=Aspect.SOUND, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    avoid=avoid, needs=Needs(model=True),
                    units={"music": "s"})
