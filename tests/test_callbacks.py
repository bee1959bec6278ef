"""training/callbacks.py: the run logger's files and its shutdown."""

import threading

from autoencoders.training import callbacks
from autoencoders.training.callbacks import RunLogger


class StuckWriter:
    """A SummaryWriter whose writer thread never ends, as after a Ctrl-C inside its queue's locks."""

    def __init__(self):
        self.release, self.closed = threading.Event(), False

    def close(self):
        self.release.wait(20)
        self.closed = True


def test_a_tensorboard_writer_that_never_closes_does_not_hang_the_run(monkeypatch, capsys):
    monkeypatch.setattr(callbacks, "TB_CLOSE_SECONDS", 0.05)
    logger, writer = RunLogger(None), StuckWriter()
    logger._tb = writer
    logger.close()
    assert not writer.closed  # close returned while the writer was still stuck
    assert "did not close" in capsys.readouterr().err
    writer.release.set()
    logger.close()  # a second close has nothing left to close
