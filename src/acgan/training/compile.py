"""torch.compile for G and D, only when it works here: proven on one trial step, otherwise eager mode."""
from __future__ import annotations

import copy

import torch

from ..device import autocast


def try_compile(trainer) -> str:
    """torch.compile G and D, proven on one trial step shaped as a training step; any failure keeps eager mode.

    The trial runs D twice (a real and a generated batch) before D's backward, then G's backward through D: a
    compiled D with spectral norm in both nets saved a power-iteration vector that its next forward updated in
    place, which one forward and one backward never showed (the first real step stopped on autograd's version
    check). The trial leaves no trace: weights, BatchNorm buffers, gradients and RNG state are restored."""
    saved = copy.deepcopy((trainer.G.state_dict(), trainer.D.state_dict()))
    rng = torch.get_rng_state()
    try:
        g, d = torch.compile(trainer.G), torch.compile(trainer.D)
        n, dev = trainer.cfg.batch_size, trainer.device
        z = torch.randn(n, trainer.cfg.z_dim, device=dev)
        y = torch.zeros(n, dtype=torch.long, device=dev)
        with autocast(dev, trainer.precision):
            fake = g(z, y)
            real = torch.rand_like(fake) * 2 - 1
            (src_r, cls_r), (src_f, cls_f) = d(real), d(fake.detach())
        (src_r.float().sum() + cls_r.float().sum() - src_f.float().sum() - cls_f.float().sum()).backward()
        with autocast(dev, trainer.precision):
            src, cls = d(fake)
        (src.float().sum() + cls.float().sum()).backward()
        trainer.g_forward, trainer.d_forward = g, d
        note = "torch.compile"
    except Exception as e:  # compilers fail in many ways: fall back, say why
        said = str(e).splitlines()[0] if str(e) else ""
        if "modified by an inplace operation" in said:  # the case above, said so that a person can act on it
            note = ("eager (torch.compile failed: the compiled D trips autograd's in-place check on spectral norm's "
                    "power iteration)")
        else:
            note = f"eager (torch.compile failed: {type(e).__name__}: {said[:120]})"
    finally:
        trainer.G.load_state_dict(saved[0])
        trainer.D.load_state_dict(saved[1])
        trainer.G.zero_grad(set_to_none=True)
        trainer.D.zero_grad(set_to_none=True)
        torch.set_rng_state(rng)
    return note
