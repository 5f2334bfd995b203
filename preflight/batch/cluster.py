"""Checking a batch's sets on a Dask cluster: the other :class:`~preflight.batch.pool.Executor`.

The client reads each set's files and sends their bytes with its task (URLs go as URLs), so the
workers need no shared filesystem; a worker writes them to a temporary folder of its own, checks
them with :func:`~preflight.batch.pool.check_set` and deletes them. A worker process keeps the
models it loaded (they are cached per process), so it loads them once, like a pool worker.

What stays on the client: discovery, the cache and the ledger, ``--submit`` and the Mosaic key.
Before anything is sent the client compares what judges on each worker (``version.judges()``:
preflight, FFmpeg, the libraries, the model files' digest) with its own, since results are
cached under the client's; a worker that joins later checks each set's copy of it.

Each worker announces a set as it starts it (a Dask event), which is the clock of the time
limit and the count of its tries: a set whose worker died is run again elsewhere by Dask, once;
a third start means it killed two workers, and it becomes an error. The client keeps two sets
per worker out (one running, one queued), so it holds few sets' bytes at a time; an adaptive
cluster therefore sees no queue to grow on: size it yourself.

While it checks a set, a worker process runs as a pool worker does (see :func:`_as_a_pool_worker`):
on a default Dask worker a set cost 15 % more CPU than in the local pool.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import os
import re
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.batch.discovery import SourceSet
from preflight.batch.pool import Checked, Done, Failed, Task, check_set, done
from preflight.download import is_url
from preflight.errors import ClusterError, ClusterLost
from preflight.policy import Policy
from preflight.version import judges

log = logging.getLogger("preflight.batch")

INSTALL = "install preflight with its dask extra (`pipx install --force '.[dask]'` in its checkout; README: Install)"
_LOCAL = re.compile(r"local:([1-9][0-9]*)")
_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://\S+")  # the schemes distributed knows, but its in-process one
STARTED = "preflight-started"  # the event topic on which a worker announces each set it starts
CONNECT_S = 20.0
WORKERS_S = 60.0  # how long a cluster may take to bring up its first worker (an adaptive one starts empty)
_POLL_S = 0.5
_RECOUNT_S = 5.0
_TRIES = 2  # a set's first run and Dask's one retry after its worker died
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters (malloc.h)
_MMAP_CEILING = 32 * 2**20  # where glibc's adaptive mmap threshold stops growing, on 64-bit
# Every Dask process wakes 50 times a second to time its own event loop (a diagnostic): about 2 %
# of a core each, measured idle here (scheduler 2.9 %, a nanny 2.9 %, a worker 5.7 % with its
# profiler; at 1 s: 1.0, 1.1 and 1.2 % without the profiler). A batch of two workers on two cores
# lost 0.3-0.6 s a set to them.
TICK_S = 1.0
_GLIBC_DEFAULT = 128 * 2**10  # glibc's mmap and trim thresholds when they do not adapt


def require(address: str) -> None:
    """Refuse an address that is neither a scheduler's nor ``local:N``, or a missing ``distributed``."""
    if not (_LOCAL.fullmatch(address) or _ADDRESS.fullmatch(address)):
        raise ClusterError(f"--cluster {address}: give a Dask scheduler's address (tcp://host:8786) or local:N")
    _distributed()


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--cluster needs Dask distributed, which is not installed: {INSTALL}") from None
    return distributed


@dataclass(frozen=True)
class Shipped:
    """One set as it travels to a worker: each local file as the client's path and its bytes,
    each URL as it is, the policy (a cluster may serve batches with different ones) and what
    judges on the client (a worker that joins after the check must judge alike too)."""

    id: int
    name: str
    files: dict[str, tuple[str, bytes]]
    urls: dict[str, str]
    policy: str
    judges: dict[str, str]

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.files.values()) + len(self.policy)


def check_shipped(shipped: Shipped) -> tuple[Checked | Failed, float]:
    """On a worker: announce the set, write its bytes to a temporary folder, check it, delete them."""
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(STARTED, {"id": shipped.id, "name": shipped.name, "worker": worker.address})
    if differs := _differences(judges(), shipped.judges):
        return Failed(_skewed(worker.address, differs)), 0.0
    started = time.perf_counter()
    with _as_a_pool_worker(worker), tempfile.TemporaryDirectory(prefix="preflight-") as tmp:
        given, names = dict(shipped.urls), {}
        for role, (original, data) in shipped.files.items():
            path = Path(tmp) / role / Path(original).name  # the file's own name: messages name it
            path.parent.mkdir()
            path.write_bytes(data)
            given[role], names[str(path)] = str(path), original
        outcome = check_set(SourceSet(shipped.name, **given), Policy.model_validate_json(shipped.policy), names)
    return outcome, time.perf_counter() - started


@contextlib.contextmanager
def _as_a_pool_worker(worker: Any) -> Iterator[None]:
    """For one set, what a Dask worker process does differently from a pool worker is undone
    (measured a set at a time beside a pool worker, 6 sets each, CPU of the whole process):

    - Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, which also stops glibc's
      mmap threshold from adapting: every decoded frame buffer was mmap'd, faulted in page by
      page and unmapped again (5 times the pool's page faults; 0.8 s more CPU a set). For the
      set, the thresholds are where glibc's adaptive ones end up; after it they are put back and
      the freed memory is returned to the system, as Dask wants.
    - Its statistical profiler samples the task's thread every 10 ms (2 % of a core even while
      idle; 0.4 s more CPU a set). A check's work is in native code and threads it does not see.
    - Its event loop's tick (see ``TICK_S``) runs once a second instead of every 20 ms; the
      dashboard's event-loop interval then reads 1 s, which is what it is.
    """
    libc = _glibc() if "MALLOC_TRIM_THRESHOLD_" in os.environ else None  # unset, glibc adapts by itself
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_CEILING)
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_CEILING)
    profiler = worker.periodic_callbacks.get("profile")
    paused = profiler is not None and profiler.is_running()
    if paused:
        worker.loop.add_callback(profiler.stop)  # the callbacks belong to the worker's event loop
    tick = worker.periodic_callbacks.get("tick")
    every = tick.callback_time if tick is not None else None
    if tick is not None:
        tick.callback_time = max(every, 1000 * TICK_S)  # read when it next schedules itself
    try:
        yield
    finally:
        if tick is not None:
            tick.callback_time = every
        if paused:
            worker.loop.add_callback(profiler.start)
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, _environ_bytes("MALLOC_MMAP_THRESHOLD_"))
            libc.mallopt(_M_TRIM_THRESHOLD, _environ_bytes("MALLOC_TRIM_THRESHOLD_"))
            libc.malloc_trim(0)


def _glibc() -> Any:
    """The C library, if it is glibc (mallopt and malloc_trim), else None."""
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def _environ_bytes(name: str) -> int:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return _GLIBC_DEFAULT


def _differences(theirs: dict[str, str], mine: dict[str, str]) -> list[str]:
    return [f"{k} {theirs.get(k, 'missing')} there, {v} here" for k, v in mine.items() if theirs.get(k) != v]


def _skewed(worker: str, differs: list[str]) -> str:
    return (f"worker {worker} would judge differently: {'; '.join(differs)}; "
            "install the same preflight, FFmpeg and model files there as here")


def _describe(dask_worker: Any) -> dict[str, Any]:
    """On each worker, for the version check: what judges there, and its threads."""
    return {"judges": judges(), "threads": dask_worker.state.nthreads}


class Cluster:
    """Sets checked on a Dask cluster (``tcp://host:8786``, or ``local:N`` local worker processes)."""

    def __init__(self, address: str, policy: Policy, time_limit: float) -> None:
        distributed = _distributed()
        self._policy = policy.model_dump_json()
        self._time_limit = time_limit
        self._batch = uuid.uuid4().hex[:8]  # task keys of one batch, apart from other clients'
        self._starts: collections.Counter[int] = collections.Counter()
        self._running_on: dict[int, tuple[float, str]] = {}  # set -> when it last started, and where
        self.sent = self.sent_bytes = 0
        self._local = None
        # This process's own ticks (the client's, and a local cluster's scheduler and workers,
        # which are started with this configuration) go once a second; see TICK_S.
        import dask

        self._config = dask.config.set({"distributed.admin.tick.interval": f"{TICK_S:g}s"})
        try:
            if found := _LOCAL.fullmatch(address):
                # no dashboard (it needs bokeh, and a port); one thread a worker, as the check below wants
                self._local = distributed.LocalCluster(n_workers=int(found[1]), threads_per_worker=1, processes=True,
                                                       dashboard_address=None, silence_logs=logging.ERROR)
            self._client = distributed.Client(self._local or address, timeout=CONNECT_S)
        except OSError as exc:  # a refused connection, or none within the time-out
            self._close_local()
            raise ClusterError(f"{address}: cannot reach the Dask scheduler ({exc})") from None
        try:
            self._compatible(address)
            self._client.subscribe_topic(STARTED, self._started)
        except BaseException:
            self.__exit__()
            raise

    def _compatible(self, address: str) -> None:
        """Refuse a cluster with no worker, or one that would judge differently from this client."""
        try:
            self._client.wait_for_workers(1, timeout=WORKERS_S)
        except TimeoutError:
            raise ClusterError(f"{address}: no Dask worker joined within {WORKERS_S:g} s") from None
        workers = self._client.run(_describe)
        for worker, found in sorted(workers.items()):
            if differs := _differences(found["judges"], judges()):
                raise ClusterError(_skewed(worker, differs))
            if found["threads"] != 1:
                raise ClusterError(f"worker {worker} runs {found['threads']} threads; start workers with "
                                   "`dask worker --nthreads 1` (a set's checks already use the cores; use --nworkers)")

    def _started(self, event: tuple[float, dict[str, Any]]) -> None:
        """A worker started a set (called on the client's event loop thread)."""
        message = event[1]
        self._starts[message["id"]] += 1
        self._running_on[message["id"]] = (time.monotonic(), message["worker"])

    def map(self, tasks: list[Task]) -> Iterator[tuple[Task, Done | Failed]]:
        """Each task with its outcome, as they finish; two sets per worker out at a time."""
        from distributed import KilledWorker, wait

        waiting = collections.deque(enumerate(tasks))
        out: dict[Any, tuple[int, Task]] = {}
        workers, counted = 0, -_RECOUNT_S
        try:
            while waiting or out:
                if time.monotonic() - counted > _RECOUNT_S:  # workers come and go; asking is a round trip
                    workers, counted = len(self._client.nthreads()), time.monotonic()
                while waiting and len(out) < 2 * max(workers, 1):
                    i, task = waiting.popleft()
                    try:
                        shipped = self._ship(i, task[0])
                    except OSError as exc:
                        yield task, Failed(f"cannot read {exc.filename}: {exc.strerror}")
                        continue
                    out[self._submit(shipped)] = (i, task)
                try:
                    finished = wait(list(out), timeout=_POLL_S, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    finished = set()
                for future in finished:
                    i, task = out.pop(future)
                    if future.status == "finished":
                        yield task, done(*future.result())
                    elif isinstance(future.exception(), KilledWorker):
                        yield task, Failed.crashed("its workers died")
                    else:  # the task itself raised, twice (e.g. no room for the files on a worker)
                        error = future.exception()
                        yield task, Failed(f"the cluster could not check it: {type(error).__name__}: {error}")
                yield from self._stopped(out)
        # Only the client's loss of the scheduler cancels the futures; a round trip to it (or a
        # fetch of a result from a worker going down with it) then fails with a closed connection
        # (distributed's CommClosedError is an OSError). A local file that cannot be read is
        # caught where it is read, above.
        except (CancelledError, OSError):
            raise ClusterLost("the Dask scheduler was lost; what finished is kept: "
                              "run the batch again to go on from there") from None
        finally:
            for future in out:
                future.cancel()

    def _ship(self, i: int, s: SourceSet) -> Shipped:
        files = {role.value: (path, Path(path).read_bytes()) for role, path in s.given.items() if not is_url(path)}
        urls = {role.value: path for role, path in s.given.items() if is_url(path)}
        return Shipped(i, s.name, files, urls, self._policy, judges())

    def _submit(self, shipped: Shipped) -> Any:
        self.sent += 1
        self.sent_bytes += shipped.size
        with warnings.catch_warnings():
            # The bytes go in the task on purpose: the scheduler keeps them to run it again elsewhere
            # if its worker dies (data scattered to that worker would die with it).
            warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
            # retries: an exception outside the check (a worker's full disk) is tried once more
            return self._client.submit(check_shipped, shipped, key=f"preflight-{self._batch}-{shipped.id}",
                                       retries=1, pure=False)

    def _stopped(self, out: dict[Any, tuple[int, Task]]) -> Iterator[tuple[Task, Failed]]:
        """The sets stopped for running past the time limit (their worker is restarted) or for
        having started a third time (two workers died on them)."""
        now = time.monotonic()
        for future, (i, task) in list(out.items()):
            started, worker = self._running_on.get(i, (now, ""))
            if self._starts[i] > _TRIES:
                del out[future]
                future.cancel()
                yield task, Failed.crashed("two workers died on it")
            elif now - started > self._time_limit:
                del out[future]
                future.cancel()
                self._restart(worker)
                yield task, Failed.too_slow(self._time_limit)

    def _restart(self, worker: str) -> None:
        """A worker stuck on a set is restarted: its thread cannot be stopped any other way."""
        status = self._client.restart_workers([worker], raise_for_error=False).get(worker)
        if status != "OK":
            log.warning("worker %s, stuck on a set past the time limit, could not be restarted (%s); "
                        "run workers under a nanny (the `dask worker` default)", worker, status)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        log.info("cluster: %d sets sent, %d bytes", self.sent, self.sent_bytes)
        try:
            self._client.close(timeout=10)
        except (TimeoutError, OSError) as err:  # a scheduler already gone can leave the close waiting
            log.warning("cluster: the client did not close cleanly (%s)", err or type(err).__name__)
        finally:
            self._close_local()

    def _close_local(self) -> None:
        """Stop what this client started: a local cluster, and its own configuration."""
        if self._local is not None:
            self._local.close(timeout=10)
        self._config.__exit__(None, None, None)
