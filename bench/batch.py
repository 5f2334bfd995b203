"""How a batch compares with decoding its clips.

Makes 20 different 10 s 1280x720 30 fps H.264 + AAC clips (the fixtures' speaking puppet: the
astronaut photo whose jaw moves with espeak-ng speech, over sensor grain; each its own sentence),
then times, in the same run:

    floor:    ffmpeg -i clip -f null -, for the 20 clips two at a time
    batch:    preflight batch FOLDER --jobs 2 --no-cache   (a fresh ledger)
    again:    preflight batch FOLDER --jobs 2              (everything from the cache)
    cluster:  preflight batch FOLDER --cluster tcp://127.0.0.1:PORT --no-cache, on a `dask scheduler`
              and two `dask worker --nthreads 1` started (and idle) before the clock starts, as
              the README says to start them (``DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s``;
              ``--default-ticks`` leaves Dask's 20 ms)

    worker:   preflight batch FOLDER --jobs 1 --no-cache, its one worker's RSS sampled every 0.1 s,
              beside `preflight check` on one of the clips (3 runs, median)

and prints the wall times, the ratio batch / floor (target <= 1.5), and the cluster's overhead
per set against the local pool, (cluster - batch) / clips (target < 0.2 s), with the bytes the
client sent. Two runs of a few minutes each differ by more than that on a shared machine, so it
also prints the CPU time of every process each run used (the batch and its pool workers; the
client, the scheduler, the nannies and their workers, each shown) and the cluster's extra CPU a
set: the steadier measure of what the cluster costs, and where. ``--no-cluster`` leaves the cluster out.
For the worker it prints the CPU a set (the batch's user + system with its worker, over the clips)
against a single check's (target <= 1.15x: the models are loaded once a worker), and the worker's
RSS: its peak, and its peak over the first and the last quarter of the run (target <= 700 MB after
20 sets, no growth from set to set). ``--worker-only`` runs only that.

    .venv/bin/python bench/batch.py [--clips 20] [--keep DIR] [--no-cluster] [--worker-only]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken"]


def make_clips(folder: Path, count: int) -> list[Path]:
    sys.path.insert(0, str(ROOT / "fixtures"))
    from make_fixtures import speaking_video
    from skimage import data, io

    face = folder / "face.png"
    io.imsave(face, data.astronaut(), check_contrast=False)
    clips = folder / "clips"
    clips.mkdir(exist_ok=True)

    def one(i: int) -> Path:
        speech = folder / f"speech{i}.wav"
        text = (f"Hello, my name is {WORDS[i % len(WORDS)]}. This is take number {i + 1} of my avatar recording, "
                "spoken clearly to the camera in a quiet room, for about ten seconds.")
        subprocess.run(["espeak-ng", "-s", "140", "-w", str(speech), text], check=True)
        clip = clips / f"clip{i:02d}.mp4"
        speaking_video(face, speech, clip, 10.0, fps=30, grain=10)
        return clip

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return list(pool.map(one, range(count)))


def cluster_of_two(logs: Path, env: dict[str, str]) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and two one-thread workers on 127.0.0.1, up and idle: their address and processes."""
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    log = (logs / "dask.log").open("ab")
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                  stdout=log, stderr=log, env=env)]
    processes += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                   stdout=log, stderr=log, env=env) for _ in range(2)]
    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    return address, processes


def wall(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def children_cpu() -> float:
    """CPU seconds of this process's waited-for children (and theirs), user and system."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def processes_cpu(processes: list[subprocess.Popen]) -> dict[str, float]:
    """CPU seconds so far of the running ``processes`` and everything they started (and waited
    for), by role: the first is the scheduler, the others nannies, whose children are workers."""
    import psutil  # distributed's dependency: there whenever the cluster runs

    def cpu(proc: psutil.Process) -> float:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            return 0.0
        return t.user + t.system + t.children_user + t.children_system

    roles = {"scheduler": 0.0, "nannies": 0.0, "workers": 0.0}
    for i, p in enumerate(processes):
        root = psutil.Process(p.pid)
        roles["scheduler" if i == 0 else "nannies"] += cpu(root)
        roles["workers"] += sum(cpu(child) for child in root.children(recursive=True))
    return roles


def worker_rss(cmd: list[str], env: dict[str, str]) -> tuple[float, list[tuple[float, float]]]:
    """Run ``cmd`` (a batch with one worker) and sample its worker's RSS every 0.1 s: (the run's CPU
    seconds with its children, [(seconds since start, worker RSS in MB)])."""
    import psutil

    samples: list[tuple[float, float]] = []
    before = children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        parent = psutil.Process(process.pid)
        while not done.wait(0.1):
            try:
                workers = [c for c in parent.children() if "ffmpeg" not in c.name() and "ffprobe" not in c.name()]
                rss = max((w.memory_info().rss for w in workers), default=0)
            except psutil.Error:
                continue
            if rss:
                samples.append((time.perf_counter() - start, rss / 1e6))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    process.wait()
    done.set()
    sampler.join()
    return children_cpu() - before, samples


def check_cpu(preflight: str, clip: Path, env: dict[str, str], runs: int = 3) -> float:
    """The median CPU seconds (with children) of ``preflight check clip``, after one warm-up."""
    costs = []
    for _ in range(runs + 1):
        before = children_cpu()
        subprocess.run([preflight, "check", str(clip), "--format", "json"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        costs.append(children_cpu() - before)
    return statistics.median(costs[1:])


def print_worker(clips: int, single: float, cpu: float, samples: list[tuple[float, float]]) -> None:
    quarter = max(1, len(samples) // 4)
    rss = [r for _, r in samples]
    print(f"one worker, {clips} sets: CPU {cpu / clips:.2f} s a set, {cpu / clips / single:.2f}x a single check's "
          f"{single:.2f} s (target <= 1.15)")
    if rss:
        print(f"  worker RSS: peak {max(rss):.0f} MB (target <= 700); peak in the first quarter {max(rss[:quarter]):.0f} MB, "
              f"in the last {max(rss[-quarter:]):.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="make the clips in this folder and keep them")
    parser.add_argument("--no-cluster", action="store_true", help="leave out the Dask cluster's run")
    parser.add_argument("--worker-only", action="store_true", help="measure only the one worker's CPU and RSS")
    parser.add_argument("--default-ticks", action="store_true",
                        help="start the scheduler and workers with Dask's 20 ms tick, not the README's 1 s")
    args = parser.parse_args()
    preflight = shutil.which("preflight", path=str(Path(sys.executable).parent)) or "preflight"

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clips = make_clips(folder, args.clips)

        def decode(clip: Path) -> None:
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(clip), "-f", "null", "-"], check=True)

        def floor() -> None:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(decode, clips))

        env = {**os.environ, "PREFLIGHT_HOME": str(Path(tmp) / "home")}
        single = check_cpu(preflight, clips[0], env)
        worker_cpu, samples = worker_rss([preflight, "batch", str(clips[0].parent), "--jobs", "1", "--no-cache"], env)
        if args.worker_only:
            print_worker(args.clips, single, worker_cpu, samples)
            return 0

        def batch(*extra: str) -> str:
            done = subprocess.run([preflight, "-v", "batch", str(clips[0].parent), *extra], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if done.returncode not in (0, 1):
                raise SystemExit(f"preflight batch failed ({done.returncode}):\n{done.stdout}{done.stderr}")
            print(done.stdout.strip().splitlines()[-1 if done.returncode == 0 else -2])
            return done.stderr

        floor()  # warm the page cache
        floor_s = wall(floor)
        cpu = children_cpu()
        batch_s = wall(lambda: batch("--jobs", "2", "--no-cache"))
        batch_cpu = children_cpu() - cpu
        cached_s = wall(lambda: batch("--jobs", "2"))
        if not args.no_cluster:
            ticks = {} if args.default_ticks else {"DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s"}
            address, processes = cluster_of_two(Path(tmp), {**os.environ, **ticks})
            try:
                logged: list[str] = []
                client, roles = children_cpu(), processes_cpu(processes)
                cluster_s = wall(lambda: logged.append(batch("--cluster", address, "--no-cache")))
                spent = {"client": children_cpu() - client,
                         **{k: v - roles[k] for k, v in processes_cpu(processes).items()}}
                cluster_cpu = sum(spent.values())
            finally:
                for process in processes[::-1]:
                    process.terminate()
                    process.wait(30)
            sent = re.search(r"cluster: (\d+) sets sent, (\d+) bytes", logged[0])
    print(f"{args.clips} clips of 10 s 1280x720 30 fps H.264 + AAC, 2 at a time / --jobs 2")
    print_worker(args.clips, single, worker_cpu, samples)
    print(f"decode floor (ffmpeg -f null):   {floor_s:6.2f} s")
    print(f"preflight batch:                 {batch_s:6.2f} s   ratio {batch_s / floor_s:.2f}  (target <= 1.5)"
          f"   CPU {batch_cpu:.1f} s")
    print(f"preflight batch, all cached:     {cached_s:6.2f} s")
    if not args.no_cluster:
        per_set = (cluster_s - batch_s) / args.clips
        print(f"batch --cluster (2 dask workers): {cluster_s:6.2f} s   overhead {per_set:+.3f} s per set  (target < 0.2)"
              f"   CPU {cluster_cpu:.1f} s, {(cluster_cpu - batch_cpu) / args.clips:+.3f} s a set")
        print("  CPU by process: " + ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()))
        if sent:
            count, size = int(sent[1]), int(sent[2])
            print(f"  sent {count} sets, {size / 1e6:.1f} MB ({size / max(count, 1) / 1e6:.2f} MB a set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
