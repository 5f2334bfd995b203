"""The analyzers: one module per concern, each with one entry point.

An analyzer is ``analyze(media: Media, policy: Policy) -> list[Check]``. It gets one decoded
source (never a file), returns the checks it owns for that source, and returns none for a
role it does not apply to. Adding a check means adding a module and listing it here.
"""

from collections.abc import Callable

from preflight.analyzers import (
    av_sync,
    decodable,
    duration,
    faces,
    frontal,
    loudness,
    mouth_motion,
    music,
    noise,
    overlay,
    resolution,
    scene_cuts,
    single_speaker,
    speech,
    streams,
)
from preflight.media import Media
from preflight.policy import Policy
from preflight.report import Check

Analyzer = Callable[[Media, Policy], list[Check]]

# Report order: the container first, then the picture, then the sound.
ANALYZERS: dict[str, Analyzer] = {
    "duration": duration.analyze,
    "streams": streams.analyze,
    "decodable": decodable.analyze,
    "resolution": resolution.analyze,
    "faces": faces.analyze,
    "frontal": frontal.analyze,
    "overlay": overlay.analyze,
    "scene_cuts": scene_cuts.analyze,
    "mouth_motion": mouth_motion.analyze,
    "av_sync": av_sync.analyze,
    "speech": speech.analyze,
    "single_speaker": single_speaker.analyze,
    "music": music.analyze,
    "noise": noise.analyze,
    "loudness": loudness.analyze,
}
