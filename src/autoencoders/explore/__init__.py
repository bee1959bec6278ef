"""`ae explore`: an interactive page where the article's figures come alive in the browser.

The runs' encoders and decoders, exported to ONNX by `autoencoders.export`, run in the page
with a pinned, vendored onnxruntime-web (runtime.py); the page is one static HTML file that
opens from file:// and fetches nothing (page.py). What it knows of each run: payload.py.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .page import write_page

__all__ = ["explore", "write_page"]


def explore(paths, out="explorer.html", *, title: str = "Autoencoder explorer", seed: int = 0,
            trust_module=None, runs=None) -> dict:
    """Write the explorer page for the run directories `paths` to `out` (an .html file).

    Returns {'path', 'bytes', 'runs': names shown, 'skipped': [{'name', 'reason'}]}.
    Runs are named by their folder (with its parent's name when two folders share one).
    trust_module : the classes of your own modules that may be imported (api.load_run).
    runs : the api.Run of each of `paths`, in order, where the caller has them loaded already (the
        report's): not loaded again.
    """
    from ..api import load_run

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"-o {out}: the explorer is an HTML page; give a file name ending in .html")
    paths = [Path(p) for p in paths]
    if not paths:
        raise ConfigError("give at least one RUN directory (written by `ae train` or `ae reproduce`)")
    for path in paths:
        if not (path / "config.json").is_file():
            raise ConfigError(f"RUN {path}: not a run directory (no config.json); "
                              "give folders written by `ae train` or `ae reproduce` (their runs/ subfolders)")
    if runs is not None and len(runs) != len(paths):
        raise ConfigError(f"{len(runs)} loaded runs for {len(paths)} run directories")
    loaded = runs if runs is not None else [load_run(path, trust_module=trust_module) for path in paths]
    return write_page(list(zip(run_names(paths), loaded)), out, title=title, seed=seed)


def run_names(paths: list[Path]) -> list[str]:
    """Folder names, made unique with the parent folder's name (then a counter) where they clash."""
    names = [p.resolve().name for p in paths]
    names = [f"{p.resolve().parent.name}-{n}" if names.count(n) > 1 else n for p, n in zip(paths, names)]
    seen: dict = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return unique
