"""streams: a video must carry the voice, in its own audio stream or in a separate audio.

Mosaic learns the voice from the sound of the clip; a silent video is only usable with a
voice audio beside it.
"""

from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Status


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
    note = " (voice from the separate audio)" if media.separate_audio else ""
    return [Check(id="streams", source=source, status=Status.PASS, value=kinds, limit="video + audio",
                  message=kinds + note)]
