"""The Trainer's callbacks: logging (progress bar, epoch lines, TensorBoard, history.jsonl),
checkpoints, early stopping, and a plain per-epoch hook.

A callback overrides any of `on_fit_start(trainer)`, `on_epoch_start(trainer, epoch, n_batches)`,
`on_batch_end(trainer, batch, n_batches)`, `on_epoch_end(trainer, record) -> bool | None` (True
stops training after this epoch) and `on_fit_end(trainer)` (also called when training fails).
The Trainer calls them in list order; every `on_epoch_end` runs even when one asks to stop.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import TrainingError
from ..fileio import write_text
from . import distributed as dist
from .checkpoint import kept_checkpoint, save_state, unwrap

TB_CLOSE_SECONDS = 3.0


class Callback:
    """Does nothing at every hook: subclass it and override what you need."""

    def on_fit_start(self, trainer) -> None:
        pass

    def on_epoch_start(self, trainer, epoch: int, n_batches: int) -> None:
        pass

    def on_batch_end(self, trainer, batch: int, n_batches: int) -> None:
        pass

    def on_epoch_end(self, trainer, record: dict) -> bool | None:
        return None

    def on_fit_end(self, trainer) -> None:
        pass


class Checkpoint(Callback):
    """Writes state/ and model.safetensors into `out` after every epoch (rank 0 only).

    metadata : what identifies the weights (e.g. {"model": name, "input_shape": [...]}); the
    epoch is added. Everything else about the run belongs in config.json.
    """

    def __init__(self, out, metadata: dict | None = None):
        self.out, self.metadata = Path(out), dict(metadata or {})

    def on_epoch_end(self, trainer, record: dict) -> None:
        if dist.is_main():
            meta = {**self.metadata, "epoch": trainer.state.epoch}
            average = trainer.average.state_dict() if trainer.average is not None else None
            save_state(self.out, unwrap(trainer.model), trainer.optimizer, trainer.state.to_dict(), meta, average)
        dist.barrier()


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for `patience` epochs (TrainerState.stale)."""

    def __init__(self, patience: int, *, quiet: bool = False):
        self.patience, self.quiet = int(patience), quiet

    def on_epoch_end(self, trainer, record: dict) -> bool:
        stop = trainer.state.stale >= self.patience
        if stop and not self.quiet and dist.is_main():
            print(f"early stop: validation loss has not improved for {self.patience} epochs")
        return stop


class EpochHook(Callback):
    """`fn(record, model, data) -> bool`: called after each epoch's checkpoint; True stops training."""

    def __init__(self, fn, data=None):
        self.fn, self.data = fn, data

    def on_epoch_end(self, trainer, record: dict) -> bool:
        return bool(self.fn(record, unwrap(trainer.model), self.data))


class RunLogger(Callback):
    """Writes `history.jsonl` and `tb/` in the run directory and prints epoch summaries.

    Only the main process logs (distributed.is_main). `on_batch(epoch,
    epochs, batch, batches)` is told of every batch, shown or not: `ae reproduce` draws one bar
    over all its experiments from it.
    """

    def __init__(self, run_dir, *, quiet: bool = False, on_batch=None):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.quiet = quiet
        self.enabled = dist.is_main()
        self.on_batch = on_batch if self.enabled else None
        self._tb = None
        self._bar = None

    def on_fit_start(self, trainer) -> None:
        """On resume, history.jsonl and TensorBoard drop what came after the checkpoint's epoch."""
        if self.enabled and self.run_dir is not None:
            self._truncate_history(trainer.state.epoch)
            self._tb = _summary_writer(self.run_dir / "tb", purge_step=trainer.state.epoch + 1)

    def progress(self, total: int, epoch: int, epochs: int):
        """A per-epoch bar over batches; silent when not a TTY or when quiet."""
        disable = self.quiet or not self.enabled or not sys.stderr.isatty()
        bar = tqdm(total=total, desc=f"epoch {epoch}/{epochs}", leave=False, disable=disable, unit="batch")
        return bar if self.on_batch is None else _Reporting(bar, self.on_batch, epoch, epochs, total)

    def on_epoch_start(self, trainer, epoch: int, n_batches: int) -> None:
        self._bar = self.progress(n_batches, epoch, trainer.config.epochs)

    def on_batch_end(self, trainer, batch: int, n_batches: int) -> None:
        self._bar.update()

    def on_epoch_end(self, trainer, record: dict) -> None:
        self._close_bar()
        self.epoch_end(record)

    def on_fit_end(self, trainer) -> None:
        self._close_bar()
        self.close()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def epoch_end(self, record: dict) -> None:
        if not self.enabled:
            return
        if not self.quiet:
            print(_summary_line(record), flush=True)
        if self.run_dir is None:
            return
        path = self.run_dir / "history.jsonl"
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
        except OSError as e:  # a torn line is dropped on reading; the checkpoint is written after this
            raise TrainingError(f"{e.strerror or e} while writing {path}; {kept_checkpoint(self.run_dir)}") from None
        if self._tb is None:
            return
        for split in ("train", "val"):
            for name, value in record.get(split, {}).items():
                self._tb.add_scalar(f"{name}/{split}", value, record["epoch"])
        if "lr" in record:
            self._tb.add_scalar("lr", record["lr"], record["epoch"])
        self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            tb, self._tb = self._tb, None
            _close_within(tb, TB_CLOSE_SECONDS)

    def _truncate_history(self, start_epoch: int) -> None:
        """On resume, drop records after the checkpoint's epoch (they were never checkpointed)."""
        keep = [r for r in read_history(self.run_dir) if r["epoch"] <= start_epoch]
        if keep or (self.run_dir / "history.jsonl").exists():
            write_text(self.run_dir / "history.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in keep))


class _Reporting:
    """A per-epoch bar that also calls `hook(epoch, epochs, batch, batches)` after each update."""

    def __init__(self, bar, hook, epoch: int, epochs: int, total: int):
        self.bar, self.hook, self.epoch, self.epochs, self.total, self.done = bar, hook, epoch, epochs, total, 0

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)
        self.done += n
        self.hook(self.epoch, self.epochs, self.done, self.total)

    def close(self) -> None:
        self.bar.close()


def read_history(run_dir) -> list[dict]:
    """The records of history.jsonl, one per finished epoch.

    A crash while appending leaves a torn last line (no newline at its end): it is dropped,
    since the weights and checkpoint of that epoch are whole. A damaged line elsewhere is an error.
    """
    path = Path(run_dir) / "history.jsonl"
    if not path.exists():
        return []
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TrainingError(f"{path}: cannot read ({e}); delete it to go on without the history") from None
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = _record(line)
        if record is None:
            if number == len(lines):  # the torn last line of an interrupted append
                break
            raise TrainingError(f"{path} line {number}: not a history record; delete that line (or the "
                                "file) to go on: the weights do not depend on it")
        records.append(record)
    return records


def _record(line: str) -> dict | None:
    """One epoch's record, or None for anything else (a torn or edited line)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    ok = isinstance(record, dict) and isinstance(record.get("epoch"), int) and isinstance(record.get("train"), dict) \
        and isinstance(record.get("val", {}), dict)  # runs of your own data may have no validation split
    return record if ok else None


def _summary_line(r: dict) -> str:
    fmt = lambda d: " ".join(f"{k}={v:.4f}" for k, v in d.items())  # noqa: E731
    lr = f"  lr {r['lr']:.2e}" if "lr" in r else ""
    val = f"  val {fmt(r['val'])}" if "val" in r else ""
    return f"epoch {r['epoch']:>3}  train {fmt(r['train'])}{val}{lr}  ({r['seconds']:.1f}s)"


def _close_within(writer, seconds: float) -> None:
    """Close a SummaryWriter, giving up after `seconds`: a Ctrl-C that lands inside its queue's
    locks can leave its writer thread waiting forever, and closing would then hang the process.
    Every epoch's events were flushed already (epoch_end), and history.jsonl holds them all."""
    closer = threading.Thread(target=writer.close, name="tensorboard-close", daemon=True)
    closer.start()
    closer.join(seconds)
    if closer.is_alive():
        print(f"TensorBoard's writer did not close within {seconds:g} s; left it (every finished epoch's "
              "events were written)", file=sys.stderr)


def _summary_writer(path: Path, purge_step: int):
    from torch.utils.tensorboard import SummaryWriter  # imported late: tensorboard is slow to import

    return SummaryWriter(log_dir=str(path), purge_step=purge_step)
