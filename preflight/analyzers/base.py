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
over the clip, lip sync over the clip's most-spoken 10 s). ``preflight fix`` avoids the windowed
checks' failures by its choice of window; it leaves the others to the check of the cut file.

The pipeline gives an analyzer only the sources of its roles, and when it breaks or hangs,
reports every id it declares as an ``error``, so a broken analyzer can never leave one of its
checks unsaid. (PySceneDetect's ``SceneDetector`` served as the model: a small declared
interface, with the running and the bookkeeping in one place outside it.) A judgment is a pure
function of numbers, so tests build timelines in numpy and judge them in microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar, get_args

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
    units: Mapping[str, str] = field(default_factory=dict)  # each check's unit of `value`, by id

    def __post_init__(self) -> None:
        if self.policy is not None and self.policy not in Policy.model_fields:
            raise ValueError(f"{self.name}: the policy has no section {self.policy!r}")
        if stray := [code for code in self.reasons if code.split(".")[0] not in self.checks]:
            raise ValueError(f"{self.name}: reason codes {stray} are not of its checks {self.checks}")
        if unlisted := sorted(set(self.reasons) - set(get_args(Reason))):
            raise ValueError(f"{self.name}: reason codes {unlisted} are missing from preflight.report.Reason")
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
