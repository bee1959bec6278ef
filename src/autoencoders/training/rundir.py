"""Who owns a run folder: one training process at a time, and no finished run replaced silently.

Two `ae train` processes with the same --out used to share one temporary folder and leave a
run mixed from both; a new run on a folder holding an old one replaced it and truncated its
history. Training now takes an exclusive `fcntl.flock` on DIR/.lock for as long as it runs: the
kernel releases it when the process exits, however it dies, so a lock left by a dead process
never blocks anyone (no pid files to go stale). Where `fcntl` does not exist (Windows) there is
no lock, and the "holds a run" check still applies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

from ..errors import TrainingError

LOCK = ".lock"
# What `ae train` writes into a run folder: --overwrite removes these and nothing else, so a
# mistaken --out never deletes a user's own files.
# An anomaly calibration (evaluation/detection.py's DETECTOR_JSON and DETECTOR_TENSORS) holds scores
# of the weights it was fitted on: a resume, which changes them, removes it too.
CALIBRATION_FILES = ("anomaly.json", "anomaly.safetensors")
RUN_FILES = ("config.json", "model.safetensors", "history.jsonl", "metrics.json", "likelihood.json",
             "state", "state.old", "tb", *CALIBRATION_FILES)


@contextlib.contextmanager
def claim(out, *, resume: bool = False, overwrite: bool = False):
    """Hold `out` exclusively while training into it.

    A folder that already holds a run is refused unless `resume` (continue it) or `overwrite`
    (remove its run files first, said on stderr even when training is quiet) is given. A resume
    removes the run's anomaly calibration (CALIBRATION_FILES), said on stderr: it scored the
    weights the resume goes on to change.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TrainingError(f"--out {out} is a file, not a folder: give a folder for the run")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TrainingError(f"cannot create the run folder {out}: {e.strerror or e}") from e
    with _locked(out):
        try:
            _prepare(out, resume, overwrite)
            yield out
        except BaseException:
            if created:  # refused before it wrote a file (your module failed its check, say): no empty folder left
                _remove_if_only_the_lock(out)
            raise


def _prepare(out: Path, resume: bool, overwrite: bool) -> None:
    """Under the lock: a folder holding a run refused, cleared (overwrite) or its calibration dropped (resume)."""
    _remove_temporaries(out)
    if not resume and holds_run(out):
        if not overwrite:
            raise TrainingError(
                f"{out} already holds a run ({describe(out)}); continue it with "
                f"`ae train --resume {out}`, replace it with --overwrite, or choose another --out")
        print(f"--overwrite: replacing the run in {out} ({describe(out)})", file=sys.stderr)
        clear(out)
    if resume and any((out / name).exists() for name in CALIBRATION_FILES):
        _remove(out, CALIBRATION_FILES)
        print(f"--resume: removed {out / CALIBRATION_FILES[0]}, calibrated on the weights this resume changes; "
              f"calibrate again after it: ae score {out} DATA --fpr ALPHA", file=sys.stderr)


def _remove_if_only_the_lock(out: Path) -> None:
    try:
        if {p.name for p in out.iterdir()} <= {LOCK}:
            (out / LOCK).unlink(missing_ok=True)
            out.rmdir()
    except OSError:
        pass  # left as it is: an empty folder is only untidy


def holds_run(out: Path) -> bool:
    """Whether `out` has any of a run's files (a config, weights or a checkpoint)."""
    return any((Path(out) / name).exists() for name in ("config.json", "model.safetensors", "state"))


def describe(out: Path) -> str:
    """'trained 3 epochs' from its checkpoint when readable; 'unfinished' otherwise (never raises)."""
    import json

    try:
        saved = json.loads((Path(out) / "state" / "trainer.json").read_text())
        epoch = int(saved["state"]["epoch"])
        model = json.loads((Path(out) / "config.json").read_text())["model"]["name"]
        return f"{model}, trained {epoch} epochs"
    except Exception:  # noqa: BLE001 - only a description for a message: a damaged file is fine here
        return "no readable checkpoint"


def clear(out: Path) -> None:
    """Remove the run files `ae train` writes (RUN_FILES), leaving anything else in the folder."""
    _remove(out, RUN_FILES)


def _remove(out: Path, names) -> None:
    for name in names:
        path = Path(out) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _remove_temporaries(out: Path) -> None:
    """Leftovers of a writer that died mid-checkpoint: only the lock holder may remove them."""
    for path in out.glob("state.tmp*"):
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _locked(out: Path):
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks
        yield
        return
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise TrainingError(f"{out} is in use by another training process (pid {owner}); wait for "
                                "it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
