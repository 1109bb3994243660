"""torch.compile for G and D, only when it works here: proven on one trial step, otherwise eager mode."""
from __future__ import annotations

import copy

import torch
from torch.nn.utils import parametrizations

from ..device import autocast


def with_fresh_power_vectors(net: torch.nn.Module, compiled):
    """`compiled` (torch.compile of `net`), called with spectral norm's power-iteration vectors replaced by copies
    of themselves first. A compiled graph saves those vectors for backward, and the next forward's power iteration
    updates them in place: with two D passes before D's backward (real, then generated), autograd's version check
    stopped training at the first step. Fresh tensors of the same values leave the saved ones untouched; the maths
    is eager mode's (one power iteration a forward), and the graph is not recompiled (the buffers are inputs)."""
    norms = [m for m in net.modules() if isinstance(m, getattr(parametrizations, "_SpectralNorm", ()))]
    if not norms:
        return compiled

    def forward(*args, **kwargs):
        for m in norms:
            m._u, m._v = m._u.clone(), m._v.clone()  # re-registers the buffers: state_dict sees these
        return compiled(*args, **kwargs)
    return forward


def try_compile(trainer) -> str:
    """torch.compile G and D, proven on one trial step shaped as a training step; any failure keeps eager mode.

    The trial runs D twice (a real and a generated batch) before D's backward, then G's backward through D, as a
    training step does: one forward and one backward never showed the in-place failure `with_fresh_power_vectors`
    avoids. The trial leaves no trace: weights, buffers, gradients and RNG state are restored."""
    saved = copy.deepcopy((trainer.G.state_dict(), trainer.D.state_dict()))
    rng = torch.get_rng_state()
    try:
        g = with_fresh_power_vectors(trainer.G, torch.compile(trainer.G, dynamic=False))
        d = with_fresh_power_vectors(trainer.D, torch.compile(trainer.D, dynamic=False))
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
        note = f"eager (torch.compile failed: {type(e).__name__}: {said[:120]})"
    finally:
        trainer.G.load_state_dict(saved[0])
        trainer.D.load_state_dict(saved[1])
        trainer.G.zero_grad(set_to_none=True)
        trainer.D.zero_grad(set_to_none=True)
        torch.set_rng_state(rng)
    return note
