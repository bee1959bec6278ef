"""Seconds per epoch of `ae train` beside Keras 3 on JAX and on TensorFlow, on MNIST, in one run.

    python bench/peers.py [--nets dense,deep,vae,conv,conv-denoise] [--epochs 3] [--peers jax,tf]
                          [--pairing cheap|all|issue] [--rounds 1] [--threads 2] [--ours ours,ours-compile]
                          [--venvs DIR] [--setup-only] [--limit N] [--out bench/PEERS.md]

The peers live in their own virtual environments under --venvs (default
~/.cache/autoencoders/peers/), made once with pip at the exact pins below and reused while their
pins are the same; a pin that does not install is reported (pip's error in the table's notes
and the JSON), never replaced by another version. Each net trains at the toolkit's registered
(the article's) batch size with Adam at lr 1e-3, for 1 + --epochs epochs: ours as
`python -m autoencoders train NET --data mnist` in a fresh process (seconds from the run's
history.jsonl), each peer as bench/peers_keras.py run by its venv's python (seconds from Keras
callbacks), its layer sizes passed from the toolkit's registry and its parameter count checked
against ours. Both sides' epochs include the validation pass over the 10,000 test images
(`ae train` always validates; Keras as the article calls `fit(..., validation_data=(x_test,
x_test))`). The first epoch (compilation, warm-up) is dropped; the table gives the median of the
others (with --rounds R, the median over rounds of each run's median). Every process gets
--threads threads: OMP_NUM_THREADS for ours (with the bounded GOMP_SPINCOUNT that `ae` sets when it
picks the threads itself: libgomp's default spin costs several times over on a loaded machine,
bench/BUSY.md), XLA's intra-op threads for JAX, TF's intra-op threads
(inter-op 1) for TensorFlow; below the machine's core count all of them are pinned to the same
first N cores. Runs interleave per net (ours, Keras-JAX, Keras-TF, next net) so drift in the
machine's other load falls on all of them alike; the load average is recorded at each run's start.
Issue #21 pairs dense/deep/vae with Keras-JAX and the conv nets with Keras-TF; the default
--pairing cheap adds Keras-TF on the dense nets, --pairing all adds Keras-JAX on the conv nets too
(about a third more time: the conv nets' epochs are the long ones), --pairing issue runs the pairs only
(Keras-JAX in both dtype policies when --peers names jax-bf16: Keras's default float32 and mixed_bfloat16).
--ours names our sides: `ae train` as it is (ours), with the threads it picks itself (ours-auto),
with `--compile` (ours-compile), and with `--compile --precision auto` (ours-compile-auto: bf16
where the CPU computes it natively); each side's ratio is against the issue's peer in float32.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from autoencoders.benchmark import machine  # noqa: E402
from autoencoders.benchmark.suite import case  # noqa: E402
from autoencoders.cli.cpu import SPIN_COUNT  # noqa: E402
from autoencoders.data.sources import fetch  # noqa: E402
from autoencoders.registry import create_model, model_defaults  # noqa: E402

KERAS = "keras==3.15.1"
PINS = {"jax": (KERAS, "jax==0.10.2", "jaxlib==0.10.2"), "tf": (KERAS, "tensorflow-cpu==2.21.0")}  # one venv each


class Peer(NamedTuple):
    label: str
    backend: str  # KERAS_BACKEND
    policy: str  # Keras's global dtype policy
    venv: str  # its key in PINS


PEERS = {
    "jax": Peer("Keras-JAX", "jax", "float32", "jax"),  # a venv's own key: its float32 peer (named in Versions)
    "jax-bf16": Peer("Keras-JAX, mixed_bfloat16", "jax", "mixed_bfloat16", "jax"),
    "tf": Peer("Keras-TF", "tensorflow", "float32", "tf"),
}
ISSUE_PAIRING = {"dense": "jax", "deep": "jax", "vae": "jax", "conv": "tf", "conv-denoise": "tf"}
NETS = tuple(ISSUE_PAIRING)
PAIRINGS = {  # which peers train which net
    "issue": lambda net, peer: PEERS[peer].backend == PEERS[ISSUE_PAIRING[net]].backend,  # in either dtype
    "cheap": lambda net, peer: ISSUE_PAIRING[net] == peer or not net.startswith("conv"),
    "all": lambda net, peer: True,
}
CHILD = Path(__file__).resolve().parent / "peers_keras.py"
SHAPES = {"conv": (1, 28, 28), "conv-denoise": (1, 28, 28)}  # others (784,)
NOISY = 1.3  # a run whose slowest measured epoch exceeds its fastest this many times is flagged
TAIL = 1500  # characters of a failing command's output kept for the report


def default_venvs() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "autoencoders" / "peers"


def ensure_venv(root: Path, name: str, pins: tuple) -> tuple[Path | None, str | None, float]:
    """(python of the peer's venv, None) once its pins are installed, else (None, pip's error tail);
    and the seconds spent setting it up (0 when reused)."""
    tag = hashlib.sha256(" ".join(pins).encode()).hexdigest()[:8]
    folder = root / f"{name}-{tag}"
    python, done = folder / "bin" / "python", folder / "pins.txt"
    if done.exists() and python.exists() and done.read_text().split() == list(pins):
        return python, None, 0.0
    start = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    log = folder.parent / f"{folder.name}.pip.log"
    print(f"[peers] setting up {folder} ({' '.join(pins)}); pip's output in {log}", flush=True)
    with open(log, "w") as out:
        steps = [[sys.executable, "-m", "venv", "--clear", str(folder)],
                 [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *pins]]
        for cmd in steps:
            out.write(f"$ {shlex.join(cmd)}\n")
            out.flush()
            if subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                return None, f"`{shlex.join(cmd[2:] if 'pip' in cmd else cmd)}` failed: {_tail(log)}", 0.0
    done.write_text("\n".join(pins) + "\n")
    return python, None, time.perf_counter() - start


def _tail(path: Path) -> str:
    """pip's error lines (else its last lines), without the index locations it prints."""
    lines = [x for x in path.read_text(errors="replace").splitlines() if not x.startswith(("Looking in", "WARNING"))]
    errors = [x for x in lines if "ERROR" in x or "error:" in x.lower()]
    return "\n".join(errors or lines[-5:])[-TAIL:].strip()


def pinned_to(threads: int):
    """A preexec_fn pinning a child to the first `threads` of this process's cores (None: all of them)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not cores or threads >= len(cores):
        return None
    return lambda: os.sched_setaffinity(0, cores[:threads])


def clean_env(threads: int) -> dict:
    knobs = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "XLA_FLAGS", "KERAS_BACKEND", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if k not in knobs} | {"OMP_NUM_THREADS": str(threads)}


# `ae ...` as the `ae` program runs it (its start-up included), then the intra-op threads
# PyTorch ran with (`ae`'s own choice when no thread variable is set) on the last line
LAUNCH = ("import sys; from autoencoders.cli import console; rc = console(); "
          "import torch; print('threads', torch.get_num_threads()); sys.exit(rc)")  # torch after ae's choice


# our sides: (column label, `ae train` options, threads as `ae` picks them rather than --threads)
OURS = {"ours": ("ours", (), False), "ours-auto": ("ours, `ae`'s threads", (), True),
        "ours-compile": ("ours, `--compile`", ("--compile",), False),
        "ours-compile-auto": ("ours, `--compile --precision auto`", ("--compile", "--precision", "auto"), False)}


def run_ours(net: str, batch: int, data_opts: dict, args, tmp: Path, side: str = "ours") -> dict:
    """`ae train` on --threads threads (with `ae`'s bounded spin), or as `ae` chooses them (ours-auto)."""
    _, options, auto = OURS[side]
    out = tmp / f"{side}-{net}"
    cmd = [sys.executable, "-c", LAUNCH, "train", net, "--data", "mnist", "--epochs", str(args.epochs + 1),
           "--batch-size", str(batch), "--optimizer", "adam", "--lr", "1e-3", "--quiet", "--offline", "--overwrite",
           "--out", str(out), *options]
    if data_opts.get("noise"):
        cmd += ["--noise", data_opts["noise"]]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    # ae's own bounded spin (cli/cpu.py sets it with the threads it chooses; we fix the threads)
    env = clean_env(args.threads) | {"PYTHONPATH": str(ROOT / "src"), "GOMP_SPINCOUNT": SPIN_COUNT}
    if auto:
        env = {k: v for k, v in env.items() if k not in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT")}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True,
                          preexec_fn=None if auto else pinned_to(args.threads))
    if done.returncode != 0:
        return {"error": f"`ae train` exited {done.returncode}: {(done.stdout + done.stderr)[-TAIL:].strip()}"}
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    threads = int(done.stdout.split()[-1])
    precision = json.loads((out / "config.json").read_text())["train"]["precision"]  # "auto" as it was resolved
    return {"seconds": [r["seconds"] for r in history], "loss": [r["train"]["loss"] for r in history],
            "val_loss": [r["val"]["loss"] for r in history], "threads": threads, "precision": precision}


def run_peer(python: Path, peer: str, net: str, batch: int, data_opts: dict, mnist: Path, args, tmp: Path) -> dict:
    backend, policy = PEERS[peer].backend, PEERS[peer].policy
    out = tmp / f"{peer}-{net}.json"
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in model_defaults(net).items()}
    cmd = [str(python), str(CHILD), "--net", net, "--batch", str(batch), "--epochs", str(args.epochs + 1),
           "--options", json.dumps(options), "--mnist", str(mnist), "--threads", str(args.threads),
           "--dtype-policy", policy, "--json", str(out)]
    noise = data_opts.get("noise")
    if noise:
        kind, level = noise.split(":")
        assert kind == "gaussian", noise
        cmd += ["--noise", level]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    env = clean_env(args.threads) | {"KERAS_BACKEND": backend}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, preexec_fn=pinned_to(args.threads))
    if done.returncode != 0 or not out.exists():
        return {"error": f"peers_keras.py exited {done.returncode}: {(done.stdout + done.stderr)[-TAIL:].strip()}"}
    return json.loads(out.read_text())


def our_params(net: str) -> int:
    model = create_model(net, SHAPES.get(net, (784,)))
    return sum(p.numel() for p in model.parameters())


def measured(run: dict) -> float | None:
    """A run's median epoch, its first (compiling) epoch left out."""
    seconds = run.get("seconds") or []
    return statistics.median(seconds[1:]) if len(seconds) > 1 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default=",".join(NETS), help="comma-separated, of " + ",".join(NETS))
    parser.add_argument("--epochs", type=int, default=3, help="measured epochs per run (one warm-up epoch more)")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated, of " + ",".join(PEERS))
    parser.add_argument("--pairing", choices=tuple(PAIRINGS), default="cheap",
                        help="issue: only issue #21's pairs; cheap (default): every peer on the dense nets, "
                             "the conv nets on Keras-TF only (Keras-JAX on them adds about a third to the run); "
                             "all: every peer on every net")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the interleaved runs (median over rounds)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images (a smoke run)")
    parser.add_argument("--venvs", type=Path, default=None,
                        help="folder of the peers' venvs (default ~/.cache/autoencoders/peers)")
    parser.add_argument("--ours", default="ours",
                        help="comma-separated, of " + ",".join(OURS) + ": ours-auto takes the threads `ae` picks "
                             "itself (all cores on a quiet machine, the idle ones on a busy one); ours-compile "
                             "trains with `--compile` (its first, compiling epoch is not measured, as the peers' "
                             "is not), ours-compile-auto with `--compile --precision auto` too")
    parser.add_argument("--setup-only", action="store_true", help="make the peers' venvs and stop")
    parser.add_argument("--out", default="bench/PEERS.md", help="the table; its .json beside it")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="measure nothing: write --out's table again from a run's .json (e.g. bench/PEERS.json)")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        Path(args.out).write_text(render(saved["table"], saved["meta"], saved["meta"]["sides"], saved["runs"]))
        return
    nets, peers, ours = args.nets.split(","), args.peers.split(","), args.ours.split(",")
    for o in ours:
        if o not in OURS:
            parser.error(f"unknown side of ours {o!r}: choose from {','.join(OURS)}")
    for n in nets:
        if n not in NETS:
            parser.error(f"unknown net {n!r}: choose from {','.join(NETS)}")
    for p in peers:
        if p not in PEERS:
            parser.error(f"unknown peer {p!r}: choose from {','.join(PEERS)}")

    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_start = os.getloadavg()
    venv_root = args.venvs or default_venvs()
    pythons, install_errors, setup_s = {}, {}, {}
    for p in peers:
        python, error, seconds = ensure_venv(venv_root, PEERS[p].venv, PINS[PEERS[p].venv])
        setup_s[p] = round(seconds, 1)
        if error:
            print(f"[peers] {PEERS[p].label}: install failed: {error}", flush=True)
            install_errors[p] = error
        else:
            pythons[p] = python
    if args.setup_only:
        return
    mnist = fetch("mnist", progress=False)  # the toolkit's verified cache folder of IDX files

    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for net in nets:
                batch, data_opts = case(net)
                which = [p for p in pythons if PAIRINGS[args.pairing](net, p)]
                for side in [*ours, *which]:
                    record = {"round": r, "net": net, "side": side, "batch": batch, "load_at_start": os.getloadavg()[0]}
                    begin = time.perf_counter()
                    if side.startswith("ours"):
                        result = run_ours(net, batch, data_opts, args, Path(tmp), side)
                    else:
                        result = run_peer(pythons[side], side, net, batch, data_opts, mnist, args, Path(tmp))
                    record |= result | {"wall_s": round(time.perf_counter() - begin, 1)}
                    record["median_s"] = measured(record)
                    runs.append(record)
                    shown = f"{record['median_s']:.2f} s/epoch" if record["median_s"] else record.get("error", "")[:300]
                    print(f"[peers] round {r + 1} {net} {side}: {shown} (wall {record['wall_s']} s, "
                          f"load {record['load_at_start']:.2f})", flush=True)

    peer_versions = {p: next((x["versions"] for x in runs if x.get("side") == p and "versions" in x), None)
                     for p in pythons}
    import torch

    meta = {
        "date": started, "command": shlex.join(["python", f"bench/{Path(__file__).name}", *sys.argv[1:]]),
        "machine": machine.cpu_description() | {"threads": args.threads, "cores": os.cpu_count()},
        "load_average_start": [round(v, 2) for v in load_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "versions": {"ours": {"torch": torch.__version__, "python": platform.python_version()}, **peer_versions},
        "pins": {p: list(PINS[PEERS[p].venv]) for p in peers}, "venv_setup_s": setup_s,
        "install_errors": install_errors,
        "epochs_measured": args.epochs, "rounds": args.rounds, "limit": args.limit, "pairing": args.pairing,
        "params_ours": {net: our_params(net) for net in nets},
        "sides": [*ours, *peers],
    }
    sides = meta["sides"]
    table = summarize(runs, nets, sides, meta)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "table": table, "runs": runs}, indent=1) + "\n")
    out.write_text(render(table, meta, sides, runs))
    print(out.read_text())


def summarize(runs: list[dict], nets: list, sides: list, meta: dict) -> list[dict]:
    rows = []
    for net in nets:
        row = {"net": net, "batch": case(net)[0], "params": meta["params_ours"][net]}
        for side in sides:
            mine = [x for x in runs if x["net"] == net and x["side"] == side]
            medians = [x["median_s"] for x in mine if x["median_s"] is not None]
            row[side] = statistics.median(medians) if medians else None
            errors = [x["error"] for x in mine if "error" in x]
            if errors:
                row[f"{side}_error"] = errors[0]
            last = next((x for x in reversed(mine) if x.get("loss")), None)
            if last:
                row[f"{side}_loss"], row[f"{side}_val_loss"] = last["loss"][-1], last["val_loss"][-1]
            if side.startswith("ours"):
                row[f"{side}_threads"] = sorted({x["threads"] for x in mine if "threads" in x})
                row[f"{side}_precision"] = sorted({x["precision"] for x in mine if "precision" in x})
            else:
                params = {x["params"] for x in mine if "params" in x}
                if params and params != {row["params"]}:
                    row[f"{side}_params_mismatch"] = sorted(params)
        rows.append(row)
    return rows


def _s(v) -> str:
    return f"{v:.2f}" if v is not None else "—"


def render(table: list[dict], meta: dict, sides: list, runs: list) -> str:
    m = meta["machine"]
    peers = [s for s in sides if s in PEERS]
    labels = {side: label for side, (label, _, _) in OURS.items()} | {p: PEERS[p].label for p in peers}
    v = meta["versions"]
    versions = [f"ours: torch {v['ours']['torch']}, Python {v['ours']['python']}"]
    for venv in dict.fromkeys(PEERS[p].venv for p in peers):  # jax and jax-bf16 share one
        shown = next((v[p] for p in peers if PEERS[p].venv == venv and v.get(p)), None)
        if shown:
            versions.append(f"{PEERS[venv].label}: " + ", ".join(f"{k} {x}" for k, x in shown.items()))
    for p in meta["install_errors"]:
        versions.append(f"{PEERS[p].label}: not installed (`{' '.join(meta['pins'][p])}` failed, see the notes)")
    la, lb = meta["load_average_start"], meta["load_average_end"]
    auto = "ours-auto" in sides
    lines = [
        "# Seconds per epoch: `ae train` beside Keras 3 on JAX and on TensorFlow (`bench/peers.py`)",
        "",
        f"`{meta['command']}`, {meta['date']}. Machine: {m['processor']}, {m['cores']} cores, ISA "
        f"{', '.join(m['isa']) or 'no AVX2/AVX-512'}; every process on {m['threads']} threads"
        + (" (but the column ours, `ae`'s threads)" if auto else "") + ". Load average "
        f"(1/5/15 min) at start {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f}, at end {lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f} "
        "(each run's own in the .json beside this file).",
        "",
        "Versions: " + "; ".join(versions) + ".",
        "",
        f"MNIST, {'the first %d' % meta['limit'] if meta['limit'] else 'all 60,000'} training images, the "
        "article's batch sizes, Adam at lr 1e-3; each epoch includes its validation pass over the 10,000 test "
        f"images. Median of {meta['epochs_measured']} epoch(s) after a first (compiling) one"
        + (f", median over {meta['rounds']} rounds" if meta["rounds"] > 1 else "")
        + ". params: ours; each peer's count is checked equal (a mismatch is listed in the notes)"
        + ". Ratio: the issue's peer's seconds (dense/deep/vae: Keras-JAX, the conv nets: Keras-TF, both in "
        "Keras's default float32) over ours (above 1: ours is faster)."
        + (" ours, `ae`'s threads: `ae train` with no thread variable set, as a user runs it: it takes the "
           "cores left idle when it starts (cli/cpu.py; the count it took in brackets)." if auto else "")
        + (" ours, `--compile`: `ae train --compile`, the whole step (forward, backward, Adam's update) one "
           "torch.compile graph (training/compiled_step.py); its first epoch compiles and is not measured, as the "
           "peers' is not." if "ours-compile" in sides else ""),
        "",
    ]
    compared = [s for s in sides if s in OURS and not OURS[s][2]]  # on the peers' threads
    head = ["net", "batch", "params"] + [f"{labels[s]} s/epoch" for s in sides] + \
           [f"issue's peer / {labels[o]}" for o in compared]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes = []
    for row in table:
        cells = [row["net"], str(row["batch"]), f"{row['params']:,}"]
        for side in sides:
            cell = _s(row.get(side))
            if side == "ours-auto" and row.get("ours-auto_threads"):
                cell += f" ({','.join(map(str, row['ours-auto_threads']))})"
            cells.append(cell)
        pair = row.get(ISSUE_PAIRING[row["net"]])
        for o in compared:
            cells.append(f"**{pair / row[o]:.2f}**" if pair and row.get(o) else "—")
        lines.append("| " + " | ".join(cells) + " |")
        for side in sides:
            if f"{side}_error" in row:
                notes.append(f"{row['net']}, {labels[side]}: failed: {row[f'{side}_error'][-400:]}")
            if f"{side}_params_mismatch" in row:
                notes.append(f"{row['net']}, {labels[side]}: {row[f'{side}_params_mismatch']} parameters, ours "
                             f"{row['params']}: not the same net")
        for side in sides:
            if "--precision" in OURS.get(side, ("", ()))[1] and row.get(f"{side}_precision"):
                notes.append(f"{row['net']}, {labels[side]}: ran in {', '.join(row[f'{side}_precision'])}")
        if row.get("ours_threads") not in (None, [], [m["threads"]]):
            notes.append(f"{row['net']}: ours ran on {row['ours_threads']} threads, not {m['threads']}")
        for run in runs:
            kept = (run.get("seconds") or [])[1:]
            if run["net"] == row["net"] and kept and max(kept) > NOISY * min(kept):
                notes.append(f"{row['net']}, {labels[run['side']]}: measured epochs spread "
                             f"{min(kept):.2f}-{max(kept):.2f} s (load {run['load_at_start']:.2f} at the run's "
                             "start): other load came and went")
    lines += ["", "Last epoch's training / validation loss (the same objective on every side: per-pixel BCE, "
              "the VAE's per-image negative ELBO; a sanity check, not a quality comparison after so few epochs):", ""]
    head = ["net"] + [labels[s] for s in sides]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table:
        cells = [row["net"]]
        for side in sides:
            loss, val = row.get(f"{side}_loss"), row.get(f"{side}_val_loss")
            cells.append(f"{loss:.4g} / {val:.4g}" if loss is not None else "—")
        lines.append("| " + " | ".join(cells) + " |")
    for p, error in meta["install_errors"].items():
        notes.append(f"{PEERS[p].label}: `pip install {' '.join(meta['pins'][p])}` failed, so no {PEERS[p].label} "
                     f"column: {error[-600:]}")
    lines += ["", "How each side runs: ours `python -m autoencoders train NET --data mnist --optimizer adam` "
              "(OMP_NUM_THREADS and `ae`'s GOMP_SPINCOUNT set; seconds from history.jsonl); the peers "
              "`bench/peers_keras.py` in their own venvs at the exact pins "
              + "; ".join(dict.fromkeys(f"`{' '.join(pins)}`" for pins in meta["pins"].values()))
              + " (XLA intra-op threads for JAX, TF intra-op threads with inter-op 1; Keras's default "
              "`jit_compile`, channels-last images; Keras's default float32 unless the column says "
              "mixed_bfloat16; seconds from on_epoch_begin to on_epoch_end)."]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
