"""How much of a data set may be held in memory: the rest is read from its prepared store as batches need it."""
from __future__ import annotations

import os

import torch


def available_ram() -> int:
    """Bytes of memory the system could give now (MemAvailable), or the total when that is not known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_budget(data_memory_gb: float | None, device: torch.device) -> float:
    """Bytes of images to hold: `data_memory_gb` when set, else half the available RAM and, for a CUDA device
    (where the images are held), half its free memory too."""
    if data_memory_gb is not None:
        return data_memory_gb * 2 ** 30
    budget = available_ram() / 2
    if device.type == "cuda":
        budget = min(budget, torch.cuda.mem_get_info(device)[0] / 2)
    return budget
