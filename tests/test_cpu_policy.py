"""The `ae` program's threading choice (cli/cpu.py): load-aware, and never on import."""

import json
import os
import subprocess
import sys

import pytest

from autoencoders.cli import cpu


def test_quiet_machine_uses_every_core_and_a_busy_one_the_idle_cores():
    assert cpu.choose_threads(1.9, 2) == 2
    assert cpu.choose_threads(1.0, 2) == 1
    assert cpu.choose_threads(0.1, 2) == 1
    assert cpu.choose_threads(None, 4) == 4  # no /proc: PyTorch's own default


def test_configure_sets_threads_and_bounded_spin_unless_the_user_chose(monkeypatch):
    monkeypatch.setattr(cpu, "idle_cores", lambda: 0.8)
    env = {}
    assert cpu.configure(env, registry=None) == env == {"OMP_NUM_THREADS": "1", "GOMP_SPINCOUNT": cpu.SPIN_COUNT}
    user = {"OMP_WAIT_POLICY": "PASSIVE"}
    assert cpu.configure(user, registry=None) == {} and user == {"OMP_WAIT_POLICY": "PASSIVE"}


def test_idle_cores_reads_proc_stat():
    idle = cpu.idle_cores(0.05)
    assert idle is None or 0.0 <= idle <= os.cpu_count()


def test_importing_the_library_or_calling_main_changes_no_environment():
    code = ("import os; before = dict(os.environ); import autoencoders, autoencoders.cli as c; "
            "c.main(['models']); assert dict(os.environ) == before, 'environment changed'")
    env = {k: v for k, v in os.environ.items() if k not in cpu.USER_KNOBS}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, stdout=subprocess.DEVNULL)


# --- the registry of claims: two `ae` processes started together share the cores ---------------

CLAIMANT = """
import sys

import pytest
from pathlib import Path
from autoencoders.cli import cpu
cpu.idle_cores, cpu.available_cores = (lambda: float(sys.argv[2])), (lambda: 4)
print(cpu.configure({}, registry=Path(sys.argv[1]))["OMP_NUM_THREADS"], flush=True)
sys.stdin.read()  # hold the claim until told to exit
"""


@pytest.fixture
def fresh(monkeypatch):
    """No claim of this (the test) process yet, and none left behind for its exit."""
    monkeypatch.setattr(cpu, "_claim", None)
    monkeypatch.setattr(cpu.atexit, "register", lambda fn: None)
    monkeypatch.setattr(cpu, "available_cores", lambda: 4)


def claimant(registry, idle: float):
    """Another `ae` process that chose its threads (seeing `idle` of 4 cores) and keeps running."""
    env = {k: v for k, v in os.environ.items() if k not in cpu.USER_KNOBS}
    proc = subprocess.Popen([sys.executable, "-c", CLAIMANT, str(registry), str(idle)], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return proc, int(proc.stdout.readline())


def claims(registry) -> dict:
    return {int(pid): c["threads"] for pid, c in json.loads(registry.read_text()).items()}


def test_two_claims_in_sequence_split_the_cores(tmp_path, fresh, monkeypatch):
    registry = tmp_path / "threads.json"
    first, threads = claimant(registry, idle=2.0)  # 2 of 4 cores busy with something else
    try:
        assert threads == 2 and claims(registry) == {first.pid: 2}
        monkeypatch.setattr(cpu, "idle_cores", lambda: 4.0)  # that load ended: all 4 look idle...
        env = {}
        cpu.configure(env, registry=registry)
        assert env["OMP_NUM_THREADS"] == "2"  # ...but the first claimed 2 it is not using yet
        assert claims(registry) == {first.pid: 2, os.getpid(): 2}
    finally:
        first.communicate("")
    assert claims(registry) == {os.getpid(): 2}  # the first released its claim at exit
    cpu.release()
    assert claims(registry) == {}


def test_a_claim_seen_in_use_or_past_its_grace_is_not_subtracted_again():
    pid = os.getpid()
    now = 1000.0
    fresh_claim = {pid: {"threads": 2, "start": 0, "since": now - 1}}
    assert cpu.share(4.0, 4, fresh_claim, {}, now) == 2  # claimed, not yet running
    assert cpu.share(2.0, 4, fresh_claim, {pid: 2.0}, now) == 2  # running: its cores are not idle already
    old = {pid: {"threads": 2, "start": 0, "since": now - cpu.CLAIM_GRACE - 1}}
    assert cpu.share(4.0, 4, old, {}, now) == 4  # an idle claimant (ae explore) holds nothing for long
    assert cpu.share(4.0, 4, {pid: {"threads": 9, "start": 0, "since": now}}, {}, now) == 1  # at least 1


def test_claims_of_dead_or_reused_pids_are_ignored_and_pruned(tmp_path, fresh, monkeypatch):
    registry = tmp_path / "threads.json"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    reused_start = cpu.process_stat(os.getppid())[0] + 1  # the parent's pid, claimed by an older process
    stale = {str(dead.pid): {"threads": 4, "start": 1, "since": 1e12},
             str(os.getppid()): {"threads": 4, "start": reused_start, "since": 1e12}}
    registry.write_text(json.dumps(stale))
    monkeypatch.setattr(cpu, "idle_cores", lambda: 4.0)
    env = {}
    cpu.configure(env, registry=registry)
    assert env["OMP_NUM_THREADS"] == "4" and claims(registry) == {os.getpid(): 4}


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"12": {"threads": "x"}}', b"",
                                     b"[" * 100_000])
def test_a_corrupt_registry_is_ignored_and_rewritten(tmp_path, fresh, monkeypatch, content):
    registry = tmp_path / "threads.json"
    registry.write_bytes(content)
    monkeypatch.setattr(cpu, "idle_cores", lambda: 3.0)
    env = {}
    cpu.configure(env, registry=registry)
    assert env["OMP_NUM_THREADS"] == "3" and claims(registry) == {os.getpid(): 3}


def test_an_unusable_registry_falls_back_to_the_idle_cores(tmp_path, fresh, monkeypatch):
    """A folder that cannot hold it, a folder in its place, a lock held by someone that hangs:
    the idle cores decide, as without a registry, and at once."""
    import fcntl
    import time

    monkeypatch.setattr(cpu, "idle_cores", lambda: 3.0)
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    held = tmp_path / "held.json"
    fd = os.open(held, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        for registry in (tmp_path / "a-file" / "threads.json", tmp_path / "no" / "threads.json",
                         tmp_path / "a-folder", held):
            env, start = {}, time.monotonic()
            assert cpu.configure(env, registry=registry) == {"OMP_NUM_THREADS": "3", "GOMP_SPINCOUNT": cpu.SPIN_COUNT}
            assert time.monotonic() - start < 5 * cpu.LOCK_WAIT + 1
            assert cpu._claim is None  # nothing claimed, nothing to re-check: today's behaviour
    finally:
        os.close(fd)
    cpu.release(held, os.getpid())  # releasing where it cannot is no error either
    cpu.release(tmp_path / "a-file" / "threads.json", os.getpid())


def test_the_users_knobs_win_and_are_claimed(tmp_path, fresh, monkeypatch):
    registry = tmp_path / "threads.json"
    first, _ = claimant(registry, idle=4.0)  # a fresh claim of every core
    try:
        monkeypatch.setattr(cpu, "idle_cores", lambda: pytest.fail("no sampling when the user chose"))
        env = {"OMP_NUM_THREADS": "3"}
        assert cpu.configure(env, registry=registry) == {} and env == {"OMP_NUM_THREADS": "3"}
        assert claims(registry) == {first.pid: 4, os.getpid(): 3}
        assert cpu.rebalance() is None  # and the user's threads stay the user's
    finally:
        first.communicate("")


def test_the_default_registry_is_per_user_and_private(tmp_path):
    if cpu.registry_path() is None:
        pytest.skip("no flock or no /proc here")
    assert cpu.registry_path({"XDG_RUNTIME_DIR": str(tmp_path)}) == tmp_path / "autoencoders-threads.json"
    fallback = cpu.registry_path({"XDG_RUNTIME_DIR": str(tmp_path / "missing")})
    assert fallback.name == f"autoencoders-threads-{os.getuid()}.json"


def test_rebalance_gives_back_the_cores_a_newcomer_claimed(tmp_path, fresh, monkeypatch):
    """At an epoch boundary the first of two processes started together drops to its share."""
    import torch

    registry = tmp_path / "threads.json"
    monkeypatch.setattr(cpu, "idle_cores", lambda: 4.0)
    env = {}
    cpu.configure(env, registry=registry)
    assert env["OMP_NUM_THREADS"] == "4" and cpu._claim.threads == 4
    second, threads = claimant(registry, idle=4.0)
    threads_before = torch.get_num_threads()
    try:
        assert threads == 1  # it saw this process's fresh claim of all 4
        # Over the epoch this process kept every core busy (so none was idle: 100 of 100 jiffies)
        # using 4 cores' worth of CPU time, and the newcomer, still loading, used none of its
        # claim: 4 - 1 = 3 are this one's.
        others = cpu.others_now(registry, os.getpid())
        cpu._claim.reading = ((0.0, 0.0), 0.0, 0.0, {}, {second.pid: 0.0})
        monkeypatch.setattr(cpu, "_reading", lambda path, pid: ((100.0, 100.0), 10.0, 40.0, others,
                                                                 {second.pid: 0.0}))
        assert cpu.rebalance() == 3
        assert torch.get_num_threads() == 3 and claims(registry) == {os.getpid(): 3, second.pid: 1}
        assert cpu.rebalance() is None  # no time since: nothing to measure, no change
    finally:
        torch.set_num_threads(threads_before)
        second.communicate("")
        cpu.release()


def test_rebalance_does_nothing_without_a_claim(fresh):
    assert cpu.rebalance() is None


def test_ae_train_re_checks_its_threads_after_every_epoch(tmp_path, monkeypatch):
    from autoencoders.cli import main

    calls = []
    monkeypatch.setattr(cpu, "rebalance", lambda: calls.append(1))
    out = str(tmp_path / "run")
    assert main(["train", "dense", "--data", "digits", "--epochs", "2", "--limit", "64", "--quiet", "--out", out]) == 0
    assert main(["train", "--resume", out, "--epochs", "3", "--quiet"]) == 0
    assert len(calls) == 3
