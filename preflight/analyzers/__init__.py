"""The analyzers: one module per concern, each with one entry point and its reason codes.

An analyzer is ``analyze(media: Media, policy: Policy) -> list[Check]``. It gets one decoded
source (never a file), returns the checks it owns for that source, and returns none for a
role it does not apply to. Its module's ``REASONS`` names every outcome it reports that needs
acting on (``"faces.several"``: what it means). Adding a check means adding a module and listing
it here.
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

# Outcomes of a whole analysis or source set rather than of one analyzer.
BROKEN, TIMED_OUT = "analysis.broken", "analysis.timed_out"
_OTHER_REASONS = {
    BROKEN: "the analyzer broke (a bug): the source is not cleared; exit code 4",
    TIMED_OUT: "the analyzer did not finish in time: the source is not cleared",
    "source_set.incomplete": "a batch set that is not a video, nor an image with a voice audio",
    "check.error": "a batch set that could not be checked (unreadable, stopped at the time limit, crashed)",
}

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

# Every reason code a report may carry, with its meaning: the README's table is this.
REASONS: dict[str, str] = {
    **{code: text for module in (duration, streams, decodable, resolution, faces, frontal, overlay, scene_cuts,
                                 mouth_motion, av_sync, speech, single_speaker, music, noise, loudness)
       for code, text in module.REASONS.items()},
    **_OTHER_REASONS,
}
