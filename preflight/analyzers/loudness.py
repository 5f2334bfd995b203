"""loudness and clipping: is the voice loud enough and free of distortion.

loudness is the integrated loudness of the window (ITU-R BS.1770-4 / EBU R128, in LUFS, gated,
from the 16 kHz decode: :mod:`preflight.features.loudness`), what an editor's loudness meter
shows; its short-term maximum (the loudest 3 s) and the speech's RMS level in dBFS (pydub, over
the VAD's speech spans) go in the details. Below ``quiet_below_lufs`` (12 LU under broadcast's -23)
the voice sits near the noise floor of most recordings and the avatar's voice comes out thin; the
gate keeps pauses out, so a quiet voice with long pauses is not called quiet for them. Sound above
8 kHz is not counted (a meter on the original reads speech slightly louder). clipping is the share
of samples at or past ``clip_level`` of full scale, counted on the file's own channels (a downmix
sums them and multiplies the clipped share); over ``clip_max_ratio`` means audible distortion.
Samples are read after the resampling to 16 kHz, which rounds the flat tops of clipped waves but
keeps them near full scale. Both only warn: the voice may still be usable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydub import AudioSegment

from preflight.features.loudness import SILENT_LUFS, Loudness, loudness
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
    loudness: Loudness


def measure(media: Media, policy: Policy) -> Level | None:
    audio = media.audio()
    if audio is None:
        return None  # the speech check already says why there is nothing to hear
    return Level(media.source, audio, speech_activity(media, policy.speech.threshold), loudness(audio))


def judge(t: Level, window: Span, policy: Policy) -> list[Check]:
    limits = policy.loudness
    source, audio = t.source, t.audio
    activity = t.speech.within(window.start, window.end)
    first, last = round(activity.start * audio.rate), round((activity.start + activity.duration) * audio.rate)
    spans = activity.spans or [(activity.start, activity.start + activity.duration)]
    speech = np.concatenate([audio.samples[int(a * audio.rate) : int(b * audio.rate)] for a, b in spans])
    rms = _dbfs(speech, audio.rate)
    level = t.loudness.integrated(window.start, window.end)
    loudest = t.loudness.short_term_max(window.start, window.end)
    quiet = level < limits.quiet_below_lufs
    loudness = ANALYZER.check(source, Status.WARN if quiet else Status.PASS,
                              reason="loudness.quiet" if quiet else None, value=round(level, 1),
                              limit=f">= {limits.quiet_below_lufs:g} LUFS integrated",
                              details={"short_term_max_lufs": round(loudest, 1), "speech_rms_dbfs": round(rms, 1)},
                              message=("silence" if level <= SILENT_LUFS else
                                       f"{level:.1f} LUFS integrated (loudest 3 s {loudest:.1f} LUFS; speech {rms:.1f} dBFS RMS)"),
                              fix="record closer to the microphone or raise the gain (normalise to about -23 to -16 LUFS)"
                              if quiet else None)

    own = audio.channels[:, first:last] if audio.channels is not None else audio.samples[first:last]  # not a mix, which adds up peaks
    clipped = float(np.mean(np.abs(own) >= limits.clip_level)) if own.size else 0.0
    distorted = clipped > limits.clip_max_ratio
    clipping = ANALYZER.check(source, Status.WARN if distorted else Status.PASS, check="clipping",
                              reason="clipping.clipped" if distorted else None, value=round(clipped, 5),
                              limit=f"<= {limits.clip_max_ratio:.1%} clipped",
                              message=f"{clipped:.2%} of samples at full scale",
                              fix="record again with the input gain lower; clipping cannot be undone" if distorted else None)
    return [loudness, clipping]


def _dbfs(samples: np.ndarray, rate: int) -> float:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    level = AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1).dBFS
    return max(level, SILENCE_DBFS)


ANALYZER = Analyzer(checks=("loudness", "clipping"), roles=frozenset({Role.VIDEO, Role.AUDIO}), policy="loudness",
                    aspect=Aspect.SOUND, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    units={"loudness": "LUFS", "clipping": "share of samples"})
