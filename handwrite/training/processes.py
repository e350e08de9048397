"""Where a training process runs: its device and mixed-precision type, and its place among the
ranks when torchrun starts one process per rank (RANK, WORLD_SIZE, LOCAL_RANK), with the
collective calls training needs (gloo on CPU, nccl on CUDA)."""
from __future__ import annotations

import datetime
import io
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from ..choices import DEVICES
from ..weights import WeightsError


def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' | 'cpu' | 'cuda' -> the device of this process (cuda:LOCAL_RANK on CUDA)."""
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but PyTorch sees no CUDA device")
    if local_rank >= torch.cuda.device_count():
        raise ValueError(f"local rank {local_rank} has no GPU: this machine has {torch.cuda.device_count()}")
    return torch.device("cuda", local_rank)


def autocast_dtype(device: torch.device) -> torch.dtype:
    """bf16 for mixed precision, except on GPUs without native bf16 (before Ampere): fp16."""
    if device.type != "cuda":
        return torch.bfloat16
    try:
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:   # older PyTorch: no emulation to exclude
        native = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if native else torch.float16


@dataclass
class Processes:
    """This process's place among the ranks, and the collective calls training needs."""
    rank: int
    world: int
    local_rank: int
    device: torch.device
    own_group: bool = False      # set up here (and so torn down here), not by the caller
    stop_asked: bool = False     # set by SIGINT/SIGTERM

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def master(self) -> bool:
        return self.rank == 0

    def on_signal(self, signum, frame) -> None:
        self.stop_asked = True

    def barrier(self) -> None:
        if self.distributed and self.device.type == "cuda":
            dist.barrier(device_ids=[self.device.index])
        elif self.distributed:
            dist.barrier()

    def agreed_stop(self) -> bool:
        """Every rank must leave the loop at the same step: one rank's signal stops them all."""
        if not self.distributed:
            return self.stop_asked
        flag = torch.tensor([float(self.stop_asked)], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def summed(self, value: float) -> float:
        """`value` summed over the ranks."""
        if not self.distributed:
            return value
        total = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return total.item()

    def close(self) -> None:
        if not self.own_group:
            return
        # every rank waits here until rank 0 has written its checkpoint: a rank that
        # tears its connections down while another still uses them can abort the other
        try:
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=120)) if self.device.type == "cpu" else dist.barrier()
        except RuntimeError:
            pass    # a rank already gone: nothing left to wait for
        dist.destroy_process_group()


def start_processes(device_name: str) -> Processes:
    """Join (or set up) the process group that torchrun's environment describes."""
    if dist.is_available() and dist.is_initialized():   # the caller set up the process group
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    procs = Processes(rank, world, local_rank, pick_device(device_name, local_rank if world > 1 else 0))
    if procs.distributed and not dist.is_initialized():
        if procs.device.type == "cuda":
            torch.cuda.set_device(procs.device)
        dist.init_process_group("nccl" if procs.device.type == "cuda" else "gloo")
        procs.own_group = True
    return procs


def read_checkpoint_everywhere(path: Path, wanted: bool, master: bool, distributed: bool,
                               device: torch.device) -> dict | None:
    """Rank 0 reads `path` (when wanted and present) and sends the bytes to every rank,
    so resuming needs no shared file system.  None: start fresh."""
    data = path.read_bytes() if master and wanted and path.is_file() else b""
    if distributed:
        size = torch.tensor([len(data)], dtype=torch.int64, device=device)
        dist.broadcast(size, src=0)
        buf = torch.empty(int(size.item()), dtype=torch.uint8, device=device)
        if len(buf):
            if master:
                buf.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
            dist.broadcast(buf, src=0)
        data = buf.cpu().numpy().tobytes()
    if not data:
        return None
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for damaged files
        raise WeightsError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from None
