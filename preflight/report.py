"""The report: checks, the verdict they add up to, and its renderings (terminal, JSON)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rich.console import Console
from rich.table import Table
from rich.text import Text

from preflight.roles import Role, Source
from preflight.version import SCHEMA_VERSION, __version__


# Every reason code a check may carry. Each analyzer declares the meanings of its own (its REASONS);
# a test holds this list to theirs, and a code not listed here is refused when a Check is made.
Reason = Literal[
    "analysis.broken", "analysis.timed_out", "av_sync.offset", "av_sync.other_voice", "av_sync.unclear", "av_sync.weak",
    "check.error", "clipping.clipped", "decodable.broken", "decodable.errors", "decodable.stops_early",
    "duration.too_long", "duration.too_short", "duration.unknown", "face_size.small", "faces.none",
    "faces.not_human", "faces.several", "faces.turned", "frontal.eyes_closed", "frontal.profile", "frontal.turned_away", "loudness.quiet",
    "mouth_motion.still", "music.bed", "music.between_words", "music.heard", "music.some", "noise.intrusive", "noise.loud",
    "noise.some", "overlay.inset", "overlay.mark", "overlay.mark_minor", "overlay.text", "overlay.text_minor",
    "resolution.low", "resolution.too_low", "scene_cuts.cut", "scene_cuts.fade", "scene_cuts.stray_frames",
    "single_speaker.channels", "single_speaker.maybe_others", "single_speaker.others", "single_speaker.overlap",
    "source_set.incomplete", "speech.no_audio", "speech.none",
    "speech.too_little", "streams.no_audio", "streams.partial_sound", "streams.several_tracks",
]


class Status(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"  # the check does not apply, or could not run for a stated reason
    ERROR = "error"  # the check itself broke; the source is not cleared


def grade(value: float, *, warn_below: float, fail_below: float) -> Status:
    """For a measure where more is better: FAIL under ``fail_below``, WARN under ``warn_below``."""
    if value < fail_below:
        return Status.FAIL
    return Status.WARN if value < warn_below else Status.PASS


class Span(BaseModel):
    """Where a problem shows: seconds from the start; a single frame has start == end."""

    model_config = ConfigDict(frozen=True)
    # Pauses in a sound shorter than this are bridged: a listener hears one stretch, not two.
    BRIDGED_S: ClassVar[float] = 0.3
    start: float
    end: float

    @classmethod
    def merge(cls, times: Iterable[float], gap: float) -> list[Span]:
        """Runs of the given times (sorted) no further than ``gap`` apart, as spans."""
        spans: list[Span] = []
        for t in times:
            if spans and t - spans[-1].end <= gap + 1e-6:
                spans[-1] = cls(start=spans[-1].start, end=round(t, 3))
            else:
                spans.append(cls(start=round(t, 3), end=round(t, 3)))
        return spans

    @classmethod
    def runs(cls, times: Iterable[float], length: float, gap: float | None = None, digits: int = 3) -> list[Span]:
        """Runs of frames that start at ``times`` (sorted) and last ``length`` each, gaps up to ``gap``
        (:attr:`BRIDGED_S` unless given) bridged: each span ends where its last frame does."""
        return [cls(start=s.start, end=round(s.end + length, digits))
                for s in cls.merge(times, cls.BRIDGED_S if gap is None else gap)]


class Check(BaseModel):
    """One measurement of one source against one limit."""

    model_config = ConfigDict(frozen=True)  # made once; model_copy makes a changed one
    id: str = Field(description="check id, as listed in the README's checks table")
    source: str = Field(description="the file the check looked at")
    status: Status
    reason: Reason | None = Field(
        None, description="a stable code for the outcome, '<check>.<outcome>' (the README lists them all); "
                          "set on every warn, fail and error, absent on a pass")
    value: float | int | None = Field(description="what was measured: one number, in `unit`, the same for every role")
    unit: str = ""
    limit: str | None = Field(None, description="the limit it was held to, in words")
    details: dict[str, float | int | str] = Field(
        default_factory=dict, description="other measurements, by name (e.g. faces: most_faces; streams: codecs)")
    spans: tuple[Span, ...] = Field(default=(), description="where it happens")
    message: str
    fix: str | None = Field(None, description="what to do about it; absent when the check passed")
    seconds: float | None = Field(
        None, description="how long its analyzer ran, waiting for the decode and shared measurements included")

    @field_validator("source", mode="before")
    @classmethod
    def _named(cls, source: Any) -> Any:
        # an analyzer passes the Source it measured: a check shows it by its label
        return source.label if isinstance(source, Source) else source

    @model_validator(mode="after")
    def _reason_with_outcome(self) -> Check:
        # A pipeline switches on the reason: every outcome that needs acting on carries one.
        if self.status in (Status.WARN, Status.FAIL, Status.ERROR) and not self.reason:
            raise ValueError(f"check {self.id}: a {self.status.value} needs a reason code")
        if self.status is Status.PASS and self.reason:
            raise ValueError(f"check {self.id}: a pass has no reason code")
        return self


class SourceInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str
    role: Role
    format: str
    duration: float | None
    width: int | None = None
    height: int | None = None
    has_audio: bool
    video_codec: str | None = Field(None, description="the picture's codec, from the probe")
    fps: float | None = Field(None, description="a video's average frame rate")
    audio_codec: str | None = Field(None, description="the judged audio track's codec")
    sample_rate: int | None = Field(None, description="the judged audio track's sample rate, Hz")
    sha256: str | None = Field(None, description="of the bytes that were checked: what an upload must match")
    orientation: int | None = Field(None, description="a still's EXIF orientation: 1 stored as shown, 2-8 stored "
                                                      "turned or mirrored (width and height are as shown)")


class Outcome(enum.StrEnum):
    """What checks add up to: the one vocabulary of the report, the CLI's exit codes, batch, serve and fix."""

    GO = "go"
    WARN = "warn"  # GO with warnings
    NO_GO = "no-go"
    ERROR = "error"  # NO-GO because a check broke, with no failure: the media may be fine, the tool is not

    @property
    def go(self) -> bool:
        return self in (Outcome.GO, Outcome.WARN)


def outcome(checks: Iterable[Check], strict: bool) -> Outcome:
    """The verdict rule: a failure makes a NO-GO; else a broken check an ERROR (not cleared);
    else a warning a NO-GO when strict, a GO with warnings when not."""
    statuses = {c.status for c in checks}
    if Status.FAIL in statuses:
        return Outcome.NO_GO
    if Status.ERROR in statuses:
        return Outcome.ERROR
    if Status.WARN in statuses:
        return Outcome.NO_GO if strict else Outcome.WARN
    return Outcome.GO


def blocked(checks: Iterable[Check], strict: bool) -> bool:
    """Whether the checks make a NO-GO (by :func:`outcome`)."""
    return not outcome(checks, strict).go


def blocking(checks: Iterable[Check], strict: bool) -> list[Check]:
    """The checks that stand in the way of a GO, each by itself (by :func:`outcome`)."""
    return [c for c in checks if blocked([c], strict)]


class Report(BaseModel):
    """The judgement of one source set."""

    # The verdict is the sum of the checks: neither changes once judged (model_copy makes a new report).
    model_config = ConfigDict(frozen=True)
    schema_version: str = Field(SCHEMA_VERSION, description="this report's schema; changes when a field changes meaning")
    name: str | None = Field(None, description="the source set's name, in a batch")
    verdict: Literal["go", "no-go"]
    warnings: int = Field(description="checks that warned")
    strict: bool = Field(description="whether warnings blocked")
    sources: tuple[SourceInfo, ...]
    checks: tuple[Check, ...]
    policy: dict[str, Any] = Field(description="the limits the checks were held to")
    version: str = Field(description="preflight's version")
    judged_by: dict[str, str] = Field(
        default_factory=dict, description="versions of FFmpeg, the judging libraries and a digest of the model files")

    @classmethod
    def judge(cls, sources: Sequence[SourceInfo], checks: Sequence[Check], policy: Any, *,
              judged_by: Mapping[str, str], name: str | None = None) -> Report:
        """Sum the checks into a verdict: a failure or an error blocks; a warning only when strict.
        ``judged_by`` is what judged them (:func:`preflight.version.judges`), found by the caller."""
        return cls(
            name=name,
            verdict="no-go" if blocked(checks, policy.strict) else "go",
            warnings=sum(c.status is Status.WARN for c in checks),
            strict=policy.strict,
            sources=sources,
            checks=checks,
            policy=policy.model_dump(mode="json"),
            version=__version__,
            judged_by=dict(judged_by),
        )

    @property
    def outcome(self) -> Outcome:
        return outcome(self.checks, self.strict)

    @property
    def go(self) -> bool:
        return self.verdict == "go"

    @property
    def blocking(self) -> list[Check]:
        """The checks that stand in the way of a GO."""
        return blocking(self.checks, self.strict)

    @property
    def headline(self) -> str:
        return {Outcome.GO: "GO", Outcome.WARN: "GO with warnings"}.get(self.outcome, "NO-GO")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


_STYLE = {
    Status.PASS: ("pass", "green"),
    Status.WARN: ("warn", "yellow"),
    Status.FAIL: ("FAIL", "bold red"),
    Status.SKIPPED: ("skip", "dim"),
    Status.ERROR: ("ERROR", "bold magenta"),
}


def render_terminal(report: Report, console: Console) -> None:
    """The verdict line, then one row per check: status, check, what was measured. Rows that warn
    or fail add the limit, where it happens and the fix on lines below; passing rows show the limit
    in brackets. Problems come first."""
    colour = "green" if report.go and not report.warnings else ("yellow" if report.go else "red")
    names = ", ".join(f"{s.path} ({s.role.value})" for s in report.sources)
    console.print(Text.assemble((report.headline, f"bold {colour}"), "  ", names))
    several = len(report.sources) > 1
    order = {Status.FAIL: 0, Status.ERROR: 0, Status.WARN: 1, Status.SKIPPED: 2, Status.PASS: 3}
    table = Table.grid(padding=(0, 2), pad_edge=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for check in sorted(report.checks, key=lambda c: order[c.status]):
        label, style = _STYLE[check.status]
        body = Text(check.message)
        if several:
            body.append(f"  [{check.source.rsplit('/', 1)[-1]}]", style="dim")
        if check.status in (Status.PASS, Status.SKIPPED):
            if check.limit:
                body.append(f"  ({check.limit})", style="dim")
        else:
            for name, text in (("limit", check.limit), ("where", format_spans(check.spans)), ("fix", check.fix)):
                if text:
                    body.append(f"\n{name:<6}", style="dim")
                    body.append(text, style="bold" if name == "fix" else "")
        table.add_row(Text(label, style=style), check.id, body)
    console.print(table)


def format_spans(spans: Sequence[Span], most: int = 4) -> str:
    parts = [f"{s.start:.1f}s" if s.end == s.start else f"{s.start:.1f}-{s.end:.1f}s" for s in spans[:most]]
    if len(spans) > most:
        parts.append(f"+{len(spans) - most} more")
    return ", ".join(parts)
