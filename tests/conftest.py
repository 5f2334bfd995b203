"""Shared test fixtures: generated media (fixtures/out), the labelled real media (../shared/media)
and a cache of reports so each set of fixtures is analysed once per run (once in all of the run's
pytest-xdist processes)."""

from __future__ import annotations

import csv
import fcntl
import functools
import hashlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# The suite's processes run checks as the console script's do: numpy's BLAS on one thread and its
# arrays in ordinary pages (preflight.process.single_threaded_blas and small_pages_for_arrays,
# which must act before numpy loads, so here by hand).
if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import preflight  # noqa: E402
from preflight.report import Report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "out"
SHARED_MEDIA = ROOT.parent / "shared" / "media"


def pytest_sessionstart(session: pytest.Session) -> None:
    # Makes only what is missing, so a fixture added to the script appears without a rebuild. Under
    # pytest-xdist (-n) the controller makes them before its workers start; a worker does not.
    if "PYTEST_XDIST_WORKER" not in os.environ:
        subprocess.run([sys.executable, str(ROOT / "fixtures" / "make_fixtures.py")], check=True)
    # A suite started in the background (`cmd &` in a script) ignores Ctrl-C, and so would every
    # preflight it starts: the tests that interrupt a batch need it heard.
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def fixture_path():
    def path(name: str) -> Path:
        p = FIXTURES / name
        assert p.exists(), f"missing fixture {name}: run fixtures/make_fixtures.py"
        return p

    return path


@pytest.fixture
def fixture_folder(fixture_path):
    """A folder ``tmp/clips`` of fixture copies: ``{"ada.png": "face.png", ...}`` (name there: fixture)."""
    def make(tmp_path: Path, files: dict[str, str]) -> Path:
        folder = tmp_path / "clips"
        folder.mkdir()
        for target, source in files.items():
            shutil.copy(fixture_path(source), folder / target)
        return folder

    return make


@functools.cache
def _inspected(files: tuple[str, ...], roles: tuple[tuple[str, str], ...], store: Path) -> tuple[Report, list]:
    """The report and pictures of one set of fixtures, made by the first process of the run that
    asks (the others wait for it on a lock, then read its pickle)."""
    from preflight.pipeline import inspect
    from preflight.sources import Sources

    key = hashlib.sha256(repr((files, roles)).encode()).hexdigest()[:20]
    done = store / f"{key}.pickle"
    with (store / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return pickle.loads(done.read_bytes())
        result = inspect(Sources(files, **dict(roles)), policy=preflight.Policy(), evidence=True)
        part = done.with_suffix(".part")
        part.write_bytes(pickle.dumps(result))
        part.replace(done)
        return result


@pytest.fixture(scope="session")
def _report_store(tmp_path_factory) -> Path:
    """A folder all of the run's processes share: under pytest-xdist each has its own base
    temporary folder, inside one folder of the run's."""
    base = tmp_path_factory.getbasetemp()
    store = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "reports"
    store.mkdir(exist_ok=True)
    return store


def _of_fixtures(names: tuple[str, ...], roles: dict[str, str], store: Path) -> tuple[Report, list]:
    return _inspected(tuple(str(FIXTURES / n) for n in names),
                      tuple(sorted((role, str(FIXTURES / n)) for role, n in roles.items())), store)


@pytest.fixture(scope="session")
def report_of(_report_store):
    """report_of("talking_head.mp4") or report_of(image="face.png", audio="speech.wav"): each set
    of fixtures checked once per run (with the pictures of ``inspected_of``, from the same check)."""
    return lambda *names, **roles: _of_fixtures(names, roles, _report_store)[0]


@pytest.fixture(scope="session")
def inspected_of(_report_store):
    """inspected_of("cut.mp4"): the report and the pictures of what the checks saw, as
    ``preflight.pipeline.inspect`` returns them; one check per set of fixtures, shared with ``report_of``."""
    return lambda *names, **roles: _of_fixtures(names, roles, _report_store)


def check_of(report: Report, check_id: str, source: str | None = None):
    found = [c for c in report.checks if c.id == check_id and (source is None or c.source.endswith(source))]
    assert len(found) == 1, f"expected one {check_id} check, got {[c.id for c in report.checks]}"
    return found[0]


@dataclass(frozen=True)
class Label:
    file: str
    kind: str
    verdict: str
    must_flag: frozenset[str]


def shared_labels() -> list[Label]:
    labels = SHARED_MEDIA / "labels.csv"
    if not labels.exists():
        return []
    with labels.open(newline="") as f:
        return [
            Label(row["file"], row["kind"], row["verdict"], frozenset(filter(None, row["must_flag"].split(";"))))
            for row in csv.DictReader(f)
        ]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The console script in a new process, as a user runs it."""
    exe = Path(sys.executable).with_name("preflight")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=300
    )


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: bytes | None = None) -> Ran:
    """A command line run in this process (``preflight.cli.run``), as ``run_cli`` runs it in a new
    one: the same exit code and the same text on stdout and stderr. The environment, the working
    directory, the streams and the logging it sets are put back afterwards."""
    import contextlib
    import io
    import logging

    from preflight.cli import run

    class _Stdin(io.TextIOWrapper):
        def isatty(self) -> bool:
            return False

    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("preflight")
    logged = (logger.handlers[:], logger.level, logger.propagate)
    saved_env, saved_cwd, saved_stdin = dict(os.environ), os.getcwd(), sys.stdin
    handler = signal.getsignal(signal.SIGINT)
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin = _Stdin(io.BytesIO(stdin or b""))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = run([str(a) for a in args])
            except SystemExit as exc:  # click's shell completion exits on its own
                code = exc.code if isinstance(exc.code, int) else 0
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        sys.stdin = saved_stdin
        logger.handlers[:], logger.level, logger.propagate = logged
        signal.signal(signal.SIGINT, handler)
    return Ran(code, out.getvalue(), err.getvalue())


class _PoolHere:
    """``batch``'s pool in this process: each set checked by :func:`~preflight.batch.pool.check_set`
    (what a worker runs) and handed back through the same JSON as a worker's answer, one at a
    time, with this session's models. For tests of what a batch does with its outcomes; the worker
    processes themselves (crashes, time limits, Ctrl-C) are tested with the real pool."""

    def __init__(self, jobs: int, policy: preflight.Policy, time_limit: float) -> None:
        self.policy = policy

    def map(self, tasks):
        import time

        from preflight.batch.pool import check_set, done

        for task in tasks:
            started = time.monotonic()
            yield task, done(check_set(task[0], self.policy), time.monotonic() - started)

    def __enter__(self) -> _PoolHere:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.fixture
def pool_here(monkeypatch):
    """``preflight batch`` checks its sets in this process (:class:`_PoolHere`), not in new ones."""
    import preflight.batch

    monkeypatch.setattr(preflight.batch, "Pool", _PoolHere)


@pytest.fixture
def mosaic_api(monkeypatch, tmp_path):
    """A fresh stand-in of the Mosaic API, reached through MOSAIC_BASE_URL as the real one would
    be, with the key in MOSAIC_API_KEY and the ledger in a temporary PREFLIGHT_HOME."""
    from standin import StandIn

    server = StandIn(api_key="mk_live_5ecret_do_not_show").start()
    monkeypatch.setenv("MOSAIC_API_KEY", server.api_key)
    monkeypatch.setenv("MOSAIC_BASE_URL", server.url)
    monkeypatch.setenv("PREFLIGHT_HOME", str(tmp_path / "home"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def web():
    """A web server with the fixtures under /files/ and broken links beside them."""
    from fileserver import FileServer

    server = FileServer(FIXTURES).start()
    yield server
    server.stop()
