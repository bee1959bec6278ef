"""Distribution in one place: the only module that reads RANK / LOCAL_RANK / WORLD_SIZE.

Processes are started by PyTorch's own launcher (`torchrun`), which sets those variables and
handles failures (a dead rank makes the others stop); we add only what the trainer asks:
`is_main()`, `world_size()`, `barrier()`, `all_reduce_sum()`, and the DDP wrapper.
Backends: NCCL on CUDA, gloo on CPU (pytorch/examples `multigpu_torchrun.py`).
"""

from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_distributed() -> bool:
    return world_size() > 1


def is_main() -> bool:
    return rank() == 0


def setup(device: torch.device) -> torch.device:
    """Join the process group (once) and return this rank's device (cuda:LOCAL_RANK on GPUs)."""
    if not is_distributed():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", local_rank())
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        timeout = datetime.timedelta(seconds=int(os.environ.get("AE_DIST_TIMEOUT", "300")))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timeout)
    return device


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel when distributed, the model itself otherwise."""
    if not is_distributed():
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier() -> None:
    if is_distributed() and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum of `t` over ranks (in place), `t` itself when not distributed."""
    if is_distributed() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def shard(*tensors: torch.Tensor) -> tuple[tuple, float]:
    """This rank's contiguous part of each tensor of a global batch, and its loss scale.

    DDP averages gradients over ranks; scaling each rank's mean loss by n_rank * world / n_global
    makes that average the gradient of the global batch's mean loss, even when the batch does not
    split evenly (parts differ by at most one row).
    """
    n_world = world_size()
    if n_world == 1:
        return tensors, 1.0
    parts = tuple(torch.tensor_split(t, n_world)[rank()] for t in tensors)
    return parts, len(parts[0]) * n_world / len(tensors[0])


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
