"""How many worker processes this machine gives ``batch`` and ``serve`` by default.

The CPUs this process may run on (its affinity, then a cgroup CPU quota: a container limited to 2
CPUs on a 64-core host gets 2), capped by the memory available (the host's MemAvailable and a
cgroup memory limit, less what the cgroup already uses) at WORKER_BYTES a worker: a check of a
14.5 s 1080p clip peaked at 1.15 GB resident, so more workers than that would run out of memory.
cgroup v2 and v1 are both read; a file that is missing or unreadable imposes no limit.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

WORKER_BYTES = 1_200_000_000  # a worker's peak, with room: see the module docstring


def default_jobs(root: Path = Path("/"), cpus: int | None = None) -> int:
    """Workers for this process: its usable CPUs, at most one per WORKER_BYTES of available memory;
    at least 1. ``root`` and ``cpus`` (the affinity) are for tests."""
    usable = min(cpus if cpus is not None else _affinity(), _cpu_quota(root) or math.inf)
    memory = _available_memory(root)
    by_memory = memory // WORKER_BYTES if memory is not None else math.inf
    return max(1, int(min(usable, by_memory)))


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _cgroups(root: Path) -> dict[str, list[Path]]:
    """This process's cgroup folders by controller ("" for cgroup v2), each with its parents up to
    where the hierarchy is mounted (in a container, the cgroup's own folder is usually the mount)."""
    found: dict[str, list[Path]] = {}
    mounts = root / "sys/fs/cgroup"
    for line in _read(root / "proc/self/cgroup").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for controller in controllers.split(",") if controllers else [""]:
            base = mounts / controller if controller else mounts
            if controller in ("cpu", "cpuacct") and not base.is_dir():
                base = mounts / "cpu,cpuacct"
            folder = base / path.strip("/")
            if not folder.is_dir():
                folder = base
            chain = [folder]
            while chain[-1] != base and base in chain[-1].parents:
                chain.append(chain[-1].parent)
            found[controller] = chain
    return found


def _cpu_quota(root: Path) -> float | None:
    """The CPUs a cgroup quota allows (the tightest of the folder and its parents), or None."""
    groups = _cgroups(root)
    quotas = []
    for folder in groups.get("", []):
        parts = _read(folder / "cpu.max").split()
        if len(parts) == 2 and parts[0] != "max":
            quotas.append(int(parts[0]) / int(parts[1]))
    for folder in groups.get("cpu", []):
        quota, period = _number(folder / "cpu.cfs_quota_us"), _number(folder / "cpu.cfs_period_us")
        if quota is not None and quota > 0 and period:
            quotas.append(quota / period)
    return max(1.0, math.floor(min(quotas))) if quotas else None


def _available_memory(root: Path) -> int | None:
    """Bytes this process may still take: the least of MemAvailable and each cgroup limit less its use."""
    found = []
    for line in _read(root / "proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            found.append(int(line.split()[1]) * 1024)
    groups = _cgroups(root)
    for folder in groups.get("", []):
        limit = _number(folder / "memory.max")
        if limit is not None:
            found.append(limit - (_number(folder / "memory.current") or 0))
    for folder in groups.get("memory", []):
        limit = _number(folder / "memory.limit_in_bytes")
        if limit is not None and limit < 1 << 60:  # "no limit" reads as a huge number
            found.append(limit - (_number(folder / "memory.usage_in_bytes") or 0))
    return max(0, min(found)) if found else None


def _number(path: Path) -> int | None:
    text = _read(path).strip()
    return int(text) if text.isdigit() else None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
