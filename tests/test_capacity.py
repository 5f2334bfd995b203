"""batch's and serve's default --jobs, on made-up /proc and /sys trees of containers."""

from pathlib import Path

from conftest import cli

from preflight.batch.capacity import WORKER_BYTES, default_jobs

GB = 1_000_000_000


def _machine(root: Path, *, available: int = 64 * GB, cgroup: str = "0::/\n", files: dict[str, str] | None = None) -> Path:
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/meminfo").write_text(f"MemTotal: 999999999 kB\nMemAvailable: {available // 1024} kB\n")
    (root / "proc/self/cgroup").write_text(cgroup)
    for name, text in (files or {}).items():
        (root / "sys/fs/cgroup" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "sys/fs/cgroup" / name).write_text(text)
    (root / "sys/fs/cgroup").mkdir(parents=True, exist_ok=True)
    return root


def test_a_two_cpu_quota_on_a_64_core_host_starts_two_workers(tmp_path):
    # os.cpu_count() would start 64 workers of about 1.1 GB each in a 2-CPU container
    v2 = _machine(tmp_path / "v2", files={"cpu.max": "200000 100000\n"})
    assert default_jobs(v2, cpus=64) == 2
    v1 = _machine(tmp_path / "v1", cgroup="4:cpu,cpuacct:/docker/abc\n",
                  files={"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "150000\n", "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"})
    assert default_jobs(v1, cpus=64) == 1  # 1.5 CPUs: one worker, not two half-fed ones
    unlimited = _machine(tmp_path / "none", files={"cpu.max": "max 100000\n"})
    assert default_jobs(unlimited, cpus=8) == 8


def test_memory_caps_the_workers_at_one_per_worker_bytes(tmp_path):
    host = _machine(tmp_path / "host", available=int(3.7 * WORKER_BYTES))
    assert default_jobs(host, cpus=64) == 3
    # a cgroup v2 limit of 4 GB of which 1.7 GB is used leaves room for one
    limited = _machine(tmp_path / "v2", cgroup="0::/job\n",
                       files={"job/memory.max": f"{4 * GB}\n", "job/memory.current": f"{int(1.7 * GB)}\n",
                              "job/cgroup.procs": "1\n"})
    assert default_jobs(limited, cpus=64) == 1
    v1 = _machine(tmp_path / "v1", cgroup="5:memory:/\n",
                  files={"memory/memory.limit_in_bytes": f"{6 * GB}\n", "memory/memory.usage_in_bytes": "0\n"})
    assert default_jobs(v1, cpus=64) == 5
    starved = _machine(tmp_path / "starved", available=GB // 2)
    assert default_jobs(starved, cpus=4) == 1  # never none


def test_a_machine_without_cgroup_files_is_limited_by_cpus_alone(tmp_path):
    assert default_jobs(tmp_path, cpus=3) == 3


def test_the_default_is_said_in_the_help():
    for command in ("batch", "serve"):
        text = " ".join(cli(command, "--help", env={"COLUMNS": "200"}).stdout.split())
        assert "affinity and cgroup quota" in text and "1.2 GB of available memory" in text, text
