"""Where training runs: the device, the DDP process group `torchrun` describes, and bf16 autocast."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from trajtok.errors import ConfigError

DEVICE_NAMES = "cpu, cuda, cuda:N, mps"


def select_device(name: str) -> torch.device:
    """`auto`: the CUDA GPU, else Apple's MPS, else the CPU; a named device that is not there is an error."""
    if name == "auto":
        kinds = ("cuda", "mps", "cpu")
        return torch.device(next(kind for kind in kinds if device_problem(kind) is None))
    if problem := device_problem(name):
        raise ConfigError(f"config: device={name} but {problem}; use device=auto")
    return torch.device(name)


def device_problem(name: str) -> str | None:
    """Why torch cannot run on the device `name` on this machine, or None when it can."""
    try:
        device = torch.device(name)
    except RuntimeError:
        return f"torch knows no device {name!r} ({DEVICE_NAMES})"
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return "this machine has no CUDA device"
        if device.index is not None and device.index >= count:
            return f"this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            return "this machine has no MPS device"
    elif device.type != "cpu":
        return f"trajtok runs on {DEVICE_NAMES}, not {name!r}"
    return None


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_name: str) -> Distributed:
    """Join the process group `torchrun` describes in the environment (nccl on GPU, gloo on CPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_nccl = device_name in ("auto", "cuda") and torch.cuda.is_available()
        dist.init_process_group("nccl" if use_nccl else "gloo")
    return Distributed(rank, world_size, local_rank)


@dataclass
class Runtime:
    device: torch.device
    ddp: Distributed
    autocast: torch.autocast  # bf16 on a GPU when asked; a no-op elsewhere

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module to train: DDP around `model` under torchrun, else `model` itself."""
        if not self.ddp.enabled:
            return model
        return DistributedDataParallel(
            model, device_ids=[self.device.index] if self.device.type == "cuda" else None
        )


def setup_runtime(device_name: str, threads: int, bf16: bool) -> Runtime:
    """Threads, the process group, the device (this rank's GPU under DDP) and the autocast context."""
    if threads:
        torch.set_num_threads(threads)
    ddp = init_distributed(device_name)
    device = select_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", ddp.local_rank)
        torch.cuda.set_device(device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda")
    return Runtime(device, ddp, autocast)
