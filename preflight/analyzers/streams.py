"""streams: a video must carry the voice, in its own audio stream or in a separate audio, over
the same stretch of time as the picture.

Mosaic learns the voice from the sound of the clip; a silent video is only usable with a voice
audio beside it. The sound and the picture are placed on the file's timeline by their start
times and lengths: sound that starts more than half a second after the picture, or ends more
than half a second before it, warns (part of the clip has a face but no voice), naming the real
spans. A file with several audio tracks is judged by the one a player takes (the default one,
else the first); it warns that the others exist, since Mosaic may take another.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.media import Media, Probe, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Timelines

REASONS = {
    "streams.no_audio": "a video with no sound and no separate voice",
    "streams.partial_sound": "the sound starts late or ends early against the picture",
    "streams.several_tracks": "more than one audio track: the default one is judged",
}

_GAP_S = 0.5


@dataclass(frozen=True)
class Tracks(Timelines):
    probe: Probe
    separate_audio: bool  # the voice comes from another source of the set


def measure(media: Media, policy: Policy) -> Tracks:
    return Tracks(media.source, media.probe, media.separate_audio)


def judge(t: Tracks, window: Span, policy: Policy) -> list[Check]:
    p, source = t.probe, t.source
    kinds = f"video ({p.video.codec})" + (f" + audio ({p.audio.codec})" if p.audio else "")
    tracks = (1 if p.audio else 0) + len(p.other_audio)
    # the number it judges is the audio tracks; the codecs are named beside it
    common = {"value": tracks, "unit": "audio tracks",
              "details": {"video_codec": p.video.codec, **({"audio_codec": p.audio.codec} if p.audio else {})}}
    if p.audio is None and not t.separate_audio:
        return [ANALYZER.check(source, Status.FAIL, reason="streams.no_audio", **common, limit="video + audio",
                               message="no audio stream: the voice is missing",
                               fix="use a clip with its sound, or give the voice as a separate audio (--audio voice.wav)")]
    if t.separate_audio:
        return [ANALYZER.check(source, Status.PASS, **common, limit="video + audio",
                               message=kinds + " (voice from the separate audio)")]
    limit = "video + audio over the same time"
    picture = (p.video.start, p.video.start + (p.video.duration or p.duration or 0.0))
    sound = (p.audio.start, p.audio.start + (p.audio.duration or p.duration or 0.0))
    if sound[0] > picture[0] + _GAP_S or sound[1] < picture[1] - _GAP_S:
        spans = [Span(start=round(picture[0], 2), end=round(sound[0], 2))] if sound[0] > picture[0] + _GAP_S else []
        spans += [Span(start=round(sound[1], 2), end=round(picture[1], 2))] if sound[1] < picture[1] - _GAP_S else []
        return [ANALYZER.check(source, Status.WARN, reason="streams.partial_sound", **common, limit=limit, spans=spans,
                               message=(f"the sound runs from {sound[0]:.1f} to {sound[1]:.1f} s, "
                                        f"the picture from {picture[0]:.1f} to {picture[1]:.1f} s"),
                               fix="trim the clip to where both run, or re-export it with the full sound track in place")]
    if p.other_audio:
        tracks = ", ".join(f"#{t.index} ({t.codec})" for t in p.other_audio)
        return [ANALYZER.check(source, Status.WARN, reason="streams.several_tracks", **common, limit="one audio track",
                               message=(f"{1 + len(p.other_audio)} audio tracks: judged #{p.audio.index} "
                                        f"({p.audio.codec}), the one players take; also {tracks}"),
                               fix="keep only the track with the person's voice; Mosaic may take another one")]
    return [ANALYZER.check(source, Status.PASS, **common, limit=limit, message=kinds)]


ANALYZER = Analyzer(checks=("streams",), roles=frozenset({Role.VIDEO}), policy=None,
                    aspect=Aspect.CONTAINER, reasons=REASONS, measure=measure, judge=judge, windowed=False,
                    units={"streams": "audio tracks"})
