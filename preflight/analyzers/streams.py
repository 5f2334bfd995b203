"""streams: a video must carry the voice, in its own audio stream or in a separate audio.

Mosaic learns the voice from the sound of the clip; a silent video is only usable with a
voice audio beside it. A sound track that ends well before the picture (more than half a
second) warns: the last part of the clip has a face but no voice.
"""

from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status

_GAP_S = 0.5


def analyze(media: Media, policy: Policy) -> list[Check]:
    if media.role is not Role.VIDEO:
        return []
    p = media.probe
    source = str(p.path)
    kinds = f"video ({p.video.codec})" + (f" + audio ({p.audio.codec})" if p.audio else "")
    if p.audio is None and not media.separate_audio:
        return [Check(id="streams", source=source, status=Status.FAIL, value=kinds, limit="video + audio",
                      message="no audio stream: the voice is missing",
                      fix="use a clip with its sound, or give the voice as a separate audio (--audio voice.wav)")]
    if media.separate_audio:
        return [Check(id="streams", source=source, status=Status.PASS, value=kinds, limit="video + audio",
                      message=kinds + " (voice from the separate audio)")]
    picture, sound = p.video.duration or p.duration, p.audio.duration or p.duration
    if picture and sound and sound < picture - _GAP_S:
        return [Check(id="streams", source=source, status=Status.WARN, value=kinds, limit="video + audio, same length",
                      spans=[Span(start=round(sound, 2), end=round(picture, 2))],
                      message=f"the sound ends at {sound:.1f} s, the picture at {picture:.1f} s",
                      fix="trim the clip to where the sound ends, or re-export it with the full sound track")]
    return [Check(id="streams", source=source, status=Status.PASS, value=kinds, limit="video + audio",
                  message=kinds)]
