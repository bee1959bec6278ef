"""The package's shape: one epoch loop, and data -> models -> training -> evaluation layering."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "autoencoders"


def sources(folder=""):
    return {p: p.read_text() for p in (PACKAGE / folder).rglob("*.py")}


def test_one_epoch_loop_in_the_package():
    loops = [p.relative_to(PACKAGE).as_posix() for p, text in sources().items()
             for _ in re.finditer(r"for epoch in range\(", text)]
    assert loops == ["training/trainer.py"]


def test_data_and_evaluation_do_not_import_training():
    for folder in ("data", "models", "evaluation"):
        for path, text in sources(folder).items():
            assert not re.search(r"from \.\.training|import autoencoders\.training", text), path
    for path, text in sources("data").items():
        assert not re.search(r"from \.\.(models|evaluation|api)", text), path


def test_one_npy_header_parser_in_the_package():
    """Every .npy is read through data/npyfile.py's checked parser, never numpy's own loader."""
    readers = sorted(p.relative_to(PACKAGE).as_posix() for p, text in sources().items()
                     if re.search(r"read_array_header|read_magic|np\.load\(|mmap_mode", text))
    assert readers == ["data/npyfile.py"]
