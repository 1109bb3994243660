"""What a checkpoint holds of a Trainer, and putting it back: everything resume needs for the same next step, and the
random streams that follow from the step."""
from __future__ import annotations

import torch

from ..errors import UserError
from ..models.common import ActivationNoise, FastDropout


def plain(optimizer_state: dict, rate: float) -> dict:
    """An optimiser's state as the plain step holds it: a replayed step's learning-rate tensor (captured.py; float32
    on CUDA) as the float `rate` the schedule set, and `capturable` off, so that checkpoints are the same whichever
    way the run stepped."""
    for group in optimizer_state["param_groups"]:
        if torch.is_tensor(group["lr"]):
            group["lr"], group["capturable"] = rate, False
    return optimizer_state


class TrainerState:
    """The checkpoint half of Trainer (loop.py): G, D, G's EMA, the loss terms' state, both optimisers, the RNGs."""

    def noise_streams(self) -> None:
        """Under torchrun, D's dropout and activation noise draw from a per-rank generator seeded by (seed, rank,
        step), so ranks get different masks while the global RNG (noise z and labels of the global batch) stays in
        step across ranks. One process keeps everything on the global RNG."""
        if not self.dist.active:
            return
        gen = torch.Generator(device=self.device)
        gen.manual_seed(self.cfg.seed * 1_000_003 + 7919 * (self.dist.rank + 1) + 104_729 * self.step)
        for m in self.D.modules():
            if isinstance(m, (FastDropout, ActivationNoise)):
                m.generator = gen

    def state(self) -> dict:
        ema = {"G_ema": self.sampler.state_dict()} if self.ema else {}
        terms = {t.name: t.state_dict() for t in self.d_terms + self.g_terms if t.state_dict()}
        return {"step": self.step, "G": self.G.state_dict(), "D": self.D.state_dict(), **ema, **terms,
                "opt_g": plain(self.opt_g.state_dict(), self.rates.current(self.opt_g)),
                "opt_d": plain(self.opt_d.state_dict(), self.rates.current(self.opt_d)),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state() if self.device.type == "cuda"
                else torch.zeros(0, dtype=torch.uint8)}

    def load_state(self, ckpt: dict, source: str) -> None:
        self.replay = None  # the optimisers' state is replaced: a graph recorded on the old tensors would train none
        try:
            self.G.load_state_dict(ckpt["G"])
            self.D.load_state_dict(ckpt["D"])
            self.opt_g.load_state_dict(ckpt["opt_g"])
            self.opt_d.load_state_dict(ckpt["opt_d"])
            if self.ema:
                self.ema.model.load_state_dict(ckpt["G_ema"])
            for term in self.d_terms + self.g_terms:
                if term.state_dict():
                    term.load_state_dict(ckpt[term.name])
        except (RuntimeError, KeyError, ValueError) as e:
            raise UserError(f"checkpoint {source} does not match the run's config ({str(e).splitlines()[0][:120]}): "
                            "resume with the config.json it was written with") from None
        torch.set_rng_state(ckpt["rng_cpu"])
        if self.device.type == "cuda" and ckpt["rng_cuda"].numel():
            torch.cuda.set_rng_state(ckpt["rng_cuda"])
        self.step = int(ckpt["step"])
        self.noise_streams()  # per-rank streams restart from (seed, rank, step)
