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


# What each part of the package may import (docs/architecture.md draws the same layers). A name
# missing here is a new package: give it a row, or the test fails.
LAYERS = {
    "errors": set(), "fileio": {"errors"},
    "specs": {"errors", "config"},
    "config": {"errors", "data", "registry"},  # lazily: noise specs, model specs
    "registry": {"errors", "config", "specs", "models"},  # models lazily: built-in factories register on import
    "presets": {"errors", "config", "registry"},
    "data": {"errors", "fileio"},
    "models": {"errors", "data", "registry", "specs"},
    "training": {"errors", "config", "data", "fileio", "models"},
    "evaluation": {"errors", "data", "fileio", "models", "presets"},  # presets: ANOMALY's default score
    "viz": {"errors", "fileio"},
    "export": {"errors", "fileio"},
    "modules": {"errors", "config", "training"},
    "api": {"errors", "config", "data", "evaluation", "fileio", "models", "modules", "registry", "training"},
    "sklearn": {"api", "config", "evaluation", "models", "presets", "registry", "training"},
    "explore": {"api", "data", "errors", "evaluation", "export", "fileio", "viz"},
    "report": {"api", "data", "errors", "evaluation", "explore", "fileio", "presets", "registry", "viz"},
    "benchmark": {"api", "config", "data", "errors", "evaluation", "fileio", "models", "presets", "registry",
                  "training", "viz"},  # viz: the anomaly benchmark draws its figures
    "cli": None,  # the top: anything
    "__main__": {"cli"},
    "__init__": {"api", "config", "errors", "registry"},
}


def imported_parts(path: Path) -> set:
    """The package's top-level parts that `path` imports (relative imports, resolved)."""
    part = path.relative_to(PACKAGE).with_suffix("").parts
    found = set()
    for m in re.finditer(r"^\s*from (\.+)([\w.]*) import\s*\(?\s*(\w+)", path.read_text(), re.M):
        dots, module, first_name = m.groups()
        base = list(path.relative_to(PACKAGE).parent.parts)
        target = base[: len(base) - (len(dots) - 1)] + (module.split(".") if module else [])
        found.add(target[0] if target else first_name)
    return found - {part[0]}


def test_each_part_of_the_package_imports_only_the_layers_below_it():
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).with_suffix("").parts[0]
        assert part in LAYERS, f"{part}: a new part of the package needs its row in LAYERS"
        allowed = LAYERS[part]
        if allowed is not None:
            assert imported_parts(path) <= allowed, (path, imported_parts(path) - allowed)
