"""MS-SSIM pairs/s: ours (the blur this machine picked, and each blur forced) against pytorch-msssim, interleaved
round by round so a noisy machine slows all alike; best of 7 rounds (docs/benchmarks.md, "MS-SSIM against
pytorch-msssim"). Usage: python benchmarks/bench-ms-ssim.py"""
import importlib
import time

import torch
from pytorch_msssim import ms_ssim as reference

from acgan.device import cpu_signature

M = importlib.import_module("acgan.metrics.ms_ssim")


def forced(name, x, y):
    chosen = M.strategy
    M.strategy = lambda shape, device: name
    try:
        return M.ms_ssim(x, y)
    finally:
        M.strategy = chosen


def main():
    print(cpu_signature())
    for px, c, n in ((192, 3, 32), (64, 3, 128), (32, 3, 256), (28, 1, 256)):
        gen = torch.Generator().manual_seed(0)
        x, y = torch.rand(n, c, px, px, generator=gen), torch.rand(n, c, px, px, generator=gen)
        fns = {"ours": lambda: M.ms_ssim(x, y)}
        fns.update({name: (lambda name=name: forced(name, x, y)) for name in M.BLURS})
        if px >= 176:  # pytorch-msssim refuses smaller images (its 5 scales need 11 px at the coarsest)
            fns["pytorch-msssim"] = lambda: reference(x, y, data_range=1.0, size_average=False)
        best = dict.fromkeys(fns, float("inf"))
        for f in fns.values():
            f()
        for _ in range(7):
            for name, f in fns.items():
                start = time.perf_counter()
                f()
                best[name] = min(best[name], time.perf_counter() - start)
        line = f"{px} px x{c}, {n} pairs: " + ", ".join(f"{k} {n / t:,.0f}" for k, t in best.items())
        if "pytorch-msssim" in best:
            line += f" pairs/s; ours / pytorch-msssim = {best['pytorch-msssim'] / best['ours']:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
