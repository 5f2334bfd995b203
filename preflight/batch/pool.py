"""The worker processes: each loads the models once and checks the sets it is sent, one at a
time over a pipe; the pool watches them for crashes and for the time limit.

:class:`Executor` is what ``batch.run`` needs of a pool; :mod:`preflight.batch.cluster` is the
other one, on Dask. Both check a set with :func:`check_set`."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from preflight.batch.discovery import SourceSet
from preflight.errors import PreflightError
from preflight.evidence import Evidence
from preflight.policy import Policy
from preflight.process import limit_malloc_arenas
from preflight.report import Report

Task = tuple[SourceSet, "str | None"]  # a set and its cache key


@dataclass(frozen=True)
class Checked:
    """A worker's answer for a set it checked (JSON, as it crosses the pipe)."""

    report: str
    evidence: str


@dataclass(frozen=True)
class Failed:
    """A worker's answer for a set it could not check, or the pool's for a worker that died."""

    why: str

    @classmethod
    def crashed(cls, how: str) -> Failed:
        return cls(f"the checker crashed on this set ({how}); it may be a corrupt file")

    @classmethod
    def too_slow(cls, time_limit: float) -> Failed:
        return cls(f"checking took longer than {time_limit:g} s and was stopped")

    @classmethod
    def not_started(cls, time_limit: float) -> Failed:
        return cls(f"the checker process did not start within {time_limit:g} s (a machine too busy, or a broken"
                   " install: try `preflight check` on one file)")


@dataclass(frozen=True)
class Done:
    """A set's outcome as the pool hands it back."""

    report: Report
    evidence: list[Evidence]
    seconds: float


class Executor(Protocol):
    """Runs a batch's sets somewhere (local processes, a cluster) and hands back their outcomes."""

    def map(self, tasks: list[Task]) -> Iterator[tuple[Task, Done | Failed]]: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


# What a worker sends once it has loaded the checking code, before it reads its first set: a set's
# time limit counts from then, so a worker started afresh (after a crash or a stopped set) does not
# spend the next set's time on its imports.
READY = "ready"


class Pool:
    """Worker processes fed one set at a time over a pipe, watched for crashes and time limits.

    A batch calls :meth:`map`; a long-running caller (``preflight serve``) calls :meth:`submit`
    and :meth:`poll`, from one thread: the pool is not thread-safe."""

    def __init__(self, jobs: int, policy: Policy, time_limit: float, *,
                 worker: Callable[[Any, str], None] | None = None) -> None:
        """``worker``: what each process runs (a module-level function of a pipe end and the
        policy's JSON), :func:`_work` unless given."""
        self._context = multiprocessing.get_context("spawn")  # no fork of a process with model threads
        self._policy = policy.model_dump_json()
        self._time_limit = time_limit
        self._target = worker or _work
        self._waiting: list[Task] = []
        self._workers = [self._start() for _ in range(max(1, jobs))]

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=self._target, args=(theirs, self._policy), daemon=True)
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def map(self, tasks: list[Task]) -> Iterator[tuple[Task, Done | Failed]]:
        """Each task (a set and its cache key) with its outcome, or with why it has none."""
        for task in tasks:
            self.submit(task)
        while self.pending:
            yield from self.poll(0.2)

    def submit(self, task: Task) -> None:
        """Queue a task; :meth:`poll` hands it to the first idle worker."""
        self._waiting.append(task)

    @property
    def pending(self) -> int:
        """Tasks queued or on a worker."""
        return len(self._waiting) + len(self.running)

    @property
    def running(self) -> list[Task]:
        """The tasks on a worker now."""
        return [w.task for w in self._workers if w.task is not None]

    def poll(self, timeout: float) -> list[tuple[Task, Done | Failed]]:
        """Give queued tasks to idle workers, wait up to ``timeout`` s for answers, and return the
        tasks finished since: checked, failed, crashed or stopped at the time limit."""
        for worker in self._workers:
            if worker.task is None and self._waiting:
                worker.give(self._waiting.pop(0))
        busy = [w for w in self._workers if w.task]
        ready = multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout)
        now = time.monotonic()
        finished: list[tuple[Task, Done | Failed]] = []
        for i, worker in enumerate(self._workers):
            if worker.task is None:
                continue
            task = worker.task
            if worker.conn in ready:
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    message = None
                if message == READY:
                    worker.ready, worker.started = True, now
                    continue
                if message is not None:
                    worker.task = None
                    finished.append((task, done(message, now - worker.started)))
                    continue
            if not worker.process.is_alive() or worker.conn in ready:
                code = worker.process.exitcode
                worker.stop()
                self._workers[i] = self._start()
                finished.append((task, Failed.crashed(f"exit code {code}")))
            elif now - worker.started > self._time_limit:
                worker.stop()
                self._workers[i] = self._start()
                why = Failed.too_slow if worker.ready else Failed.not_started
                finished.append((task, why(self._time_limit)))
        return finished

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self._workers:
            worker.stop(gently=True)


@dataclass
class _Worker:
    process: Any
    conn: Any
    task: Task | None = None
    started: float = 0.0  # when its task's clock started: given to a ready worker, or the worker became ready
    ready: bool = False  # it said it has loaded the checking code (its READY read)

    def give(self, task: Task) -> None:
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


def done(message: Checked | Failed, seconds: float) -> Done | Failed:
    """A worker's answer as the executor hands it back."""
    if isinstance(message, Failed):
        return message
    return Done(Report.model_validate_json(message.report),
                [Evidence.model_validate(e) for e in json.loads(message.evidence)], round(seconds, 3))


def _work(conn: Any, policy_json: str) -> None:
    """A worker: check the sets it is sent until it is sent None. Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_malloc_arenas()
    _quiet_native_output()
    policy = Policy.model_validate_json(policy_json)
    import preflight.pipeline  # noqa: F401 - the checking code, loaded before the first set's clock starts

    conn.send(READY)
    while (sources := conn.recv()) is not None:
        conn.send(check_set(sources, policy))


def check_set(sources: SourceSet, policy: Policy, names: dict[str, str] | None = None) -> Checked | Failed:
    """Check one set in this process, as a worker does. Its sources are named as the set shows
    them, or by ``names``, which maps the paths checked to the ones the report should show (a
    cluster worker's copies to the client's files)."""
    from preflight.pipeline import inspect

    names = {sources.given[role]: label for role, label in sources.labels if role in sources.given} | (names or {})
    try:
        report, evidence = inspect(sources.sources, policy=policy, labels=names, name=sources.title or sources.name)
    except PreflightError as exc:
        return Failed(str(exc))  # its sources named by their labels, as they were probed
    except Exception as exc:  # noqa: BLE001 - one set's bug must not end the batch
        return Failed(f"the check broke: {type(exc).__name__}: {exc}")
    return Checked(report.model_dump_json(), json.dumps([e.model_dump(mode="json") for e in evidence]))


def _quiet_native_output() -> None:
    """mediapipe and TFLite write to fd 2 from native code; a batch's terminal is for progress."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)

