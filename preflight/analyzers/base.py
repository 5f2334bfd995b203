"""What an analyzer is: the declaration the pipeline runs it by.

An analyzer module holds one :class:`Analyzer`: the check ids it emits, the roles of the sources
it applies to, the policy section with its limits, what of a source it judges, its reason codes,
and ``judge``, the function that measures and judges one decoded source (never a file). The
pipeline gives it only the sources of its roles, and when it breaks or hangs, reports every id
it declares as an ``error``, so a broken analyzer can never leave one of its checks unsaid.
(PySceneDetect's ``SceneDetector`` served as the model: a small declared interface, with the
running and the bookkeeping in one place outside it.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from preflight.media import Media, Role
from preflight.policy import Policy
from preflight.report import Check, Status

Judge = Callable[[Media, Policy], list[Check]]


class Aspect(str, Enum):
    """What of a source a check judges: the HTML page marks a sound check's spans on the waveform
    and the others' on the frame strip (av_sync, the picture against the sound, marks frames)."""

    CONTAINER = "container"
    PICTURE = "picture"
    SOUND = "sound"


@dataclass(frozen=True)
class Analyzer:
    checks: tuple[str, ...]  # the check ids it emits, in report order; the first names the analyzer
    roles: frozenset[Role]  # the sources it applies to
    policy: str | None  # the Policy section (a preflight.toml table) holding its limits; None: it has none
    aspect: Aspect
    reasons: Mapping[str, str]  # every reason code it reports, with its meaning
    judge: Judge  # one source of a role it applies to -> some of its checks

    def __post_init__(self) -> None:
        if self.policy is not None and self.policy not in Policy.model_fields:
            raise ValueError(f"{self.name}: the policy has no section {self.policy!r}")
        if stray := [code for code in self.reasons if code.split(".")[0] not in self.checks]:
            raise ValueError(f"{self.name}: reason codes {stray} are not of its checks {self.checks}")

    @property
    def name(self) -> str:
        return self.checks[0]

    def applies(self, media: Media) -> bool:
        return media.role in self.roles

    def run(self, media: Media, policy: Policy) -> list[Check]:
        """``judge`` on ``media``; a check id it does not declare is a bug in it (raised)."""
        checks = self.judge(media, policy)
        if stray := sorted({c.id for c in checks} - set(self.checks)):
            raise RuntimeError(f"it reported undeclared checks {stray}")
        return checks

    def errors(self, source: str, reason: str, message: str) -> list[Check]:
        """Every declared check as an ``error``: what the report says when the analyzer broke or hung."""
        return [Check(id=check, source=source, status=Status.ERROR, reason=reason, value=None, message=message,
                      fix="try again; if it persists, report it with the file attached") for check in self.checks]
