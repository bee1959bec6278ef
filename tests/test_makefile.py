"""`make install` takes PyTorch from the index a user names, and from pip's default otherwise."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _install_commands(*variables: str) -> list[str]:
    out = subprocess.run(["make", "-n", "-B", "install", *variables], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return [line for line in out.splitlines() if "pip install" in line]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_torch_index_is_passed_to_pip_only_when_given():
    default = _install_commands()
    assert "torch==2.13.0" in default[0] and "--index-url" not in " ".join(default)
    cpu = _install_commands("TORCH_INDEX=https://download.pytorch.org/whl/cpu")
    assert '--index-url "https://download.pytorch.org/whl/cpu" "torch==2.13.0"' in cpu[0]
    assert "--index-url" not in cpu[1]  # the toolkit's own dependencies come from pip's usual index
