"""decodable: the file decodes end to end, not just its header.

Measured on the decode pass every other analyzer reads from: ffmpeg's exit status, the errors it
reported, and how far into the file the pictures and the sound reach compared with the
duration the header claims. A truncated upload or a broken export shows as a decode that stops
early; the server would fail on it late. Errors in a decode that still reached the end (a few
damaged frames) only warn: players and Mosaic's decoder conceal them. A still stored turned (a
phone's EXIF orientation) is checked as viewers show it, and the message says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.media import Media, Probe, Role
from preflight.media.decode import DecodeStatus
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Timelines

REASONS = {
    "decodable.broken": "ffmpeg could not decode it",
    "decodable.stops_early": "the picture or the sound stops before the length its header states",
    "decodable.errors": "decodes to the end, with errors on the way",
}

# Containers round their duration and the last frame lasts 1/fps: allow that much shortfall.
_SLACK_S = 0.25
_SLACK_RATIO = 0.98


@dataclass(frozen=True)
class Decoded(Timelines):
    probe: Probe
    status: DecodeStatus
    picture_s: float | None  # how far the picture decoded (a video), seconds
    sound_s: float | None  # how far the sound decoded
    pictures: int  # frames decoded (an image: 1 when it decodes)


def measure(media: Media, policy: Policy) -> Decoded:
    status, p = media.status(), media.probe
    picture = None
    if media.grey is not None:
        times = media.grey.times
        picture = float(times[-1]) + (1.0 / p.video.fps if p.video.fps else 0.0) if len(times) else 0.0
    audio = media.audio()
    return Decoded(p.source, p, status, picture, audio.duration if audio is not None else None,
                   len(media.rgb) if media.role is Role.IMAGE else 0)


def judge(t: Decoded, window: Span, policy: Policy) -> list[Check]:
    status, p, source = t.status, t.probe, t.source
    fix = "re-export or re-download the file; it is damaged or incomplete"
    if p.role is Role.IMAGE:
        ok = status.returncode == 0 and t.pictures == 1
        return [ANALYZER.check(source, Status.PASS if ok else Status.FAIL, reason=None if ok else "decodable.broken",
                               value=None, limit="decodes",
                               message=(f"the image decodes{_turned(p)}" if ok
                                        else _why("the image does not decode", status.errors)),
                               fix=None if ok else fix)]
    cap = status.seconds_limit or float("inf")
    reached = []  # (what, seconds decoded, seconds the header states for that stream)
    if t.picture_s is not None:
        reached.append(("picture", t.picture_s, min(p.video.duration or p.duration or 0.0, cap)))
    if t.sound_s is not None:
        reached.append(("sound", t.sound_s, min(p.audio.duration or p.duration or 0.0, cap)))
    short = [(what, secs, stated) for what, secs, stated in reached if secs < stated * _SLACK_RATIO - _SLACK_S]
    # with no length in the header (a browser's WebM), how far it decoded is the length
    expected = max((stated for _, _, stated in reached), default=0.0) or max((secs for _, secs, _ in reached), default=0.0)
    value = round(min((secs for _, secs, _ in reached), default=0.0), 2)
    limit = "decodes to the end"
    scope = f" (first {status.seconds_limit:g} s checked)" if status.seconds_limit else ""

    if status.returncode != 0 or short or not reached:
        if short:
            what, secs, stated = short[0]
            message = f"the {what} stops at {secs:.1f} s of the {stated:.1f} s its header states"
            spans = [Span(start=round(secs, 2), end=round(stated, 2))]
        else:
            message, spans = "ffmpeg could not decode it", []
        return [ANALYZER.check(source, Status.FAIL, reason="decodable.stops_early" if short else "decodable.broken",
                               value=value, limit=limit, spans=spans, message=_why(message, status.errors), fix=fix)]
    if status.errors:
        return [ANALYZER.check(source, Status.WARN, reason="decodable.errors", value=value, limit=limit,
                               message=_why(f"decodes to the end with {len(status.errors)} error(s){scope}", status.errors),
                               fix="re-export the file to repair the damaged frames")]
    return [ANALYZER.check(source, Status.PASS, value=value, limit=limit,
                           message=f"decodes cleanly to {expected:.1f} s{scope}")]


def _turned(p: Probe) -> str:
    """What the checks saw of a still stored turned: the picture as its orientation tag shows it."""
    if p.video is None or p.video.orientation == 1:
        return ""
    return f" (stored turned; checked as shown, turned by its EXIF orientation {p.video.orientation})"


def _why(message: str, errors: list[str]) -> str:
    return f"{message}: {errors[0]}" if errors else message


ANALYZER = Analyzer(checks=("decodable",), roles=frozenset({Role.VIDEO, Role.IMAGE, Role.AUDIO}), policy=None,
                    aspect=Aspect.CONTAINER, reasons=REASONS, measure=measure, judge=judge, windowed=False,
                    caveat="the recording is damaged: {message}; the window was chosen from the part that decodes",
                    units={"decodable": "s"})
