"""The accelerator's memory, as the batch sizer sees it.

A MemoryMeter reports the memory free for batches now, and the peak a batch used. On a
unified-memory machine (a DGX Spark / GB10: the GPU is integrated and shares system RAM) the
GPU's free memory is also the host's, so the budget is the smaller of CUDA's free memory and
the system's available memory: what the host process tree holds shows up as smaller batches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

GIB = 1 << 30


def cuda_gpu_present() -> bool:
    """Whether an NVIDIA GPU is here, without importing torch (seconds): the driver's proc
    entries or device nodes. Engines use it to decide whether auto-routing may pick them."""
    return Path("/proc/driver/nvidia/gpus").is_dir() or Path("/dev/nvidia0").exists()


class MemoryMeter(Protocol):
    device: str  # what it measures, for build.json ("cuda:0 NVIDIA H200")
    unified: bool  # the device shares the host's memory
    reserve_bytes: int  # kept free for everything else (fragmentation, other processes)

    def free_bytes(self) -> int: ...
    def reset_peak(self) -> None: ...
    def peak_bytes(self) -> int:
        """The most memory allocated since reset_peak(), above what was allocated then."""
        ...


class TorchCudaMeter:
    """torch.cuda's view of one device (imported only by engines that use torch)."""

    def __init__(self, device: Any = None) -> None:
        import torch

        self._torch = torch
        self._index = torch.device(device or "cuda").index or 0
        props = torch.cuda.get_device_properties(self._index)
        self.device = f"cuda:{self._index} {props.name}"
        self.unified = bool(getattr(props, "is_integrated", False))
        self.reserve_bytes = max(GIB, props.total_memory // 20)
        self._base = 0

    def free_bytes(self) -> int:
        free, _total = self._torch.cuda.mem_get_info(self._index)
        if self.unified:
            import psutil

            free = min(free, psutil.virtual_memory().available)
        return int(free)

    def reset_peak(self) -> None:
        cuda = self._torch.cuda
        cuda.synchronize(self._index)
        cuda.reset_peak_memory_stats(self._index)
        self._base = cuda.memory_allocated(self._index)

    def peak_bytes(self) -> int:
        cuda = self._torch.cuda
        cuda.synchronize(self._index)
        return int(cuda.max_memory_allocated(self._index) - self._base)


def torch_meter(device: Any) -> MemoryMeter | None:
    """A meter for a torch device: CUDA ones only (a CPU has no peak to read back)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    return TorchCudaMeter(device)
