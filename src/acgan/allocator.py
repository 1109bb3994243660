"""The C allocator's settings for a process that trains or evaluates on a CPU.

glibc's malloc serves every block over 128 KiB (a dynamic threshold it raises only to the largest block freed) with
a fresh mmap, and gives freed memory at the top of its heap back to the system. A training step allocates and frees
the same few-MB activations and gradients every time, so each of them comes back as new pages that the kernel must
fault in and zero: on a 2-core CPU the demo's step ran about 1.3x faster with both limits raised
(docs/benchmarks.md, "The C allocator"). The same fix Intel's PyTorch guides reach with jemalloc or tcmalloc, here
without a preload: blocks up to 32 MiB (glibc's largest threshold) come from the heap, and freed memory stays until
more than 256 MiB of it is free at the heap's top.
"""
from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
OPT_OUT = "ACGAN_SYSTEM_MALLOC"  # set (to anything) to keep the allocator as it is


def keep_freed_memory() -> str:
    """Raise glibc's mmap and trim thresholds for this process; what was done, in a few words. Leaves the allocator
    alone where the user chose its settings (GLIBC_TUNABLES naming malloc, MALLOC_*_ variables, ACGAN_SYSTEM_MALLOC,
    an LD_PRELOADed allocator) or where there is no glibc (macOS, musl)."""
    if not sys.platform.startswith("linux"):
        return "not glibc: allocator unchanged"
    env = os.environ
    if env.get(OPT_OUT) or "malloc" in env.get("GLIBC_TUNABLES", "") or "malloc" in env.get("LD_PRELOAD", "") \
            or any(k.startswith("MALLOC_") and k.endswith("_") for k in env):
        return "allocator settings left as the environment sets them"
    try:
        libc = ctypes.CDLL("libc.so.6")
        done = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(M_TRIM_THRESHOLD,
                                                                                  TRIM_THRESHOLD) == 1
    except (OSError, AttributeError):
        return "not glibc: allocator unchanged"
    return "freed memory kept for reuse (mmap threshold 32 MiB, trim threshold 256 MiB)" if done \
        else "glibc refused the allocator settings: unchanged"
