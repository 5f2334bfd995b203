"""resolution: the short side of the picture, in pixels, as displayed.

An avatar is rendered at up to 1080p; below ``warn_below`` (480 px) the face is too soft to learn
from and it warns, below ``fail_below`` (240 px) it is unusable and fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status, grade
from preflight.analyzers.base import Analyzer, Aspect, Timelines

REASONS = {
    "resolution.too_low": "the short side is under the failing limit",
    "resolution.low": "the short side is under the warning limit",
}


@dataclass(frozen=True)
class Size(Timelines):
    width: int  # px, as displayed
    height: int


def measure(media: Media, policy: Policy) -> Size:
    return Size(media.source, media.probe.video.width, media.probe.video.height)


def judge(t: Size, window: Span, policy: Policy) -> list[Check]:
    limits = policy.resolution
    short = min(t.width, t.height)
    status = grade(short, warn_below=limits.warn_below, fail_below=limits.fail_below)
    fix = None if status is Status.PASS else f"use a source of at least {limits.warn_below} px on the short side (720p or 1080p)"
    reason = {Status.FAIL: "resolution.too_low", Status.WARN: "resolution.low"}.get(status)
    return [ANALYZER.check(t.source, status, reason=reason, value=short,
                           limit=f"short side >= {limits.warn_below} px (fail < {limits.fail_below})",
                           message=f"{t.width}x{t.height}", fix=fix)]


ANALYZER = Analyzer(checks=("resolution",), roles=frozenset({Role.VIDEO, Role.IMAGE}), policy="resolution",
                    aspect=Aspect.PICTURE, reasons=REASONS, measure=measure, judge=judge, windowed=False,
                    units={"resolution": "px"})
