"""Many source sets at once: find them in a folder or a manifest, check them in a pool of worker
processes, and remember the results.

- Discovery: in a folder, a video is a set; an image and an audio with the same stem
  (``ada.jpg`` + ``ada.wav``) are a set; a video and an audio with the same stem are a set of
  both. A manifest CSV names sets row by row (``name,video,image,audio``; paths relative to the
  manifest, or URLs). A file's role comes from its streams, as ``check`` infers it, never from
  its name; files that are not media are skipped with the reason.
- Workers: ``jobs`` processes, each loading the models once and checking set after set. A set
  that crashes its worker or passes ``time_limit`` becomes an ``error`` result; the worker is
  replaced and the batch goes on.
- Cache: a result is stored in the ledger under the sources' sha256, the policy and the
  checker's version, so an unchanged set is not checked again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from preflight.download import is_url
from preflight.errors import InputError, PreflightError, UsageError
from preflight.evidence import Evidence
from preflight.ledger import Ledger
from preflight.media import Role, probe
from preflight.policy import Policy
from preflight.report import Check, Report, Status
from preflight.sources import sha256_of
from preflight.version import SCHEMA_VERSION, judges

# A 15 s set takes a few seconds; four minutes means the worker is stuck.
TIME_LIMIT_S = 240.0

Outcome = Literal["go", "warn", "no-go", "error"]
_Task = tuple["SourceSet", "str | None"]  # a set and its cache key


@dataclass(frozen=True)
class SourceSet:
    """One avatar's worth of sources, as found; ``problem`` says why it cannot be a set."""

    name: str
    video: str | None = None
    image: str | None = None
    audio: str | None = None
    problem: str | None = None

    @property
    def given(self) -> dict[Role, str]:
        """The sources by role (a Role is a str: ``given["video"]`` works too)."""
        found = ((Role.VIDEO, self.video), (Role.IMAGE, self.image), (Role.AUDIO, self.audio))
        return {role: path for role, path in found if path}


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Result:
    set: SourceSet
    report: Report
    evidence: list[Evidence] = field(default_factory=list)
    cached: bool = False
    seconds: float = 0.0  # wall time of the check; 0 when none ran (cached, refused, crashed)

    @property
    def outcome(self) -> Outcome:
        if any(c.status is Status.ERROR for c in self.report.checks):
            return "error"
        if not self.report.go:
            return "no-go"
        return "warn" if self.report.warnings else "go"


def discover(target: Path) -> tuple[list[SourceSet], list[Skipped]]:
    """The source sets in a folder (searched recursively) or a manifest CSV."""
    if target.is_dir():
        return _in_folder(target)
    if target.is_file() and target.suffix.lower() == ".csv":
        return _in_manifest(target), []
    raise UsageError(f"{target}: give a folder of media or a manifest .csv (name,video,image,audio)")


def _in_folder(folder: Path) -> tuple[list[SourceSet], list[Skipped]]:
    groups: dict[tuple[Path, str], dict[Role, list[Path]]] = {}
    skipped = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        kind, why = _kind(path)
        if kind is None:
            skipped.append(Skipped(str(path), why))
            continue
        groups.setdefault((path.parent, path.stem), {}).setdefault(kind, []).append(path)
    sets = []
    for (parent, stem), kinds in groups.items():
        name = str((parent / stem).relative_to(folder))
        videos, images, audios = (kinds.get(role, []) for role in Role)
        if len(videos) > 1 or len(images) > 1 or len(audios) > 1:
            files = ", ".join(p.name for group in kinds.values() for p in group)
            sets.append(SourceSet(name, problem=f"the files {files} share a name, so which go together is unclear; "
                                                "rename them so each set has its own name"))
        elif videos:
            if images:  # a video is a set of its own; the image beside it is a second one
                sets.append(SourceSet(f"{name} (image)", image=str(images[0]),
                                      problem="an image needs a voice audio of the same name"))
            sets.append(SourceSet(name, video=str(videos[0]), audio=str(audios[0]) if audios else None))
        elif images and audios:
            sets.append(SourceSet(name, image=str(images[0]), audio=str(audios[0])))
        elif images:
            sets.append(SourceSet(name, image=str(images[0]),
                                  problem=f"an image needs a voice audio of the same name ({stem}.wav, .mp3, ...)"))
        else:
            sets.append(SourceSet(name, audio=str(audios[0]),
                                  problem=f"a voice audio needs an image ({stem}.jpg, .png, ...) or a video of the same name"))
    return sets, skipped


def _kind(path: Path) -> tuple[Role | None, str]:
    """The file's role from its streams, as ``check`` infers it (never from its name: an MP4 named
    .wav is a video, an AVIF photo an image), or None and why it is skipped."""
    try:
        return probe(path).role, ""
    except InputError as exc:
        return None, f"not readable media ({str(exc).removeprefix(f'{path}: ')})"


def _in_manifest(manifest: Path) -> list[SourceSet]:
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{manifest}: cannot read the manifest ({exc})") from None
    if rows and not {role.value for role in Role} & set(rows[0]):
        raise UsageError(f"{manifest}: the header must name columns video, image and/or audio (and name)")
    sets = []
    for number, row in enumerate(rows, start=2):
        given = {role: _resolve(manifest.parent, (row.get(role.value) or "").strip()) for role in Role}
        name = (row.get("name") or "").strip() or Path(next((v for v in given.values() if v), f"row {number}")).stem
        problem = None
        if not given[Role.VIDEO] and not (given[Role.IMAGE] and given[Role.AUDIO]):
            problem = f"row {number} needs a video, or an image and an audio"
        sets.append(SourceSet(name, given[Role.VIDEO], given[Role.IMAGE], given[Role.AUDIO], problem))
    return sets


def _resolve(base: Path, value: str) -> str | None:
    if not value:
        return None
    return value if is_url(value) else str(base / value)


# -- checking ------------------------------------------------------------------------------------


def cache_key(sources: SourceSet, policy: Policy) -> str | None:
    """What makes a result reusable: the bytes of each source, the policy, and what judged them
    (preflight's, FFmpeg's and the judging libraries' versions, the model files' digest).
    None for sets with URLs, whose bytes are only known after a download."""
    if any(is_url(p) for p in sources.given.values()):
        return None
    try:
        content = {role.value: sha256_of(path) for role, path in sources.given.items()}
    except OSError:
        return None
    whole = json.dumps([content, policy.model_dump(mode="json"), judges(), SCHEMA_VERSION], sort_keys=True)
    return hashlib.sha256(whole.encode()).hexdigest()


def run(
    sets: list[SourceSet],
    policy: Policy,
    *,
    jobs: int,
    time_limit: float = TIME_LIMIT_S,
    ledger: Ledger | None = None,
    use_cache: bool = True,
) -> Iterator[Result]:
    """Check every set; yield each result as it is known (cached ones first), in no fixed order.

    With a ``ledger`` results are stored, and read back when ``use_cache``. Closing the
    iterator (Ctrl-C included) stops the workers.
    """
    todo: list[_Task] = []
    for s in sets:
        if s.problem:
            yield Result(s, _single(s, "source_set", Status.FAIL, s.problem, policy,
                                    "put each avatar's files side by side under one name"))
            continue
        key = cache_key(s, policy) if ledger else None
        hit = _cached(ledger, key) if ledger and key and use_cache else None
        if hit:
            yield Result(s, hit[0], hit[1], cached=True)
        else:
            todo.append((s, key))
    if not todo:
        return
    with _Pool(min(jobs, len(todo)), policy, time_limit) as pool:
        for (s, key), outcome in pool.map(todo):
            result = outcome if isinstance(outcome, Result) else Result(s, _single(s, "check", Status.ERROR, outcome, policy))
            if ledger and key and result.outcome != "error":
                ledger.store_checked(key, result.report.model_dump_json(), _pack(result.evidence))
            yield result


def _cached(ledger: Ledger, key: str) -> tuple[Report, list[Evidence]] | None:
    """A stored result, or None when there is none or it no longer reads as a report (checked again)."""
    hit = ledger.checked(key)
    if hit is None:
        return None
    try:
        return Report.model_validate_json(hit[0]), _unpack(hit[1])
    except (ValueError, zlib.error):
        return None


def _single(s: SourceSet, check_id: str, status: Status, message: str, policy: Policy, fix: str | None = None) -> Report:
    source = ", ".join(s.given.values()) or s.name
    reason = "source_set.incomplete" if check_id == "source_set" else "check.error"
    check = Check(id=check_id, source=source, status=status, reason=reason, value=None, message=message,
                  fix=fix or "check this set alone with `preflight check` to see more")
    return Report.judge([], [check], policy, name=s.name)


def _pack(evidence: list[Evidence]) -> bytes:
    return zlib.compress(json.dumps([e.model_dump(mode="json") for e in evidence]).encode())


def _unpack(blob: bytes) -> list[Evidence]:
    return [Evidence.model_validate(e) for e in json.loads(zlib.decompress(blob))]


class _Pool:
    """Worker processes fed one set at a time over a pipe, watched for crashes and time limits."""

    def __init__(self, jobs: int, policy: Policy, time_limit: float) -> None:
        self._context = multiprocessing.get_context("spawn")  # no fork of a process with model threads
        self._policy = policy.model_dump_json()
        self._time_limit = time_limit
        self._workers = [self._start() for _ in range(max(1, jobs))]

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_work, args=(theirs, self._policy), daemon=True)
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def map(self, tasks: list[_Task]) -> Iterator[tuple[_Task, Result | str]]:
        """Each task (a set and its cache key) with its result, or with why it has none."""
        waiting = list(tasks)
        while waiting or any(w.task for w in self._workers):
            for worker in self._workers:
                if worker.task is None and waiting:
                    worker.give(waiting.pop(0))
            busy = [w for w in self._workers if w.task]
            ready = multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], 0.2)
            now = time.monotonic()
            for i, worker in enumerate(self._workers):
                if worker.task is None:
                    continue
                task = worker.task
                if worker.conn in ready:
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):
                        message = None
                    if message is not None:
                        worker.task = None
                        yield task, _result(task[0], message, now - worker.started)
                        continue
                if not worker.process.is_alive() or worker.conn in ready:
                    code = worker.process.exitcode
                    worker.stop()
                    self._workers[i] = self._start()
                    yield task, f"the checker crashed on this set (exit code {code}); it may be a corrupt file"
                elif now - worker.started > self._time_limit:
                    worker.stop()
                    self._workers[i] = self._start()
                    yield task, f"checking took longer than {self._time_limit:g} s and was stopped"

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self._workers:
            worker.stop(gently=True)


@dataclass
class _Worker:
    process: Any
    conn: Any
    task: _Task | None = None
    started: float = 0.0

    def give(self, task: _Task) -> None:
        self.task, self.started = task, time.monotonic()
        self.conn.send(task[0])

    def stop(self, gently: bool = False) -> None:
        if gently and self.process.is_alive() and self.task is None:
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


def _result(s: SourceSet, message: tuple[str, ...], seconds: float) -> Result | str:
    if message[0] == "error":
        return message[1]
    _, report, evidence = message
    return Result(s, Report.model_validate_json(report), [Evidence.model_validate(e) for e in json.loads(evidence)],
                  seconds=round(seconds, 3))


def _work(conn: Any, policy_json: str) -> None:
    """A worker: check the sets it is sent until it is sent None. Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _quiet_native_output()
    from preflight.pipeline import inspect

    policy = Policy.model_validate_json(policy_json)
    while (sources := conn.recv()) is not None:
        try:
            report, evidence = inspect(policy=policy, **{role.value: path for role, path in sources.given.items()})
            report = report.model_copy(update={"name": sources.name})
            conn.send(("ok", report.model_dump_json(), json.dumps([e.model_dump(mode="json") for e in evidence])))
        except PreflightError as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - one set's bug must not end the batch
            conn.send(("error", f"the check broke: {type(exc).__name__}: {exc}"))


def _quiet_native_output() -> None:
    """mediapipe and TFLite write to fd 2 from native code; a batch's terminal is for progress."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)

