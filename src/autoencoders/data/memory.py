"""How much memory this process may use: the least of the machine's, its own address-space limit
(`ulimit -v`, RLIMIT_AS) and its cgroup's memory limit (a container's), where those are set.

A budget taken from the machine alone lets a resident load run into a limit the process was
started under, where it fails as a MemoryError halfway through instead of choosing to stream.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
# (limit, usage) files: cgroup v2, then v1's memory controller; "max" or a huge number means no limit.
_CGROUP_FILES = (("memory.max", "memory.current"), ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"))


def limit_bytes() -> int:
    """The most this process could ever hold: the smallest of its limits."""
    return min(total for total, _ in _limits().values())


def available_bytes() -> int:
    """What this process may still allocate now: the smallest of what each limit leaves."""
    return max(0, min(total - used for total, used in _limits().values()))


def describe_limit() -> str:
    """Which limit is the smallest, in words, for error messages."""
    limits = _limits()
    return min(limits, key=lambda k: limits[k][0])


def _limits() -> dict:
    """{what: (total bytes, bytes in use)} for every limit that applies to this process."""
    limits = {"the machine's memory": _machine()}
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits["its address-space limit, ulimit -v"] = (soft, _field_kib("/proc/self/status", "VmSize") or 0)
    cgroup = _cgroup()
    if cgroup is not None:
        limits["its cgroup's memory limit"] = cgroup
    return limits


def _machine() -> tuple[int, int]:
    """(physical memory, what is not available of it): MemAvailable from /proc/meminfo where there is one."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    available = _field_kib("/proc/meminfo", "MemAvailable")
    return total, (total - available if available is not None else 0)


def _cgroup() -> tuple[int, int] | None:
    for limit_file, usage_file in _CGROUP_FILES:
        limit, usage = _read_int(CGROUP / limit_file), _read_int(CGROUP / usage_file)
        if limit is not None and limit < 2**60:  # v1 writes "no limit" as ~2**63
            return limit, usage or 0
    return None


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):  # missing, unreadable, or "max" (no limit)
        return None


def _field_kib(path: str, key: str) -> int | None:
    """A "Key:  123 kB" line of a /proc file, in bytes."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
