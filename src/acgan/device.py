"""Where and in which precision tensors run: device choice, bf16 policy, autocast, CPU feature detection."""
from __future__ import annotations

import contextlib
import os
from functools import lru_cache

import torch

from .errors import UserError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA GPU is visible: use --device cpu or auto")
    return torch.device(name)


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AVX512-BF16 or AMX), where bf16 autocast pays off."""
    flags = _cpu_model()[1].split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


@lru_cache(maxsize=1)
def _cpu_model() -> tuple[str, str]:
    """(model name, the vector-instruction flags that decide fp32 and bf16 kernels) from /proc/cpuinfo."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return platform.processor() or platform.machine(), ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                 platform.machine())
    words = set(text.split())
    return model, " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in words)


def cpu_signature() -> str:
    """What decides which kernels run, and so speeds and fp32 round-off: CPU model, its vector instructions, the
    thread count and torch's version. Two machines that print the same model name may differ in instructions."""
    model, flags = _cpu_model()
    kernels = torch.backends.cpu.get_cpu_capability()  # what ATen uses, which ATEN_CPU_CAPABILITY can lower
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")  # the same for oneDNN's convolutions
    return (f"{model} [{flags}] kernels {kernels}{f' onednn {isa}' if isa else ''} threads {torch.get_num_threads()}"
            f" torch {torch.__version__}")


def resolve_precision(name: str, device: torch.device) -> str:
    """'auto' picks bf16 where the hardware runs it fast (CUDA with bf16, or a CPU with bf16 instructions)."""
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def autocast(device: torch.device, precision: str, cache: bool = True):
    """bf16 autocast around forward passes; weights, optimiser state and losses stay fp32. `cache`: keep the weights
    cast once per autocast region (off while a CUDA graph records)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, cache_enabled=cache)
    return contextlib.nullcontext()
