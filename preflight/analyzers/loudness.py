"""loudness and clipping: is the voice loud enough and free of distortion.

loudness is the RMS level of the speech (pydub's dBFS over the VAD's speech spans, the whole
audio when the VAD hears none): below -35 dBFS the voice sits near the noise floor of most
recordings and the avatar's voice comes out thin. clipping is the share of samples at or past
``clip_level`` of full scale, counted on the file's own channels (a downmix sums them and
raised radio31's 0.04% to 0.20%, an 8-channel copy's to 11.7%); more than 0.1% means audible
distortion. Samples are read after the resampling to 16 kHz, which rounds the flat tops of
clipped waves but keeps them near full scale. Both only warn: the voice may still be usable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydub import AudioSegment

from preflight.features.vad import SpeechActivity, speech_activity
from preflight.media import Audio, Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Timelines

REASONS = {
    "loudness.quiet": "the speech is quiet",
    "clipping.clipped": "too many samples at full scale: distortion",
}

SILENCE_DBFS = -99.0  # what digital silence reports, instead of minus infinity


@dataclass(frozen=True)
class Level(Timelines):
    audio: Audio
    speech: SpeechActivity


def measure(media: Media, policy: Policy) -> Level | None:
    audio = media.audio()
    if audio is None:
        return None  # the speech check already says why there is nothing to hear
    return Level(str(media.probe.path), audio, speech_activity(media, policy.speech.threshold))


def judge(t: Level, window: Span, policy: Policy) -> list[Check]:
    limits = policy.loudness
    source, audio = t.source, t.audio
    activity = t.speech.within(window.start, window.end)
    first, last = round(activity.start * audio.rate), round((activity.start + activity.duration) * audio.rate)
    spans = activity.spans or [(activity.start, activity.start + activity.duration)]
    speech = np.concatenate([audio.samples[int(a * audio.rate) : int(b * audio.rate)] for a, b in spans])
    level = _dbfs(speech, audio.rate)
    quiet = level < limits.quiet_below_dbfs
    loudness = Check(id="loudness", source=source, status=Status.WARN if quiet else Status.PASS,
                     reason="loudness.quiet" if quiet else None, value=round(level, 1), unit="dBFS", limit=f">= {limits.quiet_below_dbfs:g} dBFS",
                     message=("digital silence" if level <= SILENCE_DBFS else f"speech at {level:.1f} dBFS RMS"),
                     fix="record closer to the microphone or raise the gain (normalise to about -20 dBFS)" if quiet else None)

    own = audio.channels[:, first:last] if audio.channels is not None else audio.samples[first:last]  # not a mix, which adds up peaks
    clipped = float(np.mean(np.abs(own) >= limits.clip_level)) if own.size else 0.0
    distorted = clipped > limits.clip_max_ratio
    clipping = Check(id="clipping", source=source, status=Status.WARN if distorted else Status.PASS,
                     reason="clipping.clipped" if distorted else None, value=round(clipped, 5), unit="share of samples", limit=f"<= {limits.clip_max_ratio:.1%} clipped",
                     message=f"{clipped:.2%} of samples at full scale",
                     fix="record again with the input gain lower; clipping cannot be undone" if distorted else None)
    return [loudness, clipping]


def _dbfs(samples: np.ndarray, rate: int) -> float:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    level = AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1).dBFS
    return max(level, SILENCE_DBFS)


ANALYZER = Analyzer(checks=("loudness", "clipping"), roles=frozenset({Role.VIDEO, Role.AUDIO}), policy="loudness",
                    aspect=Aspect.SOUND, reasons=REASONS, measure=measure, judge=judge, windowed=True)
