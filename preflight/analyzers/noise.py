"""noise: how far the voice stands above the background, as an SNR in dB.

The background is what a speech enhancement network leaves when it takes the voice out
(:mod:`preflight.features.separation`): rain, wind, traffic, a crowd, clatter, typing, steady or in
bursts, whether the speaker pauses or not. Its power N is the remainder's mean over the frames the
VAD hears as speech and those at least 100 ms from anything that may be speech (VAD 0.15); frames
next to the words (a breath, the room's echo of the last word: the speaker's) and frames that clip
(the clipping check's) are left out. SNR = 10 log10((P_speech - N) / N), P_speech the mean power of
the 32 ms speech frames (ITU-T P.56's active level). Under ``fail_below_db`` the background is
within a tenth of the voice's power and competes with it: fails; under ``warn_below_db`` warns. Real
voices over real noise at 5 dB read 4-8 dB, at 20 dB 12-23 dB (``eval/snr.py``): the limits sit
between. Bursts of other voices (a party) are kept as speech by the network and read high; where the
SNR passes, DNSMOS's background score (:mod:`preflight.features.background`) under
``intrusive_below`` warns, and single_speaker hears the other voices.
Weak spots: an echoing room, or a voice the network keeps poorly, reads some dB low (a clean
far-field meeting recording warns); a crowd of voices reads high.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from preflight.features.background import background_score
from preflight.features.separation import separation
from preflight.features.vad import WINDOW, speech_activity
from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status, grade
from preflight.analyzers.base import Analyzer, Aspect, Needs, Timelines

REASONS = {
    "noise.loud": "the background competes with the voice (SNR under the failing limit)",
    "noise.some": "a noticeable background (SNR under the warning limit)",
    "noise.intrusive": "the SNR passes, but a listener model scores the background as intrusive",
}

_FRAME, _HOP = 512, 256  # samples at 16 kHz: 32 ms frames, 16 ms hop
_AWAY_S = 0.1  # a frame this far from any frame that may be speech is background only
# The VAD's score above which a frame may be speech. An emotive or quiet voice scores 0.2-0.5 in
# places; counted as pauses, such frames raised the background of a clean voice by 10 dB.
_MAYBE_SPEECH = 0.15
_SILENT = 1e-6  # -60 dBFS: speech frames quieter than this leave nothing to measure
_FLOOR = 1e-10  # -100 dBFS: digital silence in the pauses
_LEAST_SNR_DB = -20.0  # the lowest SNR the estimate reports: speech frames within 1% of the background's power


@dataclass(frozen=True)
class Background(Timelines):
    power: np.ndarray  # per 32 ms frame (16 ms hop)
    clipped: np.ndarray  # per frame: a sample at the clipping level (its distortion is not background)
    rest: np.ndarray  # per frame: the power of what the separation left when it took the voice out
    speech: np.ndarray  # per frame: the VAD hears speech
    maybe: np.ndarray  # per frame: it may be speech
    lead: int  # frames of silence the decode put before a late sound
    seconds: float  # of the audio
    # DNSMOS's background score (1-5) of the audio's middle 9 s: asked only when the whole audio
    # is judged and its SNR passes (a window's own middle is the cut's check's to score).
    listener: Callable[[], float | None]


def measure(media: Media, policy: Policy) -> Background | None:
    audio = media.audio()
    if audio is None:
        return None
    activity = speech_activity(media, policy.speech.threshold)
    power = frame_power(audio.samples)
    return Background(media.source, power, frame_peaks(audio.samples) >= policy.loudness.clip_level,
                      aligned(separation(media).rest, len(power)),
                      _frames_above(activity.probabilities, policy.speech.threshold, len(power)),
                      _frames_above(activity.probabilities, _MAYBE_SPEECH, len(power)), -(-audio.lead // _HOP),
                      audio.duration, lambda: background_score(media))


def judge(t: Background, window: Span, policy: Policy) -> list[Check]:
    limits = policy.noise
    source = t.source
    limit = f">= {limits.warn_below_db:g} dB (fail < {limits.fail_below_db:g} dB)"
    a, b = max(0, int(np.ceil(window.start * 16_000 / _HOP))), int(np.ceil(window.end * 16_000 / _HOP))
    power, rest, speech, maybe = t.power[a:b], np.where(t.clipped[a:b], np.nan, t.rest[a:b]), t.speech[a:b], t.maybe[a:b]
    if not speech.any() or power[speech].mean() < _SILENT:
        return [ANALYZER.check(source, Status.SKIPPED, value=None, limit=limit,
                               message="no speech loud enough to measure the background against")]
    snr, voice_db, floor_db = estimate(power, rest, speech, maybe, lead=max(0, t.lead - a))
    status = grade(snr, warn_below=limits.warn_below_db, fail_below=limits.fail_below_db)
    levels = f"speech {voice_db:.0f} dBFS, background {floor_db:.0f} dBFS"
    message = f"no voice heard above the background ({levels})" if snr <= _LEAST_SNR_DB + 1e-6 else \
        f"voice {snr:.1f} dB above the background ({levels})"
    reason = {Status.FAIL: "noise.loud", Status.WARN: "noise.some"}.get(status)
    if status is Status.PASS and window.start <= 0 and window.end >= t.seconds:
        bak = t.listener()
        if bak is not None and bak < limits.intrusive_below:
            status, reason = Status.WARN, "noise.intrusive"
            message += (f", but the background sounds intrusive (DNSMOS background score {bak:.1f} of 5): "
                        "bursts of crowd, voices or other sound between the quiet moments?")
    fix = None if status is Status.PASS else (
        "record in a quieter place, closer to the microphone; remove background music, hum or crowd sound"
    )
    return [ANALYZER.check(source, status, reason=reason, value=round(snr, 1), limit=limit, message=message, fix=fix)]


def estimate(power: np.ndarray, rest: np.ndarray, speech: np.ndarray, maybe: np.ndarray,
             lead: int = 0) -> tuple[float, float, float]:
    """SNR (dB) and the speech and background levels (dBFS) from frame powers, the power the
    separation left per frame (``rest``; NaN where the frame clips: its distortion is the clipping
    check's), which frames are speech and which may be; the first ``lead`` frames are silence the
    decode put before a late sound, and digital silence anywhere is an editor's, never background."""
    power, rest, speech, maybe = power[lead:], rest[lead:], speech[lead:], maybe[lead:]
    away = round(_AWAY_S * 16_000 / _HOP)
    near = np.convolve(maybe.astype(float), np.ones(2 * away + 1), mode="same") > 0
    counted = (speech | ~near) & (power > _FLOOR) & ~np.isnan(rest)  # not an editor's digital silence, not clipped
    noise = max(float(rest[counted].mean()), _FLOOR) if counted.any() else _FLOOR
    total = float(power[speech].mean())
    # Speech frames no louder than the background leave no voice to measure: the estimate says
    # _LEAST_SNR_DB, not a number set by the floor.
    voice = max(total - noise, 10 ** (_LEAST_SNR_DB / 10) * noise)
    return 10 * np.log10(voice / noise), 10 * np.log10(total), 10 * np.log10(noise)


def aligned(rest: np.ndarray, n: int) -> np.ndarray:
    """The separation's frames (centred on every hop) on the ``n`` power frames (each starting
    on a hop, so centred one hop later); a missing end is repeated."""
    out = rest[1 : 1 + n]
    if len(out) < n:
        out = np.concatenate([out, np.full(n - len(out), out[-1] if len(out) else 0.0)])
    return out


def frame_peaks(samples: np.ndarray) -> np.ndarray:
    """The largest magnitude in each 32 ms frame (16 ms hop), as :func:`frame_power` frames them."""
    if len(samples) < _FRAME:
        return np.zeros(0)
    hops = np.abs(samples[: len(samples) // _HOP * _HOP]).reshape(-1, _HOP).max(axis=1)
    return np.maximum(hops[:-1], hops[1:])


def frame_power(samples: np.ndarray) -> np.ndarray:
    """Mean power of each 32 ms frame (16 ms hop), samples clipped to full scale. A frame is two
    hops, so it is summed from per-hop sums: no copy of the frames (150 MB for 10 minutes)."""
    x = np.clip(samples, -1.0, 1.0)
    if len(x) < _FRAME:
        return np.zeros(0)
    hops = x[: len(x) // _HOP * _HOP].reshape(-1, _HOP)
    energy = np.einsum("ij,ij->i", hops, hops, dtype=np.float64)
    return (energy[:-1] + energy[1:]) / _FRAME


def _frames_above(probabilities: np.ndarray, threshold: float, n: int) -> np.ndarray:
    """Which power frames the VAD scores at ``threshold`` or more (its 32 ms windows mapped onto them)."""
    centres = (np.arange(n) * _HOP + _FRAME / 2) / WINDOW  # in VAD windows
    index = np.minimum(centres.astype(int), max(len(probabilities) - 1, 0))
    if len(probabilities) == 0:
        return np.zeros(n, dtype=bool)
    return probabilities[index] >= threshold


ANALYZER = Analyzer(checks=("noise",), roles=frozenset({Role.VIDEO, Role.AUDIO}), policy="noise",
                    aspect=Aspect.SOUND, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    needs=Needs(model=True), units={"noise": "dB"})
