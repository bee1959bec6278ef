"""A model's forward FLOPs per sample: what `ae bench` holds against the machine's peak, and what
`ae reproduce`'s progress bar weighs each experiment's epochs by.

FLOPs are counted per layer by PyTorch's `FlopCounterMode` (matmuls and convolutions: forward
multiply-adds x 2).
"""

from __future__ import annotations

import functools

import torch
from torch.utils.flop_counter import FlopCounterMode


def forward_flops(model: torch.nn.Module, sample: torch.Tensor) -> float:
    """Forward FLOPs per sample (matmul/conv multiply-adds x 2), counted on one batch.

    FlopCounterMode does not see inside PyTorch's fused LSTM/GRU kernels (it counts 0 for them),
    so recurrent layers are counted by hand: gates x hidden x (input + hidden) x 2 per step.
    """
    recurrent = {"n": 0}
    hooks = [m.register_forward_hook(functools.partial(_count_recurrent, total=recurrent))
             for m in model.modules() if isinstance(m, torch.nn.RNNBase)]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    return (counter.get_total_flops() + recurrent["n"]) / len(sample)


def _count_recurrent(module: torch.nn.RNNBase, inputs, output, total: dict) -> None:
    x = inputs[0]
    steps = x.shape[1] if module.batch_first else x.shape[0]
    batch = x.shape[0] if module.batch_first else x.shape[1]
    gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
    directions = 2 if module.bidirectional else 1
    width = module.input_size
    for _ in range(module.num_layers):
        total["n"] += 2 * gates * module.hidden_size * (width + module.hidden_size) * steps * batch * directions
        width = module.hidden_size * directions
