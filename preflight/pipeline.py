"""Checking one source set: probe the sources, decode each once, run every analyzer, judge."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from preflight.analyzers import ANALYZERS, BROKEN, TIMED_OUT, Analyzer
from preflight.analyzers.duration import too_long
from preflight.media import Media, Probe, Role, decode
from preflight.policy import Policy
from preflight.report import Check, Report, SourceInfo, Status
from preflight.sources import PathArg, Sources, local_copies, sha256_of, source_set
from preflight.version import SCHEMA_ID, judges, start_judges

if TYPE_CHECKING:
    from preflight.evidence import Evidence

# A mediapipe graph error was seen to hang a process at 0% CPU; no source set of 15 s needs
# more than a few seconds, so a minute and a half means something is stuck.
ANALYSIS_TIMEOUT_S = 90.0
# Analyses that run a model of their own over the whole source (Needs.model) go two at a time: one
# in its model run (large runs take turns anyway, features.onnx) while the next prepares its input.
# More at once gain no time and hold their inputs and buffers side by side, raising the peak memory.
MODEL_ANALYSES_AT_ONCE = 2


def check(
    *files: PathArg,
    video: PathArg | None = None,
    image: PathArg | None = None,
    audio: PathArg | None = None,
    policy: Policy | None = None,
    timeout: float = ANALYSIS_TIMEOUT_S,
    labels: Mapping[str, str] | None = None,
    decoded: Sequence[Media] = (),
) -> Report:
    """Check one source set and return its report.

    ``files`` have their roles inferred from their streams; ``video``, ``image`` and ``audio``
    name them. Each is a path or an http(s) URL, which is downloaded for the check and deleted
    after; the report names the URL. ``policy`` defaults to the built-in limits: a library call
    never depends on the folder a process runs in (pass ``preflight.load_policy()`` to read a
    ``preflight.toml`` as the CLI does). ``labels`` names a source in the report by something
    other than the path or URL given (``{given: label}``: a partial file by its final name).
    ``decoded`` are sources already decoded by :func:`decode_for_check` under the same policy
    (``preflight fix``'s plan of the same file): each is used for the source it decoded, named
    alike, instead of a second decode, and what was measured on it is not measured again; the
    caller closes them. Raises
    :class:`~preflight.errors.InputError` when a source cannot be read at all and
    :class:`~preflight.errors.UsageError` for a malformed set.
    """
    return inspect(Sources(files, video, image, audio), policy=policy, timeout=timeout, evidence=False,
                   labels=labels, decoded=decoded)[0]


def decode_for_check(probe: Probe, policy: Policy, *, separate_audio: bool = False) -> Media:
    """``probe``'s source decoded as a check decodes it: the RGB frames at the faces' sample rate,
    its own sound unless the set has a separate voice, and no further than a second past the
    duration maximum (past it the verdict is decided: duration fails), whatever its header says."""
    return decode(probe, sample_fps=policy.faces.sample_fps, with_audio=not separate_audio,
                  max_seconds=policy.duration.max_s + 1.0)


def inspect(
    sources: Sources,
    *,
    policy: Policy | None = None,
    timeout: float = ANALYSIS_TIMEOUT_S,
    evidence: bool = True,
    notify: Callable[[str], None] | None = None,
    labels: Mapping[str, str] | None = None,
    name: str | None = None,
    decoded: Sequence[Media] = (),
) -> tuple[Report, list[Evidence]]:
    """:func:`check` for a :class:`~preflight.sources.Sources`, plus pictures of what the checks
    saw (for the HTML report), one per source. ``notify`` hears each step as it starts (the CLI's
    spinner shows it). Each source is named once, as it is probed: by its label in ``labels``,
    else by its URL when it was downloaded, else by its path; ``name`` is the report's.
    ``decoded``: as :func:`check`'s."""
    policy = policy or Policy()
    say = notify or (lambda step: None)
    start_judges()
    say("reading the sources")
    with local_copies(sources) as local:
        given = labels or {}
        probes = source_set(local.sources, {**{path: given.get(url, url) for path, url in local.origin.items()}, **given})
        separate_voice = any(p.role is Role.AUDIO for p in probes)
        media, early, own = [], [], []
        for p in probes:
            separate_audio = p.role is Role.VIDEO and separate_voice
            # A source the header already puts over the maximum fails at once, undecoded.
            if (failed := too_long(p, policy, separate_audio=separate_audio)) is not None:
                early.append(failed)
            elif (given_media := next((m for m in decoded if m.source == p.source and m.separate_audio == separate_audio
                                       and m.sample_fps in (None, policy.faces.sample_fps)), None)) is not None:
                media.append(given_media)
            else:
                say(f"decoding {p.path.name}")
                media.append(decode_for_check(p, policy, separate_audio=separate_audio))
                own.append(media[-1])
        try:
            # A source's frames go once the analyses that read them are done; the RGB frames stay
            # when pictures will be drawn (preflight.evidence draws them from those alone).
            checks = _analyze(media, policy, timeout, say, keep_rgb=evidence)
            report = Report.judge([_info(p) for p in probes], early + checks, policy, judged_by=judges(), name=name)
            pictures = []
            # After an analyzer hung, a feature it holds may never come: no pictures then.
            if evidence and not any(c.status is Status.ERROR for c in report.checks):
                from preflight.evidence import gather

                say("drawing the pictures")
                pictures = gather(media, report, policy)
        finally:
            for m in own:
                m.close()
    return report, pictures


def _analyze(media: list[Media], policy: Policy, timeout: float, say: Callable[[str], None],
             keep_rgb: bool = True) -> list[Check]:
    turns = threading.BoundedSemaphore(MODEL_ANALYSES_AT_ONCE)
    jobs = [_Job(analyzer, m, policy, turns if analyzer.needs.model else nullcontext())
            for m in media for analyzer in ANALYZERS.values() if analyzer.applies(m)]
    for m in media:
        readers = [job for job in jobs if job.media is m and job.analyzer.needs.frames]
        countdown = _Countdown(len(readers), functools.partial(m.release_frames, but_rgb=keep_rgb))
        for job in readers:
            job.after = countdown.tick
    for job in jobs:
        job.thread.start()
    deadline = time.monotonic() + timeout
    checks: list[Check] = []
    for done, job in enumerate(jobs):
        if job.thread.is_alive():
            say(f"{job.analyzer.name} on {job.media.probe.path.name} ({done} of {len(jobs)} analyses done)")
        job.thread.join(max(0.0, deadline - time.monotonic()))
        checks += job.outcome(timeout)
    return checks


class _Job:
    """One analyzer on one source, in a daemon thread so a hung library cannot hold the process."""

    def __init__(self, analyzer: Analyzer, media: Media, policy: Policy, turn: AbstractContextManager) -> None:
        self.analyzer, self.media = analyzer, media
        self.result: list[Check] | None = None
        self.error: BaseException | None = None
        self.seconds: float | None = None
        self.after: Callable[[], None] | None = None  # called when the analysis ends, however it ends

        def target() -> None:
            started = time.perf_counter()
            try:
                with turn:
                    self.result = analyzer.run(media, policy)
            except Exception as exc:  # noqa: BLE001 - becomes `error` checks, never a crash
                self.error = exc
            self.seconds = round(time.perf_counter() - started, 3)
            if self.after is not None:
                self.after()

        self.thread = threading.Thread(target=target, name=f"analyzer-{analyzer.name}", daemon=True)

    def outcome(self, timeout: float) -> list[Check]:
        if self.result is not None:
            return [c.model_copy(update={"seconds": self.seconds}) for c in self.result]
        name, source = self.analyzer.name, self.media.source
        if self.error is not None:
            message = f"the {name} analysis broke: {type(self.error).__name__}: {self.error}"
            return self.analyzer.errors(source, BROKEN, message)
        return self.analyzer.errors(source, TIMED_OUT, f"the {name} analysis did not finish within {timeout:g} s")


class _Countdown:
    """Calls ``action`` once, when ``tick`` has been called ``n`` times (at once when ``n`` is 0)."""

    def __init__(self, n: int, action: Callable[[], None]) -> None:
        self._left, self._action, self._lock = n, action, threading.Lock()
        if n == 0:
            action()

    def tick(self) -> None:
        with self._lock:
            self._left -= 1
            done = self._left == 0
        if done:
            self._action()


def report_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a report; the reason's enum is every code a check may carry.
    ``"additionalProperties": true`` (JSON Schema's default, which newer pydantic writes and 2.6 does not)
    is left out, so that every pydantic the metadata allows writes the same document."""
    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items() if (k, v) != ("additionalProperties", True)}
        return [plain(v) for v in node] if isinstance(node, list) else node

    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **plain(Report.model_json_schema(mode="serialization"))}


def _info(p: Probe) -> SourceInfo:
    return SourceInfo(
        path=p.source.label,
        role=p.role.value,
        format=p.format_name,
        duration=round(p.media_duration, 3) if p.media_duration is not None else None,
        width=p.video.width if p.video and p.role is not Role.AUDIO else None,
        height=p.video.height if p.video and p.role is not Role.AUDIO else None,
        has_audio=p.audio is not None,
        video_codec=p.video.codec if p.video else None,
        fps=round(p.video.fps, 3) if p.video and p.role is Role.VIDEO and p.video.fps else None,
        audio_codec=p.audio.codec if p.audio else None,
        sample_rate=p.audio.sample_rate if p.audio else None,
        sha256=sha256_of(p.path),
        orientation=p.video.orientation if p.video and p.role is Role.IMAGE else None,
    )
