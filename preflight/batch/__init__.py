"""Many source sets at once: find them in a folder or a manifest, check them in a pool of worker
processes, and remember the results.

- Discovery: in a folder, a video is a set; an image and an audio with the same stem
  (``ada.jpg`` + ``ada.wav``) are a set; a video and an audio with the same stem are a set of
  both. A manifest CSV names sets row by row (``name,video,image,audio``; paths relative to the
  manifest, or URLs). A file's role comes from its streams, as ``check`` infers it, never from
  its name; files that are not media are skipped with the reason.
- Workers: ``jobs`` processes, each loading the models once and checking set after set. A set
  that crashes its worker or passes ``time_limit`` becomes an ``error`` result; the worker is
  replaced and the batch goes on. Or, with ``cluster``, the workers of a Dask cluster, sent each
  set's bytes (:mod:`preflight.batch.cluster`); everything else here is the same for both.
- Cache: a result is stored in the ledger under the sources' sha256, the policy, the report
  schema and what judged it, so an unchanged set is not checked again.

``discovery`` finds the sets, ``cache`` keys and stores results, ``pool`` runs the workers
(``cluster`` on Dask); this module ties them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from preflight.batch.cache import cache_key, cached, store
from preflight.batch.discovery import Skipped, SourceSet, discover
from preflight.batch.cluster import Cluster
from preflight.batch.pool import Done, Executor, Failed, Pool, Task
from preflight.evidence import Evidence
from preflight.ledger import Ledger
from preflight.policy import Policy
from preflight.report import Check, Outcome, Report, Status
from preflight.version import judges

__all__ = ["Outcome", "Pool", "Result", "Skipped", "SourceSet", "TIME_LIMIT_S", "cache_key", "discover", "finish", "prepare", "run"]

# A 15 s set takes a few seconds; four minutes means the worker is stuck.
TIME_LIMIT_S = 240.0

@dataclass
class Result:
    set: SourceSet
    report: Report
    evidence: list[Evidence] = field(default_factory=list)
    cached: bool = False
    seconds: float = 0.0  # wall time of the check; 0 when none ran (cached, refused, crashed)

    @property
    def outcome(self) -> Outcome:
        return self.report.outcome


def run(
    sets: list[SourceSet],
    policy: Policy,
    *,
    jobs: int,
    time_limit: float = TIME_LIMIT_S,
    ledger: Ledger | None = None,
    use_cache: bool = True,
    cluster: str | None = None,
) -> Iterator[Result]:
    """Check every set; yield each result as it is known (cached ones first), in no fixed order.

    With a ``ledger`` results are stored, and read back when ``use_cache``. ``cluster`` (a Dask
    scheduler's address, or ``local:N``) checks the sets there instead of in ``jobs`` local
    processes; cached sets are never sent. Closing the iterator (Ctrl-C included) stops the
    workers, or cancels what the cluster still had.
    """
    todo: list[Task] = []
    for s in sets:
        known = prepare(s, policy, ledger, use_cache)
        if isinstance(known, Result):
            yield known
        else:
            todo.append(known)
    if not todo:
        return
    executor: Executor = (Cluster(cluster, policy, time_limit) if cluster
                          else Pool(min(jobs, len(todo)), policy, time_limit))
    with executor as pool:
        for task, outcome in pool.map(todo):
            yield finish(task, outcome, policy, ledger)


def prepare(s: SourceSet, policy: Policy, ledger: Ledger | None, use_cache: bool = True) -> Result | Task:
    """A set's result when it is known without a worker (a set that is not one, a cached result),
    else the task to give the pool: the set and its cache key (None without a ledger, or for URLs)."""
    if s.error:
        return Result(s, _single(s, "check", Status.ERROR, s.error, policy,
                                 "export or download the file again; a file cut short or empty cannot be checked"))
    if s.problem:
        return Result(s, _single(s, "source_set", Status.FAIL, s.problem, policy,
                                 "put each avatar's files side by side under one name"))
    key = cache_key(s, policy) if ledger else None
    hit = cached(ledger, key, s, policy) if ledger and key and use_cache else None
    if hit:
        return Result(s, *hit, cached=True)
    return s, key


def finish(task: Task, outcome: Done | Failed, policy: Policy, ledger: Ledger | None) -> Result:
    """The result of a task the pool answered; stored in the ledger under its key unless it is an error."""
    s, key = task
    if isinstance(outcome, Failed):
        result = Result(s, _single(s, "check", Status.ERROR, outcome.why, policy))
    else:
        result = Result(s, outcome.report, outcome.evidence, seconds=outcome.seconds)
    # A broken check may not break again: a report holding one is never kept.
    if ledger and key and all(c.status is not Status.ERROR for c in result.report.checks):
        store(ledger, key, result.report, result.evidence)
    return result


def _single(s: SourceSet, check_id: str, status: Status, message: str, policy: Policy, fix: str | None = None) -> Report:
    source = ", ".join([*s.shown.values(), *s.unreadable]) or s.name
    reason = "source_set.incomplete" if check_id == "source_set" else "check.error"
    check = Check(id=check_id, source=source, status=status, reason=reason, value=None, message=message,
                  fix=fix or "check this set alone with `preflight check` to see more")
    return Report.judge([], [check], policy, judged_by=judges(), name=s.title or s.name)
