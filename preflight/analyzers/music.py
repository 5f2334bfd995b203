"""music: music or singing under, between or instead of the speech.

Mosaic learns the voice from the audio; a music bed, a song, a jingle or singing leaves it a
voice it cannot separate from the music. The evidence is FireRedVAD's audio event detector
(:mod:`preflight.features.sound_events`), which scores music and singing every 10 ms, judged in
two places, and an AudioSet tagger's view of the whole clip:

- **between the words**: in a pause of a clean recording (at least 100 ms from any speech the
  VAD hears) there is nothing but room tone, so the detector has nothing musical to hear.
  Music there at a probability of 0.3 or more, for more than 1 s in all, fails: an intro, a
  sting, a bed that goes on when the speaker stops. Measured on the shared set and the
  generated cases (``eval/cases.py``): clean speech, with or without hiss, hum, rumble or street
  noise at 20-30 dB SNR, reaches at most 0.54 s (mains hum 20 dB under the voice); 2.5 s music
  stings after speech score 2.1-2.3 s, and the shared speech-then-music file 2.3 s. The gap is a
  factor of 4; the limit sits in it with room on both sides.
- **anywhere**: music or singing at 0.5 or more, in all. A music bed 20 dB under the voice is
  heard for 3.6-11 s (every generated bed and song, and the shared ones for 5.5-13 s); clean
  speech for at most 1.9 s, and only in one case: a high, emotive woman's voice (kimk) that the
  detector takes for singing at its start, with or without added noise. Synthetic mains hum
  20 dB under the voice reaches 2.7 s. So more than 3 s fails, and 1-3 s warns: a singing
  delivery or a faint bed, which a person should listen to.
- **under the whole voice**: a bed that runs under a voice that hardly pauses is music whether or
  not the detector crosses 0.5 in the gaps; the detector hears little of a quiet bed under speech
  (drums and bass not at all). So the whole clip is also given to an AudioSet tagger
  (:mod:`preflight.features.tags`): its probability of Music for the clip at 0.5 or more fails
  ("more likely than not"), at 0.25 or more warns. Clean and noisy speech of every family scores
  at most 0.33 (a party crowd 20 dB under a voice), most under 0.1; beds 15-25 dB under a voice
  score 0.04-0.8. The score is of the whole clip: a window's own is the cut's check's to ask.

The detector's input is first brought to one level (:func:`preflight.features.sound_events.level_gain`):
it heard a bed 4 dB quieter for a third less time, and the shared speech-then-music file, 4 dB
quieter in AAC, for 0.98 s between the words, a pass. Levelled, no shared file's music status
moves, no go file of any family fails (397; 43 warn), those two fail, and the same clip at -10,
-4, 0 and +4 dB scores the same.

Weak spots: a bed 20-25 dB under a voice, drums and bass above all, can score under 0.25 and
pass; a sing-song voice warns; loud hum or rumble (10 dB SNR and worse) is heard as
music too, where the noise check also fails; a voice in a bare, echoing room is heard as music
(``eval/cases.py``'s reverb family: 2 of 8 voices fail at sox reverberance 70 in a mid-size room,
none in a small room or at 50; the echo's tails read as held notes). No measure tried here tells
the two apart: a bed 20 dB under a voice is often no louder in the pauses than the echo is.
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
from preflight.analyzers.base import Analyzer, Aspect, Timelines

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
                    units={"music": "s"})
