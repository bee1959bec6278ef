"""The `ae` program's CPU threading, chosen at start-up from how busy the machine is.

PyTorch's OpenMP threads spin-wait for each other between operations. On a quiet machine that
is the fastest choice; when other processes hold the cores, a spinning thread burns the time
slice its descheduled partner needs, and an epoch takes several times longer with 2 threads than
with 1 (bench/BUSY.md). OMP_WAIT_POLICY=PASSIVE avoids that but costs 15-60% on a quiet machine. So the
command line (never the library: `import autoencoders` changes no environment) measures the idle
cores for a moment before PyTorch loads and sets, unless the user already chose:
  OMP_NUM_THREADS  the idle cores, at least 1 (all of them on a quiet machine);
  GOMP_SPINCOUNT   a bounded spin (SPIN_COUNT iterations, then sleep), so a load that starts
                   mid-run costs a short spin rather than whole time slices.
`bench/busy_machine.py` measures the choices quiet and loaded.
"""

from __future__ import annotations

import os
import time

USER_KNOBS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
SPIN_COUNT = "20000"  # libgomp's default is 300,000 (30 billion with OMP_WAIT_POLICY=active)
SAMPLE_SECONDS = 0.2


def cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat, or None where there is no /proc."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def idle_cores(sample: float = SAMPLE_SECONDS) -> float | None:
    """Cores left idle by every other process over `sample` seconds (this one sleeps meanwhile)."""
    first = cpu_times()
    time.sleep(sample)
    second = cpu_times()
    if first is None or second is None or second[1] <= first[1]:
        return None
    busy_fraction = (second[0] - first[0]) / (second[1] - first[1])
    return (1.0 - busy_fraction) * (os.cpu_count() or 1)


def choose_threads(idle: float | None, cores: int) -> int:
    """All cores when the machine is quiet; else the idle ones, rounded (at least 1)."""
    if idle is None:
        return cores
    return max(1, min(cores, int(idle + 0.5)))


def configure(environ=os.environ) -> dict:
    """Set the threading variables in `environ` before PyTorch loads; returns what was set."""
    if any(k in environ for k in USER_KNOBS):
        return {}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    chosen = {"OMP_NUM_THREADS": str(choose_threads(idle_cores(), cores)), "GOMP_SPINCOUNT": SPIN_COUNT}
    environ.update(chosen)
    return chosen
