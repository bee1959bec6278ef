"""Shared test settings."""

import pytest
import torch

from autoencoders.cli import main


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """One intra-op thread: the tests' networks are tiny, and on a busy 2-core machine a second
    OpenMP thread spends its time spin-waiting (a GRU step measured 70x slower). Results do not
    depend on it; the distributed tests set their own threads in their subprocesses."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A dense run on digits (2 epochs, code size 8), trained once for every CLI test that reads one."""
    out = tmp_path_factory.mktemp("runs") / "dense"
    assert main(["train", "dense", "--data", "digits", "--epochs", "2", "--code-size", "8",
                 "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="session")
def exit_code():
    """`exit_code(argv)`: the exit status of `ae ARGV` run in-process, whether `main` returns it or
    argparse exits with it (a bad value is refused while the command line is parsed)."""

    def run(argv):
        try:
            return main(argv)
        except SystemExit as e:
            return e.code

    return run
