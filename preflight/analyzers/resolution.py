"""resolution: the short side of the picture, in pixels, as displayed.

An avatar is rendered at up to 1080p; below 480 px the face is too soft to learn from, below
240 px it is unusable.
"""

from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Status, grade
from preflight.analyzers.base import Analyzer, Aspect

REASONS = {
    "resolution.too_low": "the short side is under the failing limit",
    "resolution.low": "the short side is under the warning limit",
}


def analyze(media: Media, policy: Policy) -> list[Check]:
    limits = policy.resolution
    v = media.probe.video
    short = min(v.width, v.height)
    status = grade(short, warn_below=limits.warn_below, fail_below=limits.fail_below)
    fix = None if status is Status.PASS else f"use a source of at least {limits.warn_below} px on the short side (720p or 1080p)"
    reason = {Status.FAIL: "resolution.too_low", Status.WARN: "resolution.low"}.get(status)
    return [Check(id="resolution", source=str(media.probe.path), status=status, reason=reason, value=short, unit="px",
                  limit=f"short side >= {limits.warn_below} px (fail < {limits.fail_below})",
                  message=f"{v.width}x{v.height}", fix=fix)]


ANALYZER = Analyzer(checks=("resolution",), roles=frozenset({Role.VIDEO, Role.IMAGE}), policy="resolution",
                    aspect=Aspect.PICTURE, reasons=REASONS, judge=analyze)
