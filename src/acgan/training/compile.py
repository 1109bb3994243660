"""torch.compile for G and D, only when it works here: proven on one trial step, otherwise eager mode."""
from __future__ import annotations

import copy

import torch

from ..device import autocast


def try_compile(trainer) -> str:
    """torch.compile G and D, proven on one trial forward/backward; any failure keeps eager mode.

    The trial leaves no trace: weights, BatchNorm buffers, gradients and RNG state are restored."""
    saved = copy.deepcopy((trainer.G.state_dict(), trainer.D.state_dict()))
    rng = torch.get_rng_state()
    try:
        g, d = torch.compile(trainer.G), torch.compile(trainer.D)
        with autocast(trainer.device, trainer.precision):
            z = torch.randn(trainer.cfg.batch_size, trainer.cfg.z_dim, device=trainer.device)
            y = torch.zeros(trainer.cfg.batch_size, dtype=torch.long, device=trainer.device)
            src, cls = d(g(z, y))
        (src.float().sum() + cls.float().sum()).backward()
        trainer.g_forward, trainer.d_forward = g, d
        note = "torch.compile"
    except Exception as e:  # compilers fail in many ways: fall back, say why
        note = f"eager (torch.compile failed: {type(e).__name__}: {str(e).splitlines()[0][:120]})"
    finally:
        trainer.G.load_state_dict(saved[0])
        trainer.D.load_state_dict(saved[1])
        trainer.G.zero_grad(set_to_none=True)
        trainer.D.zero_grad(set_to_none=True)
        torch.set_rng_state(rng)
    return note
