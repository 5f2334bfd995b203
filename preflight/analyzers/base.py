"""What an analyzer is: the declaration the pipeline runs it by.

An analyzer module holds one :class:`Analyzer`: the check ids it emits, the roles of the sources
it applies to, the policy section with its limits, what of a source it judges, its reason codes,
and its two steps:

- ``measure``: one decoded source (never a file) -> its **timelines**, a :class:`Timelines` of
  the analyzer's own: what it measured, per time where it can be (faces per sampled frame, speech
  per 32 ms, music per 10 ms, voices per stretch of speech). Features are computed once per source
  and shared between analyzers (:meth:`~preflight.media.Media.shared`).
- ``judge``: those timelines, a **window** ``[start, end]`` of the source (a :class:`~preflight.report.Span`,
  seconds) and the policy -> its checks on that window. The ordinary report judges the window
  ``[0, duration]``; ``preflight fix`` judges candidate windows of a long recording.

``windowed`` says how it judges: True when the window changes the judgment (only the window's
frames, speech, music, voices count), False when what it measures belongs to the whole source,
so that any window of it is judged as the whole is (the container, the resolution, marks that stay
over the clip, lip sync over the clip's most-spoken 10 s). ``preflight fix``, which looks for a
window of a long recording, reads more of the declaration:

- ``avoid`` (windowed only): its timelines -> the stretches (:class:`Stretch`) a window holding
  them would fail (or warn) on, in its own rule's terms; fix's window leaves them out, and the
  judgment of the window has the last word;
- ``guide`` (windowed only): its timelines -> what ranks windows (:class:`Guide`: where the
  speech is, so edges fall in pauses; how large the face is);
- ``needs``: what it needs of the decode (:class:`Needs`: the frames as they come, the face
  landmarks); ``streamed``: how to measure it on a decode read once as it streams (fix's), when
  that must be less than ``measure``. One that needs landmarks and has no ``streamed`` is left
  to the check of the cut file;
- ``resync``: for a failure no window leaves out, an offset of the sound to try (:class:`Resync`);
- ``caveat``: what a window must say when the check flags the whole recording (a damaged file).

The pipeline gives an analyzer only the sources of its roles, and when it breaks or hangs,
reports every id it declares as an ``error``, so a broken analyzer can never leave one of its
checks unsaid. (PySceneDetect's ``SceneDetector`` served as the model: a small declared
interface, with the running and the bookkeeping in one place outside it.) A judgment is a pure
function of numbers, so tests build timelines in numpy and judge them in microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel

from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Reason, Span, Status
from preflight.roles import Source


@dataclass(frozen=True)
class Timelines:
    """What an analyzer measured over one source: each analyzer's timelines extend this."""

    source: Source  # the source the checks are about, named once: they show its label


T = TypeVar("T", bound=Timelines)


class Aspect(str, Enum):
    """What of a source a check judges: the HTML page marks a sound check's spans on the waveform
    and the others' on the frame strip (av_sync, the picture against the sound, marks frames)."""

    CONTAINER = "container"
    PICTURE = "picture"
    SOUND = "sound"


class Stretch(BaseModel):
    """A stretch of a recording that a window must leave out, and why, in its check's terms."""

    start: float
    end: float
    check: str  # the check a window holding it would fail
    what: str  # what is there, in a few words: "a scene cut", "a second voice speaks"
    why: str  # the same with where: "a scene cut at 0:12.3"

    @staticmethod
    def merged(times: Sequence[float], half: float, check: str, what: str, gap: float) -> list[Stretch]:
        """Moments (each covering ``half`` either side) merged into stretches where they lie
        closer than ``gap``."""
        stretches: list[Stretch] = []
        for t in sorted(float(t) for t in times):
            start, end = max(0.0, t - half), t + half
            if stretches and start - stretches[-1].end <= gap:
                stretches[-1].end = round(end, 3)
            else:
                stretches.append(Stretch(start=round(start, 3), end=round(end, 3), check=check, what=what, why=what))
        for s in stretches:
            s.why = (f"{what} {clock(s.start)}-{clock(s.end)}" if s.end - s.start > 2 * half + 1e-6
                     else f"{what} at {clock(s.start)}")
        return stretches


def clock(t: float) -> str:
    """0:12.3"""
    minutes, seconds = divmod(max(0.0, t), 60.0)
    return f"{int(minutes)}:{seconds:04.1f}"


@dataclass(frozen=True)
class Guide:
    """What an analyzer's timelines tell a window search beyond where it fails."""

    speech: list[tuple[float, float]] | None = None  # where someone speaks (s): edges go in the pauses
    face: Callable[[float, float], float | None] | None = None  # a window's face height / frame height


@dataclass(frozen=True)
class Needs:
    """What an analyzer needs of the decode."""

    frames: bool = False  # the picture's frames, read as they come (on a streamed decode, side by side)
    landmarks: bool = False  # the face landmarker on every sampled frame, and frames looked at again
    model: bool = False  # a model of its own over the whole source: hundreds of MB while it runs


@dataclass(frozen=True)
class Resync:
    """A repair for a failure no window leaves out: the sound moved against the picture."""

    offset: Callable[[Check], int | None]  # ms to move the sound earlier, read from the failed check, or None
    worked: Callable[[Check, Policy], bool]  # the moved copy's check shows it took


@dataclass(frozen=True)
class Analyzer(Generic[T]):
    checks: tuple[str, ...]  # the check ids it emits, in report order; the first names the analyzer
    roles: frozenset[Role]  # the sources it applies to
    policy: str | None  # the Policy section (a preflight.toml table) holding its limits; None: it has none
    aspect: Aspect
    reasons: Mapping[str, str]  # every reason code it reports, with its meaning
    measure: Callable[[Media, Policy], T | None]  # one source -> its timelines (None: nothing to judge, no sound)
    judge: Callable[[T, Span, Policy], list[Check]]  # a window of them -> some of its checks
    windowed: bool  # the judgment reads the window; False: the whole source's holds for any window
    avoid: Callable[[T, Policy], list[Stretch]] | None = None  # where a window would fail: fix leaves it out
    guide: Callable[[T], Guide] | None = None  # what ranks windows: the speech, the face's size
    needs: Needs = field(default_factory=Needs)
    streamed: Callable[[Media, Policy], T | None] | None = None  # measure on a decode read once (fix's)
    resync: Resync | None = None  # a sound offset to try when its check fails
    caveat: str | None = None  # what a window carries when the check flags the whole recording ({message})
    units: Mapping[str, str] = field(default_factory=dict)  # each check's unit of `value`, by id

    def __post_init__(self) -> None:
        if self.policy is not None and self.policy not in Policy.model_fields:
            raise ValueError(f"{self.name}: the policy has no section {self.policy!r}")
        if stray := [code for code in self.reasons if code.split(".")[0] not in self.checks]:
            raise ValueError(f"{self.name}: reason codes {stray} are not of its checks {self.checks}")
        if unlisted := sorted(set(self.reasons) - set(get_args(Reason))):
            raise ValueError(f"{self.name}: reason codes {unlisted} are missing from preflight.report.Reason")
        if (self.avoid or self.guide) and not self.windowed:
            raise ValueError(f"{self.name}: only a windowed analyzer can say where in time a window fails")
        if stray := sorted(set(self.units) - set(self.checks)):
            raise ValueError(f"{self.name}: units of {stray}, which are not among its checks {self.checks}")

    @property
    def name(self) -> str:
        return self.checks[0]

    def applies(self, media: Media) -> bool:
        return media.role in self.roles

    def run(self, media: Media, policy: Policy) -> list[Check]:
        """Measure ``media`` and judge the whole of it: the ordinary report's checks."""
        timelines = self.measure(media, policy)
        return [] if timelines is None else self.judge_window(timelines, Span(start=0.0, end=media.seconds()), policy)

    @property
    def streams(self) -> bool:
        """It can be measured on a decode read once as it streams (fix's): without the landmarks."""
        return self.streamed is not None or not self.needs.landmarks

    def measure_streamed(self, media: Media, policy: Policy) -> T | None:
        """Its timelines on a streamed decode (call only when :attr:`streams`)."""
        return (self.streamed or self.measure)(media, policy)

    def judge_window(self, timelines: T, window: Span, policy: Policy) -> list[Check]:
        """``judge`` on a window; a check id it does not declare is a bug in it (raised)."""
        checks = self.judge(timelines, window, policy)
        if stray := sorted({c.id for c in checks} - set(self.checks)):
            raise RuntimeError(f"it reported undeclared checks {stray}")
        return checks

    def check(self, source: Source, status: Status, *, check: str | None = None, **varies: Any) -> Check:
        """One of its checks (``check``; its first by default) on ``source``, its unit as declared:
        the call passes only what varies (value, reason, limit, message, fix, spans, details)."""
        check = check or self.name
        varies.setdefault("unit", self.units.get(check, ""))
        return Check(id=check, source=source, status=status, **varies)

    def errors(self, source: Source, reason: Reason, message: str) -> list[Check]:
        """Every declared check as an ``error``: what the report says when the analyzer broke or hung."""
        return [self.check(source, Status.ERROR, check=check, reason=reason, value=None, unit="", message=message,
                           fix="try again; if it persists, report it with the file attached") for check in self.checks]
