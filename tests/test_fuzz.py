"""Property-based fuzzing (issue #13): mutated data files and run-folder files may fail, but only
with the toolkit's own errors (AutoencodersError), never a library's exception or a crash.

Targets: the file loaders alone, the whole `ae train dense --data FILE` path (the CLI's entry:
the budget's look at the file, resident or streamed loading, one epoch of training), and
everything that reads a run folder. CI runs a bounded number of examples per target (seconds).
For a long local run set AE_FUZZ_SECONDS, e.g. `AE_FUZZ_SECONDS=60 pytest -s tests/test_fuzz.py`:
each target then runs batches of examples until that many seconds have passed and prints how
many it ran; scripts/fuzz_train_data.py fuzzes `ae train` for a while and counts failures
instead of stopping at the first.
"""

import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from autoencoders.api import load_run
from autoencoders.cli import main
from autoencoders.data.files import load_path
from autoencoders.errors import AutoencodersError
from autoencoders.training.checkpoint import load_config, load_state
from autoencoders.training.trainer import make_optimizer

SECONDS = float(os.environ.get("AE_FUZZ_SECONDS", "0") or 0)
BATCH = settings(max_examples=150, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))
RUN_BATCH = settings(BATCH, max_examples=50)  # each copies a run folder and builds a model: slower
TRAIN_BATCH = settings(BATCH, max_examples=60)  # each may train a model for an epoch

# A mutation: (operation, position, bytes). Positions favour the first 256 bytes, where the
# headers are (.npy header, zip local header, PNG IHDR, safetensors header length and JSON).
MUTATION = st.tuples(st.sampled_from(("set", "insert", "delete", "truncate")),
                     st.one_of(st.integers(0, 256), st.integers(0, 1 << 16)),
                     st.binary(min_size=1, max_size=8))
MUTATIONS = st.lists(MUTATION, min_size=1, max_size=4)


def mutate(data: bytes, mutations) -> bytes:
    b = bytearray(data)
    for op, pos, chunk in mutations:
        pos = pos % (len(b) + 1)
        if op == "set":
            b[pos:pos + len(chunk)] = chunk
        elif op == "insert":
            b[pos:pos] = chunk
        elif op == "delete":
            del b[pos:pos + len(chunk)]
        else:
            del b[pos:]
    return bytes(b)


def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npz(compressed=False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _image(pixels, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


rng = np.random.default_rng(0)
DATA_SEEDS = {
    "images.npy": _npy(rng.integers(0, 256, (4, 8, 8), dtype=np.uint8)),
    "series.npy": _npy(rng.random((3, 10, 2), dtype=np.float32)),
    "labelled.npz": _npz(x=rng.integers(0, 256, (4, 8, 8), dtype=np.uint8), y=np.array([0, 1, 2, 1])),
    "splits.npz": _npz(True, x_train=rng.random((4, 1, 6, 6), dtype=np.float32),
                       x_test=rng.random((2, 1, 6, 6), dtype=np.float32)),
    "series.csv": b"a,b\n" + b"".join(b"%.3f,%.3f\n" % (i / 10, 1 - i / 10) for i in range(10)),
    "folder/a.png": _image(rng.integers(0, 256, (8, 8), dtype=np.uint8), "PNG"),
    "folder/a.tif": _image(rng.random((8, 8), dtype=np.float32), "TIFF"),  # mode F
}
RUN_FILES = ("config.json", "model.safetensors", "history.jsonl", "state/trainer.json",
             "state/optimizer.safetensors", "state/model.safetensors")
COUNTS: dict = {}


def _until_time_is_up(name: str, run_batch) -> None:
    """One batch in CI; with AE_FUZZ_SECONDS, batches until the time is spent (then a summary)."""
    start = time.monotonic()
    run_batch()
    while time.monotonic() - start < SECONDS:
        run_batch()
    if SECONDS:
        print(f"\nfuzz {name}: {COUNTS.get(name, 0)} examples in {time.monotonic() - start:.0f} s, "
              "0 foreign exceptions")


def write_mutated(folder: Path, name: str, mutations) -> Path:
    """A mutated copy of DATA_SEEDS[name] in `folder`: the file, or for an image the folder holding it
    beside an intact second image."""
    path = folder / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(mutate(DATA_SEEDS[name], mutations))
    if name.startswith("folder/"):
        (path.parent / f"b{path.suffix}").write_bytes(DATA_SEEDS[name])
        path = path.parent
    return path


def _load_data(path: Path, sequence: bool) -> None:
    try:
        load_path(path, "train", None, None, sequence)
    except AutoencodersError:
        pass


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damaged TIFF tags it skips
def test_fuzz_data_files():
    @BATCH
    @given(name=st.sampled_from(sorted(DATA_SEEDS)), mutations=MUTATIONS, sequence=st.booleans())
    def one(name, mutations, sequence):
        COUNTS["data files"] = COUNTS.get("data files", 0) + 1
        with tempfile.TemporaryDirectory() as tmp:
            _load_data(write_mutated(Path(tmp), name, mutations), sequence)

    _until_time_is_up("data files", one)


TRAIN = ["--debug", "train", "dense", "--epochs", "1", "--code-size", "2", "--batch-size", "4",
         "--validation", "0.5", "--quiet"]
# The paths `ae train` can take with a file: the budget's choice, forced streaming or resident,
# a series' windows, and a budget so small that every streamable file streams.
TRAIN_OPTIONS = st.sampled_from(([], ["--stream", "true"], ["--stream", "false"], ["--window", "4"],
                                 ["--memory-budget", "1e-9"]))


def train_on(path: Path, options: list, out: Path) -> int:
    """`ae train dense --data PATH --epochs 1 ...` as the CLI runs it: its exit code, 2 for the toolkit's
    own errors; --debug lets any other exception (a foreign one: a bug) through to the caller."""
    try:
        return main(TRAIN + ["--data", str(path), "--out", str(out), *options])
    except AutoencodersError:
        return 2


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fuzz_ae_train_data():
    @TRAIN_BATCH
    @given(name=st.sampled_from(sorted(DATA_SEEDS)), mutations=MUTATIONS, options=TRAIN_OPTIONS)
    def one(name, mutations, options):
        COUNTS["ae train --data"] = COUNTS.get("ae train --data", 0) + 1
        with tempfile.TemporaryDirectory() as tmp:
            assert train_on(write_mutated(Path(tmp), name, mutations), options, Path(tmp) / "run") in (0, 2)

    _until_time_is_up("ae train --data", one)


def _open_run(path: Path) -> None:
    """Everything that reads a run folder: its config, weights, history and resumable state."""
    try:
        config = load_config(path)
        run = load_run(path)
        load_state(path, run.model, make_optimizer(run.model, config))
    except AutoencodersError:
        pass


@pytest.mark.parametrize("target", RUN_FILES)
def test_fuzz_run_folder_files(target, run_dir):
    seed = (run_dir / target).read_bytes()

    @RUN_BATCH
    @given(mutations=MUTATIONS)
    def one(mutations):
        COUNTS[target] = COUNTS.get(target, 0) + 1
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(shutil.copytree(run_dir, Path(tmp) / "run"))
            (path / target).write_bytes(mutate(seed, mutations))
            _open_run(path)

    _until_time_is_up(target, one)


# Crafted configs (issue #18): a config.json names callables, a module file beside the run, paths
# to write to. Whatever it says, reading the run imports nothing it names and creates no folder.
CALLABLES = ("subprocess:Popen", "os:system", "builtins:exec", "shutil:rmtree", "evilmod:AE", "evilmod:Missing",
             "evilmod", "os.path:join", "importlib:import_module", "dense", "vae", ":", "a:b:c", "")
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)
CRAFTED_OPTIONS = st.one_of(st.just({"args": ["touch", "MARKER"]}), st.just({"command": "touch MARKER"}),
                            st.just({"source": "open('MARKER', 'w')"}), st.just({"path": "ELSEWHERE"}),
                            st.dictionaries(st.sampled_from(("args", "command", "code_size", "hidden", "shell")),
                                            JSON, max_size=3))
CRAFTED_DATA = st.fixed_dictionaries({"name": st.sampled_from(("digits", "mnist", "fashion-mnist", "ELSEWHERE/x.npy")),
                                      "data_dir": st.sampled_from(("ELSEWHERE", "ELSEWHERE/deep/er")),
                                      "offline": st.booleans()})


def _fill(value, marker: Path, elsewhere: Path):
    text = json.dumps(value).replace("MARKER", str(marker)).replace("ELSEWHERE", str(elsewhere))
    return json.loads(text)


def test_fuzz_crafted_configs_run_no_code_and_write_nowhere(run_dir, monkeypatch):
    config = json.loads((run_dir / "config.json").read_text())

    @settings(RUN_BATCH, max_examples=30)
    @given(name=st.sampled_from(CALLABLES), options=CRAFTED_OPTIONS, data=CRAFTED_DATA,
           trust=st.sampled_from((None, "tests.own_module:TinyAE")))
    def one(name, options, data, trust):
        COUNTS["crafted config"] = COUNTS.get("crafted config", 0) + 1
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(shutil.copytree(run_dir, Path(tmp) / "run"))
            marker, elsewhere = Path(tmp) / "PWNED", Path(tmp) / "elsewhere"
            (path / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass AE:\n    pass\n")
            crafted = dict(config, model=dict(config["model"], name=name, options=options),
                           data=dict(config["data"], **data))
            (path / "config.json").write_text(json.dumps(_fill(crafted, marker, elsewhere)))
            with monkeypatch.context() as m:
                m.chdir(path)
                m.syspath_prepend(str(path))
                try:
                    load_run(path, trust_module=trust).split("test")
                except AutoencodersError:
                    pass
            assert not marker.exists() and not elsewhere.exists() and "evilmod" not in sys.modules

    _until_time_is_up("crafted config", one)
