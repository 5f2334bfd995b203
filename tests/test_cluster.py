"""`batch --cluster` on a real Dask cluster: a `dask scheduler` and two `dask worker` processes
(one thread each, under their nannies) on 127.0.0.1, started once for the module (the tests
that use it are ``slow``).

The workers import, through PYTHONPATH, this worktree's preflight (whatever checkout the venv's
editable install names) and this test module, so that functions and plugins defined here can run
on them.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, Ran, cli, run_cli
from preflight.batch.cluster import STARTED

distributed = pytest.importorskip("distributed")

DASK = Path(sys.executable).with_name("dask")
WAIT_S = 60.0


@dataclass
class Lab:
    address: str
    client: distributed.Client
    env: dict[str, str]
    logs: Path
    scheduler: subprocess.Popen

    def worker(self, name: str, **env: str) -> subprocess.Popen:
        """A `dask worker` (a nanny and its worker process), in a session of its own."""
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen([str(DASK), "worker", self.address, "--name", name, "--nthreads", "1",
                                 "--host", "127.0.0.1", "--no-dashboard"],
                                env={**self.env, **env}, stdout=log, stderr=log, start_new_session=True)

    def workers(self, count: int = 2) -> dict[str, tuple[str, int]]:
        """Once ``count`` workers are up: each one's name -> (address, pid of its worker process)."""
        self.client.wait_for_workers(count, timeout=WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while len(found := self.client.run(_identity)) != count and time.monotonic() < deadline:
            time.sleep(0.2)  # a worker leaving is seen by the scheduler a moment later
        return {name: (address, pid) for address, (name, pid) in found.items()}

    def starts(self) -> list[dict]:
        """Every set a worker started so far, as announced (id, name, worker)."""
        return [message for _, message in self.client.get_events(STARTED)]

    def batch(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        return cli("batch", *args, "--cluster", self.address, env=env)


def _identity(dask_worker) -> tuple[str, int]:
    return dask_worker.name, os.getpid()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    logs = tmp_path_factory.mktemp("dask-logs")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    env.pop("MOSAIC_API_KEY", None)
    log = (logs / "scheduler.log").open("ab")
    address = f"tcp://127.0.0.1:{port}"
    processes = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                  env=env, stdout=log, stderr=log, start_new_session=True)]
    client = None
    try:
        deadline = time.monotonic() + WAIT_S
        while client is None:
            try:
                client = distributed.Client(address, timeout=5, set_as_default=False)
            except OSError:
                if time.monotonic() > deadline or processes[0].poll() is not None:
                    raise
                time.sleep(0.2)
        lab = Lab(address, client, env, logs, processes[0])
        processes += [lab.worker("w0"), lab.worker("w1")]
        lab.workers()
        yield lab
    finally:
        if client is not None:
            try:  # the scheduler may be gone (the last test kills it): closing can then time out
                client.close(timeout=2)
            except TimeoutError:
                pass
        for process in reversed(processes):
            _stop(process)


def _reports(path: Path) -> dict[str, dict]:
    """The JSONL's reports by name, without the time each check took."""
    found = {}
    for line in path.read_text().splitlines():
        report = json.loads(line)
        for check in report["checks"]:
            check.pop("seconds")
        found[report["name"]] = report
    return found


@pytest.mark.slow
def test_the_workers_run_this_worktree(lab):
    where = lab.client.run(lambda: __import__("preflight").__file__)
    assert len(where) == 2 and all(Path(f).is_relative_to(ROOT) for f in where.values())


def _a_set_s_worker() -> dict:
    """On a worker, in a task as a set runs: the profiler and page faults outside and inside the guard."""
    from distributed import get_worker

    from preflight.batch.cluster import _as_a_pool_worker

    def faults() -> int:  # of 100 zeroed 1 MiB buffers, made and freed
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(100):
            bytearray(2**20)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    worker = get_worker()
    profiler, tick = worker.periodic_callbacks["profile"], worker.periodic_callbacks["tick"]
    found = {"trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"), "faults": faults(), "profiling": profiler.is_running(),
             "tick ms": tick.callback_time}
    with _as_a_pool_worker(worker):
        time.sleep(0.2)  # the profiler is stopped on the worker's event loop
        found |= {"faults in a set": faults(), "profiling in a set": profiler.is_running(),
                  "tick ms in a set": tick.callback_time}
    time.sleep(0.2)
    return found | {"profiling after": profiler.is_running(), "tick ms after": tick.callback_time}


@pytest.mark.slow
def test_a_set_runs_on_a_worker_as_on_a_pool_worker(lab):
    found = lab.client.submit(_a_set_s_worker, pure=False).result(timeout=WAIT_S)
    # the nanny's MALLOC_TRIM_THRESHOLD_ has each buffer mmap'd and faulted in anew; not in a set
    assert found["trim"] is not None and found["faults"] > 10_000 and found["faults in a set"] < found["faults"] / 10
    assert (found["profiling"], found["profiling in a set"], found["profiling after"]) == (True, False, True)
    # the lab's workers run Dask's default 20 ms tick, slowed to 1 s while a set runs
    assert (found["tick ms"], found["tick ms in a set"], found["tick ms after"]) == (20, 1000, 20)


@pytest.mark.slow
def test_a_folder_matches_the_local_pool_and_a_cached_rerun_sends_nothing(lab, tmp_path, fixture_folder):
    folder = fixture_folder(tmp_path, {"ada.png": "face.png", "ada.wav": "speech.wav",
                                              "duo.png": "two_faces.png", "duo.wav": "speech.wav"})
    home = {"PREFLIGHT_HOME": str(tmp_path / "home")}
    before = len(lab.starts())
    on_cluster = lab.batch(str(folder), "--jsonl", str(tmp_path / "cluster.jsonl"), env=home)
    local = cli("batch", str(folder), "--jobs", "2", "--no-cache", "--jsonl", str(tmp_path / "local.jsonl"), env=home)
    assert on_cluster.returncode == local.returncode == 1, on_cluster.stderr + local.stderr
    cluster_reports, local_reports = _reports(tmp_path / "cluster.jsonl"), _reports(tmp_path / "local.jsonl")
    assert {r["verdict"] for r in cluster_reports.values()} == {"go", "no-go"}
    # report for report: the same checks, values and messages, and the client's paths, not the workers' copies
    assert cluster_reports == local_reports
    assert cluster_reports["ada"]["sources"][0]["path"] == str(folder / "ada.png")
    assert sorted(s["name"] for s in lab.starts()[before:]) == ["ada", "duo"]

    rerun = lab.batch(str(folder), "--jsonl", str(tmp_path / "again.jsonl"), env=home)
    assert rerun.returncode == 1 and "2 from the cache" in rerun.stdout
    assert len(lab.starts()) == before + 2  # no set was sent again
    assert _reports(tmp_path / "again.jsonl") == cluster_reports


@pytest.mark.slow
def test_a_worker_killed_mid_set_is_retried_elsewhere(lab, tmp_path, fixture_folder):
    folder = fixture_folder(tmp_path, {"bob.mp4": "talking_head.mp4"})
    lines = tmp_path / "r.jsonl"
    pids = {address: pid for address, pid in lab.workers().values()}
    before = len(lab.starts())
    child = subprocess.Popen([str(Path(sys.executable).with_name("preflight")), "batch", str(folder), "--cluster",
                              lab.address, "--jsonl", str(lines)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={**os.environ, "PREFLIGHT_HOME": str(tmp_path / "home")})
    deadline = time.monotonic() + WAIT_S
    while len(lab.starts()) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    first = lab.starts()[before]["worker"]
    os.kill(pids[first], signal.SIGKILL)
    out, err = child.communicate(timeout=120)
    (report,) = _reports(lines).values()
    tries = [s["worker"] for s in lab.starts()[before:]]
    if report["verdict"] == "go":  # it finished on the other worker
        assert child.returncode == 0, err
        assert len(tries) == 2 and tries[1] != first
    else:  # or it is one error row
        assert [c["reason"] for c in report["checks"]] == ["check.error"], report
        assert "crashed" in report["checks"][0]["message"]
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_set_past_the_time_limit_is_an_error_row_and_its_worker_is_restarted(lab, tmp_path, web):
    # The stalled download is a set that hangs on its worker: a thread that cannot be stopped. It is
    # alone: under load a real set's first check on a fresh worker can itself take 3 s. The stall
    # lasts 30 s, so a 1 s limit stops it as surely as a longer one, and sooner.
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"name,video,image,audio\nstalls,{web.url}/stall,,\n")
    workers = lab.workers()
    before = len(lab.starts())
    result = lab.batch(str(manifest), "--time-limit", "1", "--jsonl", str(tmp_path / "r.jsonl"),
                       env={"PREFLIGHT_HOME": str(tmp_path / "home")})
    assert result.returncode == 1, result.stderr
    (stalled,) = _reports(tmp_path / "r.jsonl")["stalls"]["checks"]
    assert (stalled["status"], stalled["reason"]) == ("error", "check.error") and "longer than 1 s" in stalled["message"]
    (where,) = [s["worker"] for s in lab.starts()[before:]]
    after = lab.workers()
    restarted = {name for name, (address, pid) in workers.items() if after[name][1] != pid}
    assert restarted == {name for name, (address, _) in workers.items() if address == where}


class Recorder(distributed.WorkerPlugin):
    """Keeps each preflight task a worker runs, pickled as the worker holds it."""

    name = "recorder"

    def setup(self, worker) -> None:
        self.worker, self.tasks = worker, []

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish == "executing" and str(key).startswith("preflight-"):
            self.tasks.append(pickle.dumps(self.worker.state.tasks[key].run_spec))


def _recorded(dask_worker) -> list[bytes]:
    return dask_worker.plugins["recorder"].tasks


@pytest.mark.slow
def test_submit_creates_each_avatar_once_and_the_key_never_reaches_the_cluster(lab, mosaic_api, tmp_path, fixture_path, fixture_folder):
    # (that a NO-GO set is not submitted is batch's own, tested in test_batch.py)
    folder = fixture_folder(tmp_path, {"ada.png": "face.png", "ada.wav": "speech.wav"})
    lab.client.register_plugin(Recorder())
    try:
        result = lab.batch(str(folder), "--submit")
        tasks = [task for found in lab.client.run(_recorded).values() for task in found]
    finally:
        lab.client.unregister_worker_plugin("recorder")
    assert result.returncode == 0, result.stderr
    (avatar,) = mosaic_api.avatars.values()
    assert avatar["name"] == "ada" and f"ada: avatar {avatar['id']}" in result.stdout
    # the sets went with their bytes, and without the key; nor do the workers have it
    (task,) = tasks
    assert fixture_path("face.png").read_bytes() in task and fixture_path("speech.wav").read_bytes() in task
    assert mosaic_api.api_key.encode() not in task
    assert not any(mosaic_api.api_key in json.dumps(env) for env in lab.client.run(lambda: dict(os.environ)).values())
    again = lab.batch(str(folder), "--submit")
    assert len(mosaic_api.avatars) == 1 and f"ada: avatar {avatar['id']}" in again.stdout


@pytest.mark.slow
def test_a_worker_with_other_model_files_is_refused(lab, tmp_path, fixture_folder):
    # one that joins after the client's check refuses each set itself, naming what differs
    from preflight.batch.cluster import Shipped, check_shipped
    from preflight.version import judges

    shipped = Shipped(0, "late", {}, {}, "{}", {**judges(), "models": "0123456789ab"})
    refused, _ = lab.client.submit(check_shipped, shipped, pure=False).result(timeout=WAIT_S)
    assert "would judge differently: models " in refused.why and "0123456789ab here" in refused.why

    models = tmp_path / "models"
    shutil.copytree(ROOT / "models", models)
    with (models / "silero_vad.onnx").open("ab") as f:
        f.write(b"\0")
    skewed = lab.worker("skewed", PREFLIGHT_MODELS=str(models))
    try:
        address = next(a for name, (a, _) in lab.workers(3).items() if name == "skewed")
        folder = fixture_folder(tmp_path, {"ada.png": "face.png", "ada.wav": "speech.wav"})
        before = len(lab.starts())
        result = lab.batch(str(folder), env={"PREFLIGHT_HOME": str(tmp_path / "home")})
    finally:
        _stop(skewed)
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if "error" in line]
    assert f"worker {address} would judge differently: models " in line and line.count(" there, ") == 1
    assert len(lab.starts()) == before  # nothing was sent


@pytest.mark.slow
@pytest.mark.console
def test_ctrl_c_stops_the_cluster_batch_with_130(lab, tmp_path, fixture_folder):
    # eight sets of 0.6 s on two workers: a worker's start event reaches the client within its 1 s
    # tick, and the interrupt must land while sets are still left
    folder = fixture_folder(tmp_path, {**{f"p{i}.png": "face.png" for i in range(8)},
                                              **{f"p{i}.wav": "speech.wav" for i in range(8)}})
    for i in range(8):  # different bytes, so none comes from another test's cache
        with (folder / f"p{i}.png").open("ab") as f:
            f.write(bytes([20 + i]))
    before = len(lab.starts())
    child = subprocess.Popen([str(Path(sys.executable).with_name("preflight")), "batch", str(folder), "--cluster",
                              lab.address], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PREFLIGHT_HOME": str(tmp_path / "home")})
    deadline = time.monotonic() + WAIT_S
    while len(lab.starts()) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "interrupted" in out and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.console
def test_a_lost_scheduler_stops_the_batch_keeping_what_finished(lab, tmp_path, fixture_folder):
    # The last test on the lab: it kills the scheduler.
    from preflight.batch import cache_key, discover
    from preflight.batch.cache import cached
    from preflight.ledger import Ledger
    from preflight.policy import Policy

    folder = fixture_folder(tmp_path, {**{f"p{i}.png": "face.png" for i in range(4)},
                                              **{f"p{i}.wav": "speech.wav" for i in range(4)}})
    for i in range(4):  # different bytes, so each set is checked on its own
        with (folder / f"p{i}.png").open("ab") as f:
            f.write(bytes([i]))
    lines, home = tmp_path / "r.jsonl", tmp_path / "home"
    child = subprocess.Popen([str(Path(sys.executable).with_name("preflight")), "batch", str(folder), "--cluster",
                              lab.address, "--jsonl", str(lines), "--progress", "none"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PREFLIGHT_HOME": str(home)})
    deadline = time.monotonic() + 120
    while (not lines.exists() or not lines.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    lab.scheduler.kill()
    out, err = child.communicate(timeout=60)
    assert child.returncode == 4, err
    assert err.strip().splitlines() == ["error: the Dask scheduler was lost; what finished is kept: "
                                        "run the batch again to go on from there"]
    kept = _reports(lines)
    assert 1 <= len(kept) < 4 and "(interrupted)" in out
    # what finished is in the cache, which is where a re-run takes it from
    sets, _ = discover(folder)
    with Ledger(home / "ledger.sqlite") as ledger:
        assert {s.name for s in sets if cached(ledger, cache_key(s, Policy()), s, Policy())} == set(kept)


@pytest.mark.console
def test_without_distributed_the_cluster_option_says_how_to_install_it(tmp_path, fixture_folder):
    # a new process, whose PYTHONPATH shadows distributed with a module that cannot be imported
    (tmp_path / "distributed.py").write_text("raise ImportError('not installed')\n")
    folder = fixture_folder(tmp_path, {"ada.png": "face.png", "ada.wav": "speech.wav"})
    result = run_cli("batch", str(folder), "--cluster", "local:2", env={"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --cluster needs Dask distributed, which is not installed: install preflight with its dask extra "
        "(`pipx install --force '.[dask]'` in its checkout; README: Install)"]


@pytest.mark.parametrize("address", ["bogus://host:8786", "scheduler:8786", "local:0"])
def test_an_address_that_is_no_schedulers_is_one_line(tmp_path, fixture_folder, address):
    # distributed raises its own ValueError for an unknown scheme: refused before it is reached
    folder = fixture_folder(tmp_path, {"ada.png": "face.png", "ada.wav": "speech.wav"})
    result = cli("batch", str(folder), "--cluster", address)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: --cluster {address}: give a Dask scheduler's address (tcp://host:8786) or local:N")


def test_a_client_close_that_times_out_still_stops_what_the_client_started(caplog):
    # A scheduler already gone can leave the client's close waiting past its time-out: that must
    # not replace the error the batch stopped with, nor leave the local cluster and the
    # configuration behind. (A real close cannot be made to time out on demand, so the client and
    # the local cluster are stand-ins here; the configuration is dask's own.)
    import dask

    from preflight.batch.cluster import Cluster

    class Closing:
        closed: list[float] = []

        def __init__(self, error: Exception | None = None) -> None:
            self.error = error

        def close(self, timeout: float) -> None:
            self.closed.append(timeout)
            if self.error:
                raise self.error

    cluster = Cluster.__new__(Cluster)
    cluster.sent = cluster.sent_bytes = 0
    cluster._client, cluster._local = Closing(TimeoutError("timed out after 10 s")), Closing()
    cluster._config = dask.config.set({"distributed.admin.tick.interval": "1234s"})
    assert dask.config.get("distributed.admin.tick.interval") == "1234s"
    with caplog.at_level("WARNING", logger="preflight"):
        cluster.__exit__(None, None, None)
    assert Closing.closed == [10, 10]  # the client's close tried, then the local cluster's
    assert dask.config.get("distributed.admin.tick.interval") != "1234s"
    assert "did not close cleanly (timed out after 10 s)" in caplog.text
