"""duration: how long a video or voice audio runs, from the probe.

Mosaic accepts ``min_s`` to ``max_s`` (4 to 15 s) of video or voice: less gives the model too little
of the person, more is refused. A file states several lengths: the container's and each stream's,
and they differ by a frame or an audio packet (a 15.0 s picture in a 15.1 s container is common).
Mosaic may read any of them, so the check holds the longest of the container and the streams the
avatar uses to the maximum, and the shortest to the minimum, and names the one it judged. A file
whose header states no length (a browser's or a pipe's recording) is judged as decoded; when the
decode stopped at its bound (a second past the maximum), it is "at least" that long. Images have no
duration and get no check.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.media import Media, Probe, Role
from preflight.policy import Policy
from preflight.report import Check, Span, Status
from preflight.analyzers.base import Analyzer, Aspect, Timelines
from preflight.roles import Source

REASONS = {
    "duration.too_long": "longer than the maximum (the longest of the container and the streams used)",
    "duration.too_short": "shorter than the minimum",
    "duration.unknown": "the header states no duration and nothing decodes",
}


def _stated(probe: Probe, *, separate_audio: bool) -> dict[str, float]:
    """The lengths the file states for the streams the avatar uses, by what states them."""
    stated = {"the container": probe.duration}
    if probe.role is Role.VIDEO:
        stated["the video stream"] = probe.video.duration
    if probe.audio is not None and not separate_audio:
        stated["the audio stream"] = probe.audio.duration
    return {what: s for what, s in stated.items() if s}


def too_long(probe: Probe, policy: Policy, *, separate_audio: bool) -> Check | None:
    """The failing check for a source whose header already says it is over the maximum, else None.

    The pipeline asks this before decoding, so a minute-long clip fails in the time of a probe
    instead of a full analysis whose verdict is already decided.
    """
    if probe.role is Role.IMAGE:
        return None
    check = _judge(probe.source, _stated(probe, separate_audio=separate_audio), policy)
    if check is None or check.status is not Status.FAIL or (check.value or 0) <= policy.duration.max_s:
        return None
    return check.model_copy(update={"message": f"{check.message}; nothing else was checked"})


@dataclass(frozen=True)
class Lengths(Timelines):
    stated: dict[str, float]  # the lengths the file states for the streams used, by what states them
    decoded: float  # how long the decode ran, seconds
    bounded: float | None = None  # the decode stopped at this many seconds: the source runs on


def measure(media: Media, policy: Policy) -> Lengths:
    return Lengths(media.source, _stated(media.probe, separate_audio=media.separate_audio), media.seconds(),
                   media.status().seconds_limit)


def judge(t: Lengths, window: Span, policy: Policy) -> list[Check]:
    if window.start > 0 or window.end < t.decoded:
        return [_judge(t.source, {"the window": window.end - window.start}, policy)]
    known = t.stated
    if not known:
        # A browser's recording (MediaRecorder WebM) writes no duration in its header: the
        # decode tells how long it runs.
        if not t.decoded:
            limits = policy.duration
            return [ANALYZER.check(t.source, Status.FAIL, reason="duration.unknown", value=None,
                                   limit=f"{limits.min_s:g}-{limits.max_s:g} s",
                                   message="the file states no duration and nothing in it decodes",
                                   fix="re-export it as MP4 (video) or WAV (audio)")]
        if t.bounded is not None:  # it runs on past where the decode stops
            check = _judge(t.source, {"as decoded": t.bounded}, policy)
            return [check.model_copy(update={"message": f"at least {t.bounded:g} s long (as decoded: the header "
                                                        "states no length, and the decode stops there)"})]
        known = {"as decoded; the header states none": t.decoded}
    return [_judge(t.source, known, policy)]


def _judge(source: Source, known: dict[str, float], policy: Policy) -> Check | None:
    if not known:
        return None
    limits = policy.duration
    limit = f"{limits.min_s:g}-{limits.max_s:g} s"
    longest = max(known, key=known.__getitem__)
    shortest = min(known, key=known.__getitem__)
    if known[longest] > limits.max_s:
        what, seconds, reason = longest, known[longest], "duration.too_long"
        status, fix = Status.FAIL, (f"trim it to under {limits.max_s:g} s, keeping the cleanest stretch of speech; "
                                    "`preflight fix FILE -o OUT` finds that stretch, cuts it and checks the cut")
    elif known[shortest] < limits.min_s:
        what, seconds, reason = shortest, known[shortest], "duration.too_short"
        status, fix = Status.FAIL, f"use a recording of at least {limits.min_s:g} s"
    else:
        what, seconds, reason = longest, known[longest], None
        status, fix = Status.PASS, None
    others = ", ".join(f"{w.removeprefix('the ')} {s:.2f} s" for w, s in known.items() if w != what)
    message = f"{seconds:.2f} s long ({what}" + (f"; {others})" if others else ")")
    return ANALYZER.check(source, status, reason=reason, value=round(seconds, 3), limit=limit, message=message,
                          fix=fix)


ANALYZER = Analyzer(checks=("duration",), roles=frozenset({Role.VIDEO, Role.AUDIO}), policy="duration",
                    aspect=Aspect.CONTAINER, reasons=REASONS, measure=measure, judge=judge, windowed=True,
                    units={"duration": "s"})
