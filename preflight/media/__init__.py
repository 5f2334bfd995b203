"""Reading media: probe a file's streams, then decode it once into what the analyzers need.

Nothing here knows about checks or reports; the analyzers receive a :class:`Media` and never
open a file themselves.
"""

from preflight.media.decode import Media, decode
from preflight.media.probe import AudioStream, Probe, Role, VideoStream, probe
from preflight.media.stream import Audio, FrameSeq

__all__ = ["Audio", "AudioStream", "FrameSeq", "Media", "Probe", "Role", "VideoStream", "decode", "probe"]
