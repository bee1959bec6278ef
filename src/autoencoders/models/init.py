"""Weight initialization chosen per layer type, as Keras does by default.

Keras's defaults are what the article's numbers were reached with; the benchmark's idiomatic
path (benchmark/suite.py) trains the same nets with PyTorch's default init beside them.
"""

from __future__ import annotations

from torch import nn


def keras_init(module: nn.Module) -> None:
    """Glorot-uniform kernels and zero biases for dense/conv layers; orthogonal recurrent weights.

    Glorot & Bengio (2010), http://proceedings.mlr.press/v9/glorot10a.html.
    """
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.LSTM, nn.GRU)):
            _init_recurrent(m)


def _init_recurrent(rnn: nn.Module) -> None:
    """Keras's LSTM/GRU defaults: Glorot input kernel, orthogonal recurrent kernel, LSTM forget bias 1."""
    gates = 4 if isinstance(rnn, nn.LSTM) else 3
    for name, param in rnn.named_parameters():
        if name.startswith("weight_ih"):
            for chunk in param.data.chunk(gates, 0):
                nn.init.xavier_uniform_(chunk)
        elif name.startswith("weight_hh"):
            for chunk in param.data.chunk(gates, 0):
                nn.init.orthogonal_(chunk)
        elif name.startswith("bias"):
            nn.init.zeros_(param)
            if gates == 4 and name.startswith("bias_ih"):
                param.data[rnn.hidden_size : 2 * rnn.hidden_size] = 1.0
