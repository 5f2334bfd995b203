"""The analyzers: one module per concern, each declaring itself as an :class:`~preflight.analyzers.base.Analyzer`.

A module's ``ANALYZER`` says which checks it emits, for which roles, with which policy section;
its ``measure`` turns one decoded source (never a file) into timelines and its ``judge`` judges a
window of them. Its ``REASONS`` names every outcome it reports
that needs acting on (``"faces.several"``: what it means). Adding a check means adding a module
and listing it here; the check ids, the reason codes, the README's tables and the report
schema's enum and the checks ``preflight fix`` can save all derive from this registry.
"""

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
from preflight.analyzers.base import Analyzer, Aspect

__all__ = ["ANALYZERS", "CHECK_IDS", "REASONS", "Analyzer", "Aspect"]

# Outcomes of a whole analysis or source set rather than of one analyzer.
BROKEN, TIMED_OUT = "analysis.broken", "analysis.timed_out"
_OTHER_REASONS = {
    BROKEN: "the analyzer broke (a bug): the source is not cleared; exit code 4",
    TIMED_OUT: "the analyzer did not finish in time: the source is not cleared",
    "source_set.incomplete": "a batch set that is not a video, nor an image with a voice audio",
    "check.error": "a batch set that could not be checked (unreadable, stopped at the time limit, crashed)",
}

# Report order: the container first, then the picture, then the sound.
ANALYZERS: dict[str, Analyzer] = {a.name: a for a in (
    duration.ANALYZER, streams.ANALYZER, decodable.ANALYZER, resolution.ANALYZER, faces.ANALYZER, frontal.ANALYZER,
    overlay.ANALYZER, scene_cuts.ANALYZER, mouth_motion.ANALYZER, av_sync.ANALYZER, speech.ANALYZER,
    single_speaker.ANALYZER, music.ANALYZER, noise.ANALYZER, loudness.ANALYZER,
)}

# Every check id, in report order.
CHECK_IDS: tuple[str, ...] = tuple(check for a in ANALYZERS.values() for check in a.checks)

# Every reason code a report may carry, with its meaning: the README's table is this.
REASONS: dict[str, str] = {
    **{code: text for a in ANALYZERS.values() for code, text in a.reasons.items()},
    **_OTHER_REASONS,
}
