"""music: music or singing under, between or instead of the speech.

Mosaic learns the voice from the audio; a music bed, a song or singing leaves it a voice it
cannot separate from the music. The measure is the time (seconds) in which FireRedVAD's audio
event detector (see :mod:`preflight.features.sound_events`) hears music or singing with a
smoothed probability of at least 0.5. It fails above 1 s: on the labelled recordings, clean
speech never reaches 0.7 s (a radio voice's sung-sounding intonation), while a music bed, a
song, a sung scale and singing are heard for 6-20 s, close to all of their length.

Weak spots: very quiet music far under the voice (beyond about -20 dB) goes unheard; a
melodic, sing-song way of speaking can score as singing for fractions of a second, which the
1 s allowance absorbs; a crowd with music in it (a party) is flagged for the music, and the
noise check for the crowd.
"""

import numpy as np

from preflight.features.sound_events import sound_events
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status

_MERGE_GAP_S = 0.3


def analyze(media: Media, policy: Policy) -> list[Check]:
    if media.role is Role.IMAGE:
        return []
    events = sound_events(media)
    if events is None:
        return []
    limits = policy.music
    source = str(media.probe.path)
    limit = f"<= {limits.max_s:g} s of music or singing"
    if len(events.music) == 0:
        return [Check(id="music", source=source, status=Status.SKIPPED, value=None, unit="s", limit=limit,
                      message="the audio is too short to listen to")]
    music = events.music >= limits.probability
    singing = events.singing >= limits.probability
    heard = music | singing
    seconds = events.seconds(heard)
    message = (f"music heard for {events.seconds(music):.1f} s, singing for {events.seconds(singing):.1f} s"
               if seconds else "no music or singing heard")
    if seconds <= limits.max_s:
        return [Check(id="music", source=source, status=Status.PASS, value=round(seconds, 2), unit="s",
                      limit=limit, message=message)]
    spans = Span.merge(np.round(events.times(heard), 2), gap=_MERGE_GAP_S)
    return [Check(id="music", source=source, status=Status.FAIL, value=round(seconds, 2), unit="s", limit=limit,
                  spans=spans, message=message,
                  fix="use a recording with no music under or between the words, of the person speaking, not singing")]
