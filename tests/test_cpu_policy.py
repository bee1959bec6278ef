"""The `ae` program's threading choice (cli/cpu.py): load-aware, and never on import."""

import os
import subprocess
import sys

from autoencoders.cli import cpu


def test_quiet_machine_uses_every_core_and_a_busy_one_the_idle_cores():
    assert cpu.choose_threads(1.9, 2) == 2
    assert cpu.choose_threads(1.0, 2) == 1
    assert cpu.choose_threads(0.1, 2) == 1
    assert cpu.choose_threads(None, 4) == 4  # no /proc: PyTorch's own default


def test_configure_sets_threads_and_bounded_spin_unless_the_user_chose(monkeypatch):
    monkeypatch.setattr(cpu, "idle_cores", lambda: 0.8)
    env = {}
    assert cpu.configure(env) == env == {"OMP_NUM_THREADS": "1", "GOMP_SPINCOUNT": cpu.SPIN_COUNT}
    user = {"OMP_WAIT_POLICY": "PASSIVE"}
    assert cpu.configure(user) == {} and user == {"OMP_WAIT_POLICY": "PASSIVE"}


def test_idle_cores_reads_proc_stat():
    idle = cpu.idle_cores(0.05)
    assert idle is None or 0.0 <= idle <= os.cpu_count()


def test_importing_the_library_or_calling_main_changes_no_environment():
    code = ("import os; before = dict(os.environ); import autoencoders, autoencoders.cli as c; "
            "c.main(['models']); assert dict(os.environ) == before, 'environment changed'")
    env = {k: v for k, v in os.environ.items() if k not in cpu.USER_KNOBS}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, stdout=subprocess.DEVNULL)
