"""The README's quick start runs as written (lucidrains' test_readme.py habit)."""

import json
import re
import shlex
from pathlib import Path

from autoencoders.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_start_blocks():
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, re.S)[0], re.findall(r"```python\n(.*?)```", section, re.S)[0]


def test_quick_start_commands_and_python_run(tmp_path, monkeypatch, capsys):
    bash, python = quick_start_blocks()
    monkeypatch.chdir(tmp_path)
    for line in bash.strip().splitlines():
        if line.startswith("source "):  # activating .venv: this interpreter is already in it
            continue
        argv = shlex.split(line.split("#", 1)[0])
        assert argv[0] == "ae", line
        assert main(argv[1:]) == 0, line
    assert (tmp_path / "recon.png").exists() and (tmp_path / "codes.npy").exists()
    # a recognisable reconstruction, not the mean image's grey blobs (test BCE 0.425 on digits)
    assert json.loads((tmp_path / "runs/digits-dense/metrics.json").read_text())["bce"] < 0.3
    scope: dict = {}
    exec(compile(python, str(README), "exec"), scope)
    assert tuple(scope["codes"].shape) == (360, 32)
