"""duration: how long a video or voice audio runs, from the probe.

Mosaic accepts 4 to 15 seconds of video or voice: less gives the model too little of the
person, more is refused. Images have no duration and get no check.
"""

from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Status


def analyze(media: Media, policy: Policy) -> list[Check]:
    if media.role is Role.IMAGE:
        return []
    limits = policy.duration
    seconds = media.probe.media_duration
    source = str(media.probe.path)
    limit = f"{limits.min_s:g}-{limits.max_s:g} s"
    if seconds is None:
        return [Check(id="duration", source=source, status=Status.FAIL, value=None, unit="s", limit=limit,
                      message="the file states no duration",
                      fix="re-export it as MP4 (video) or WAV (audio) so the length is recorded")]
    if seconds < limits.min_s:
        status, fix = Status.FAIL, f"use a recording of at least {limits.min_s:g} s"
    elif seconds > limits.max_s:
        status, fix = Status.FAIL, f"trim it to at most {limits.max_s:g} s, keeping the cleanest stretch of speech"
    else:
        status, fix = Status.PASS, None
    return [Check(id="duration", source=source, status=status, value=round(seconds, 2), unit="s", limit=limit,
                  message=f"{seconds:.1f} s long", fix=fix)]
