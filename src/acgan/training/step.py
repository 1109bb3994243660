"""One training iteration as one function of its inputs: `d_steps` D updates, one G update and G's EMA, with the
step's statistics added to a running sum on the device.

Both ways of stepping call it: the plain step (loop.py) hands it the real batches, rates and EMA weight as they come;
a replayed step (captured.py) hands it tensors of fixed address that are refilled before each replay. It reads no
value back from the device and branches only on the configuration, so a CUDA graph can record it once.
"""
from __future__ import annotations

import torch

from ..device import autocast
from ..losses.terms import StepView
from ..models.augment import diff_augment
from ..optim.nonfinite import skip_if_not_finite
from .noise import training_inputs


class StepMaths:
    """The iteration half of Trainer (loop.py); the trainer's attributes are its state."""

    def _d_step(self, real: tuple[torch.Tensor, torch.Tensor], keep_graph: bool) -> tuple[dict, StepView]:
        """One D update on `real` (images, labels) and a fresh generated batch; returns (its stats, what it
        computed)."""
        cfg, dev = self.cfg, self.device
        x_real, y_real = real
        z, y_fake = training_inputs(cfg, self.num_classes, dev, self.dist.rank * self.local_batch, self.local_batch)
        with self.autocast(), torch.set_grad_enabled(keep_graph):
            fake = self.g_forward(z, y_fake)  # only the last D step's fakes need G's graph, for G's step
        with self.autocast():
            d_real, d_fake = self.d_forward(self.augment(x_real)), self.d_forward(self.augment(fake.detach()))
        d = self.loss.discriminator(d_real, d_fake, y_real, y_fake)
        view = StepView(x_real, y_real, fake, y_fake, d_real, d_fake)
        self._learn(d, self.d_terms, view, self.opt_d)
        return d, view

    def _learn(self, out: dict, terms: list, view: StepView, opt: torch.optim.Optimizer) -> None:
        """A player's extra terms added to its loss (`out`, with their values), then one update of its weights on
        it (skipped on the device where the loss is not finite, with nan_policy skip)."""
        for term in terms:
            added, out[term.name] = term(view)
            out["loss"] = out["loss"] + added
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if self.skip_nonfinite:
            self.skipped += skip_if_not_finite(opt, out["loss"])
        opt.step()

    def autocast(self):
        """bf16 autocast in the run's precision; without its cache of cast weights while a CUDA graph records (torch's
        make_graphed_callables refuses autocast's cache in a recording; we keep to the same rule)."""
        return autocast(self.device, self.precision, cache=not self.recording)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.augment_policy) if self.augment_policy else x

    def iteration(self, reals: list, ema_weight) -> torch.Tensor:
        """`d_steps` D updates on `reals` (one (images, labels) batch each), then one G update on the last generated
        batch, then G's EMA moved by `ema_weight` (a float or a 0-d tensor: 1 - beta). Adds the stats to
        self.sums and returns them (stat_keys' order)."""
        n = len(reals)
        for i, real in enumerate(reals):
            d, view = self._d_step(real, keep_graph=i == n - 1)

        self.D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        with self.autocast():
            g_out = self.d_frozen(self.augment(view.fake))
        g = self.loss.generator(g_out, view.fake_labels)
        view = StepView(view.real, view.real_labels, view.fake, view.fake_labels, d_fake=g_out)
        self._learn(g, self.g_terms, view, self.opt_g)
        if self.ema:
            self.ema.update(self.G, ema_weight)
        self.D.requires_grad_(True)
        if self.graphs_wanted:  # what a replayed step computed, for a look from outside (the next replay writes
            self.last_view = view  # over it); a plain step keeps nothing past its end
        out = {"d_loss": d["loss"], "g_loss": g["loss"], **d, **g}
        values = torch.stack([out[k].detach().float() for k in self.stat_keys])
        self.sums += torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0) if self.skip_nonfinite else values
        return values
