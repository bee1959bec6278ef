"""The `ae` program's CPU threading, chosen at start-up from how busy the machine is.

PyTorch's OpenMP threads spin-wait for each other between operations. On a quiet machine that
is the fastest choice; when other processes hold the cores, a spinning thread burns the time
slice its descheduled partner needs, and an epoch takes several times longer with 2 threads than
with 1 (bench/BUSY.md). OMP_WAIT_POLICY=PASSIVE avoids that but costs 15-60% on a quiet machine. So the
command line (never the library: `import autoencoders` changes no environment) measures the idle
cores for a moment before PyTorch loads and sets, unless the user already chose:
  OMP_NUM_THREADS  the idle cores, at least 1 (all of them on a quiet machine), less the cores
                   that other `ae` processes have claimed but do not use yet (the registry below);
  GOMP_SPINCOUNT   a bounded spin (SPIN_COUNT iterations, then sleep), so a load that starts
                   mid-run costs a short spin rather than whole time slices.
`bench/busy_machine.py` measures the choices quiet and loaded, `bench/same_second.py` two
processes started together.

Two `ae` processes started in the same second would both see an idle machine: the one that
chose first has not loaded PyTorch yet, let alone trained. Each therefore writes its choice into
a per-user registry (REGISTRY_NAME, a JSON object {pid: {"threads", "start", "since"}} in
$XDG_RUNTIME_DIR or the temp folder, read and written under fcntl.flock) and subtracts what the
others claimed and the sample did not see them use. A claim counts for CLAIM_GRACE seconds after
it was made (time enough for the claimant's load to show); later its measured use is all that
counts, so an idle `ae explore` holds no cores. Claims of dead processes (or of a reused pid: the
start time in /proc/<pid>/stat differs) are ignored and pruned; a process releases its own at
exit. `ae train` re-checks after every epoch (`rebalance`, torch.set_num_threads; libgomp follows
it both ways), so the first of two processes started together gives back what the second needs.
The registry is best effort: an unwritable folder, a corrupt file or a lock held longer than
LOCK_WAIT means today's choice from the idle cores alone, never an error or a wait.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

USER_KNOBS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
SPIN_COUNT = "20000"  # libgomp's default is 300,000 (30 billion with OMP_WAIT_POLICY=active)
SAMPLE_SECONDS = 0.2
REGISTRY_NAME = "autoencoders-threads"
CLAIM_GRACE = 30.0  # seconds a claim counts in full: PyTorch's import and the data's loading
LOCK_WAIT = 0.2  # seconds to wait for the registry's lock before going without it
MIN_WINDOW = 0.05  # seconds: CPU times tick in 10 ms, so a shorter window measures no rate


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


def available_cores() -> int:
    """The cores this process may run on (its affinity), else all of them."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def choose_threads(idle: float | None, cores: int) -> int:
    """All cores when the machine is quiet; else the idle ones, rounded (at least 1)."""
    if idle is None:
        return cores
    return max(1, min(cores, int(idle + 0.5)))


def share(idle: float | None, cores: int, claims: dict, used: dict, now: float) -> int:
    """The threads to take: the idle cores less what other `ae` processes claimed and were not
    seen using. claims: {pid: {"threads", "since", ...}} of the others; used: {pid: cores each
    used over the sample} (a pid missing was not measured: nothing seen)."""
    if idle is None:
        return cores
    unseen = sum(max(0.0, c["threads"] - used.get(pid, 0.0)) for pid, c in claims.items()
                 if abs(now - c["since"]) < CLAIM_GRACE)  # abs: the clock may have been set back
    return choose_threads(idle - unseen, cores)


# --- other processes, from /proc/<pid>/stat -------------------------------------------------

def process_stat(pid: int) -> tuple[int, float] | None:
    """(start time in clock ticks since boot, CPU seconds used) of a live process; None if it
    is gone, a zombie, or there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
        fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces and brackets
        if fields[0] in ("Z", "X", "x"):
            return None
        return int(fields[19]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_used(claims: dict) -> dict:
    """{pid: CPU seconds used so far} of the claimants still alive as the same process."""
    used = {}
    for pid, c in claims.items():
        stat = process_stat(pid)
        if stat is not None and stat[0] == c["start"]:
            used[pid] = stat[1]
    return used


def rates(before: dict, after: dict, seconds: float) -> dict:
    """{pid: cores used} between two `cpu_used` readings `seconds` apart."""
    if seconds < MIN_WINDOW:
        return {}
    return {pid: max(0.0, after[pid] - cpu) / seconds for pid, cpu in before.items() if pid in after}


# --- the registry -----------------------------------------------------------------------------

def registry_path(environ=os.environ) -> Path | None:
    """This user's registry: in $XDG_RUNTIME_DIR (private, per login) or else the temp folder,
    named for the user; None where there is no flock (Windows) or no /proc (macOS)."""
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return None
    if not os.path.exists("/proc/self/stat"):
        return None
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        return Path(runtime) / f"{REGISTRY_NAME}.json"
    return Path(tempfile.gettempdir()) / f"{REGISTRY_NAME}-{os.getuid()}.json"


class RegistryUnavailable(Exception):
    """The registry cannot be used this time: go without it."""


@contextlib.contextmanager
def locked(path: Path):
    """The registry file, opened and locked (a file descriptor); RegistryUnavailable when it
    cannot be opened as this user's own plain file or its lock is held past LOCK_WAIT. The lock
    goes with the descriptor, so a holder that dies releases it: no lock outlives its process."""
    import fcntl

    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as e:
        raise RegistryUnavailable(str(e)) from None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or not (st.st_mode & 0o170000 == 0o100000):
            raise RegistryUnavailable(f"{path} is not this user's own file")
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RegistryUnavailable(f"{path} stays locked") from None
                time.sleep(0.005)
            except OSError as e:
                raise RegistryUnavailable(str(e)) from None
        yield fd
    finally:
        os.close(fd)


def read_claims(fd: int) -> dict:
    """{pid: {"threads", "start", "since"}} of the registry; anything malformed left out (a
    corrupt file reads as empty, and the next write replaces it)."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    try:
        raw = json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        return {}
    claims = {}
    for pid, c in raw.items() if isinstance(raw, dict) else ():
        try:
            entry = {"threads": int(c["threads"]), "start": int(c["start"]), "since": float(c["since"])}
            claims[int(pid)] = entry
        except (TypeError, KeyError, ValueError):
            continue
    return claims


def write_claims(fd: int, claims: dict) -> None:
    data = json.dumps({str(pid): c for pid, c in sorted(claims.items())}).encode()
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    while data:
        data = data[os.write(fd, data):]


def live_others(claims: dict, pid: int) -> dict:
    """The claims of other processes that are still the process that claimed."""
    alive = cpu_used(claims)
    return {p: c for p, c in claims.items() if p in alive and p != pid}


def others_now(path: Path | None, pid: int) -> dict:
    """{pid: claim} of the other live claimants, read under the lock; {} without the registry."""
    if path is None:
        return {}
    try:
        with locked(path) as fd:
            return live_others(read_claims(fd), pid)
    except Exception:  # noqa: BLE001 - best effort, whatever went wrong
        return {}


def record(path: Path, pid: int, threads: int, *, idle=None, cores: int = 1, before=None, seconds: float = 0.0,
           now: float | None = None) -> int:
    """Under the lock: prune the dead, choose this process's threads with `share` (when `idle`
    is given; else keep `threads`), write the claim. Returns the threads.
    before : the others' `cpu_used` at the start of the `seconds`-long sample."""
    now = time.time() if now is None else now
    stat = process_stat(pid)
    if stat is None:
        raise RegistryUnavailable(f"no /proc/{pid}/stat")
    with locked(path) as fd:
        others = live_others(read_claims(fd), pid)
        if idle is not None:
            threads = share(idle, cores, others, rates(before or {}, cpu_used(others), seconds), now)
        write_claims(fd, {**others, pid: {"threads": threads, "start": stat[0], "since": now}})
    return threads


def release(path: Path | None = None, pid: int | None = None) -> None:
    """Remove this process's claim (and the dead ones'); quietly nothing when it cannot."""
    claim = _claim
    if path is None:
        if claim is None or claim.pid != os.getpid():  # a forked child does not release its parent's
            return
        path, pid = claim.path, claim.pid
    with contextlib.suppress(RegistryUnavailable, OSError):
        with locked(path) as fd:
            write_claims(fd, live_others(read_claims(fd), pid))


# --- start-up and epoch boundaries ---------------------------------------------------------------

@dataclass
class Claim:
    """This process's claim and the last reading `rebalance` measures from."""

    path: Path
    pid: int
    threads: int
    cores: int
    reading: tuple = field(default_factory=tuple)


_claim: Claim | None = None


def _reading(path: Path, pid: int) -> tuple:
    """(cpu_times, monotonic time, this process's CPU seconds, the others' claims and CPU seconds)."""
    others = others_now(path, pid)
    return cpu_times(), time.monotonic(), time.process_time(), others, cpu_used(others)


def configure(environ=os.environ, registry: Path | None | bool = True) -> dict:
    """Set the threading variables in `environ` before PyTorch loads; returns what was set.

    registry : the registry file, True for this user's (`registry_path`), None for none."""
    cores = available_cores()
    path = registry_path(environ) if registry is True else registry
    pid = os.getpid()
    if any(k in environ for k in USER_KNOBS):
        if path is not None:  # the user's choice, claimed so that others leave it room
            with contextlib.suppress(ValueError):
                threads = int(environ.get("OMP_NUM_THREADS", cores))
                _register(path, pid, threads, cores, lambda: record(path, pid, threads), rebalances=False)
        return {}
    before, start = cpu_used(others_now(path, pid)), time.monotonic()
    idle = idle_cores()
    seconds = time.monotonic() - start
    threads = choose_threads(idle, cores)
    if path is not None and idle is not None:
        threads = _register(path, pid, threads, cores, lambda: record(path, pid, threads, idle=idle, cores=cores,
                                                                      before=before, seconds=seconds))
    chosen = {"OMP_NUM_THREADS": str(threads), "GOMP_SPINCOUNT": SPIN_COUNT}
    environ.update(chosen)
    return chosen


def _register(path: Path, pid: int, threads: int, cores: int, write, rebalances: bool = True) -> int:
    """Run `write` (a `record`); on success remember the claim and release it at exit. Any
    failure leaves `threads` as it was: the registry never stops `ae`."""
    global _claim
    try:
        threads = write()
    except Exception:  # noqa: BLE001 - best effort, whatever went wrong
        return threads
    first = _claim is None
    _claim = Claim(path, pid, threads, cores, _reading(path, pid) if rebalances else ())
    if first:
        atexit.register(release)
    return threads


def rebalance(now: float | None = None) -> int | None:
    """At an epoch boundary: re-choose this process's threads from what the machine did since
    the last check (the cores neither idle nor used by this process are someone else's) and the
    other `ae` processes' fresh claims; apply a change with torch.set_num_threads and record it.
    Returns the new count, or None when nothing changed or `ae` chose no threads (user's knobs,
    no registry)."""
    claim = _claim
    if claim is None or not claim.reading or claim.pid != os.getpid():
        return None
    try:
        return _rebalance(claim, time.time() if now is None else now)
    except Exception:  # noqa: BLE001 - best effort: a failed check leaves the threads as they are
        return None


def _rebalance(claim: Claim, now: float) -> int | None:
    (times0, t0, own0, _, used0), reading = claim.reading, _reading(claim.path, claim.pid)
    claim.reading = reading
    times1, t1, own1, others, used1 = reading
    if times0 is None or times1 is None or times1[1] <= times0[1] or t1 <= t0:
        return None
    idle = (1.0 - (times1[0] - times0[0]) / (times1[1] - times0[1])) * (os.cpu_count() or 1)
    free = idle + (own1 - own0) / (t1 - t0)  # what this process used is its own to use again
    threads = share(free, claim.cores, others, rates(used0, used1, t1 - t0), now)
    if threads == claim.threads:
        return None
    import torch

    torch.set_num_threads(threads)
    claim.threads = record(claim.path, claim.pid, threads, now=now)
    return threads
