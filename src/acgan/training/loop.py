"""The AC-GAN step engine: `d_steps` D steps then one G step per iteration (step.py), on one generated batch.

Per step: fake = G(z, c); D learns from D(x_real) and D(fake.detach()); then G learns from D(fake) with D's
weights frozen. Statistics stay on the device and are read back every `log_every` steps (one host sync). The
trainer writes nothing itself: `run()` hands checkpoints, grids and stats to the run directory it is given.
"""
from __future__ import annotations

import math
import signal
import time

import torch

from ..allocator import keep_freed_memory
from ..config import TrainConfig
from ..data import ImageData
from ..device import autocast, resolve_device
from ..errors import Interrupted
from ..losses import build_loss
from ..losses.terms import Peers, build_terms
from ..models import build_models, count_parameters
from ..models.augment import parse_policy
from ..optim.nonfinite import diverged, finite
from ..optim.schedule import LearningRates
from ..progress import progress as progress_bar
from ..rundir import RunDir, data_record
from . import timing
from .batches import make_batches
from .captured import WARMUP, Replay, unsupported
from .compile import try_compile
from .distributed import (
    PeerLost,
    average_,
    convert_batchnorm,
    gather_rows,
    init_distributed,
    is_peer_failure,
    local_batch,
    wrap,
)
from .ema import EMA, standing_statistics
from .monitor import CollapseMonitor
from .noise import fixed_grid_inputs
from .precision import choose_precision
from .signals import StopSignals
from .state import TrainerState
from .step import StepMaths


class Trainer(StepMaths, TrainerState):
    def __init__(self, cfg: TrainConfig, data: ImageData, *, distributed: bool = True):
        """`data` is already at the model's resolution; `distributed` False trains in this process alone even under
        torchrun (class-split groups)."""
        keep_freed_memory()  # every way of training (the command, scripts, the Python API) steps without page faults
        self.cfg = cfg
        self.dist, self.device = init_distributed(resolve_device(cfg.device), distributed)
        torch.manual_seed(cfg.seed)
        self.data_record = data_record(cfg.dataset, data.class_names, data.source_classes, data.channels,
                                       data.resolution, len(data.labels))
        self.loss = build_loss(cfg)
        peers = Peers(self.dist.rank, self.dist.world, lambda t: average_(t, self.dist), gather_rows) \
            if self.dist.active else Peers()
        terms = build_terms(cfg, self.device, peers)
        self.d_terms = [t for t in terms if t.player == "d"]
        self.g_terms = [t for t in terms if t.player == "g"]
        self.G, self.D = build_models(cfg, data.channels, data.resolution, data.num_classes,
                                      self.loss.class_outputs(data.num_classes), self.loss.class_proxies)
        memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.G.to(self.device, memory_format=memory_format)
        self.D.to(self.device, memory_format=memory_format)
        self.precision, self.precision_note = choose_precision(
            cfg.precision, self.device, self.G, self.D, z_dim=cfg.z_dim, num_classes=data.num_classes,
            batch_size=cfg.batch_size, measure=not self.dist.active,
            shape_key=f"{cfg.arch} g{cfg.g_width} d{cfg.d_width} z{cfg.z_dim} {cfg.loss} "
                      f"{data.channels}x{data.resolution}")
        # the EMA keeps plain BatchNorm: only rank 0 samples from it, and a synchronised layer would wait for the
        # others (same buffers, same state_dict keys, same eval-mode results)
        self.ema = EMA(self.G, cfg.ema_decay) if cfg.ema_decay else None
        self._standing_step = None
        if self.dist.active and cfg.sync_batchnorm:
            self.G, self.D = convert_batchnorm(self.G, self.device), convert_batchnorm(self.D, self.device)
        self.augment_policy = parse_policy(cfg.diffaugment)
        fused = {"fused": True} if self.device.type in ("cuda", "cpu") else {}
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=betas, **fused)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=betas, **fused)
        self.rates = LearningRates(cfg.lr_schedule, cfg.steps, [(self.opt_g, cfg.lr_g), (self.opt_d, cfg.lr_d)])
        all_fused = all(o.defaults.get("fused") for o in (self.opt_d, self.opt_g))  # found_inf needs fused Adam
        self.skip_nonfinite = cfg.nan_policy == "skip" and all_fused
        self.skipped = torch.zeros((), device=self.device)  # optimiser steps skipped for non-finite losses
        self.stat_keys = ("d_loss", "g_loss") + tuple(self.loss.stat_keys) + tuple(t.name for t in terms)
        self.local_batch = local_batch(cfg.batch_size, self.dist)
        self.batches = make_batches(data.images, data.labels, cfg.batch_size, cfg.seed, self.device,
                                    cfg.channels_last, self.dist.rank, self.dist.world, cfg.data_memory_gb)
        self.num_classes = data.num_classes
        self.step = 0
        self._grid_step, self._grid_time = None, timing.now()
        self.budget: timing.TimeBudget | None = None  # `acgan train --minutes`: run() sets cfg.steps by it
        # the callables of a step: compiled when cfg.compile works, DDP-wrapped under torchrun; G's step runs
        # the plain (or compiled) D, whose weights it does not train
        self.g_forward, self.d_forward = self.G, self.D
        self.compile_note = "eager"
        if self.dist.active:
            self.g_forward, self.d_forward = wrap(self.G, self.device), wrap(self.D, self.device)
            self.compile_note = f"DDP over {self.dist.world} processes" + (", compile ignored" if cfg.compile else "")
        elif cfg.compile:
            self.compile_note = try_compile(self)
        self.d_frozen = self.D if self.dist.active else self.d_forward
        self.sums = torch.zeros(len(self.stat_keys), device=self.device)  # the stats since the last log line
        self.recording, self.replay, self.last_view = False, None, None
        self.say = lambda msg: None  # run()'s log, for what a replayed step has to say
        self.graphs_wanted = False
        if cfg.cuda_graphs:
            why = unsupported(self)
            self.graphs_wanted = why is None
            self.compile_note = (f"CUDA graph replays of the whole step after {WARMUP} eager steps"
                                 if why is None else f"{self.compile_note}; cuda_graphs off: {why}")
        self.noise_streams()
        self.monitor = None
        if cfg.monitor_every and CollapseMonitor.usable(data.resolution):
            self.monitor = CollapseMonitor(data.images, data.labels, data.num_classes, cfg.z_dim,
                                           per_class=cfg.monitor_samples, pairs=cfg.monitor_pairs, seed=cfg.seed)

    def _diverged(self, run: RunDir, log, first: int, what: str = "the losses") -> None:
        error = diverged(max(first, 1), self.step, run.checkpoints(), what)
        log(str(error))
        raise error

    def _stop(self, run: RunDir, signum: int, log, main: bool) -> None:
        name = signal.Signals(signum).name
        if main:
            run.save_checkpoint(self.state(), self.step, self.cfg.keep_checkpoints)
            self.save_grid(run)
        msg = (f"stopped by {name} after step {self.step}: checkpoint saved; continue with "
               f"`acgan train --resume {run.path}`")
        log(msg)
        raise Interrupted(signum, msg)

    def summary(self) -> str:
        info, cfg = self.data_record, self.cfg
        return (f"{cfg.arch} on {info['dataset']} ({info['num_images']} images, {info['num_classes']} classes, "
                f"{info['channels']}x{info['resolution']}x{info['resolution']}), G {count_parameters(self.G):,} / "
                f"D {count_parameters(self.D):,} parameters, {cfg.loss} loss, {self.device.type} {self.precision} "
                f"({self.precision_note}), {self.compile_note}, "
                + (f"{cfg.steps} steps" if self.budget is None else f"steps for {self.budget.minutes:g} minutes")
                + f" of batch {cfg.batch_size}")

    def config_as_run(self) -> dict:
        """The config for config.json: `auto` precision written as what it chose, so that a resume trains in the
        same precision even where the timing is no longer remembered."""
        return dict(self.cfg.to_dict(), precision=self.precision)

    def save_grid(self, run: RunDir) -> None:
        """The progress grid of this step (once: the end, a stop and the clock may all ask for it)."""
        if self._grid_step == self.step:
            return
        z, labels = fixed_grid_inputs(self.cfg, self.num_classes)
        with autocast(self.device, self.precision):
            images = self.sampler.sample(labels, z)
        run.save_grid(images, self.step, nrow=self.cfg.grid_columns, rows=self.data_record["class_names"])
        self._grid_step, self._grid_time = self.step, timing.now()

    @property
    def sampler(self):
        """The generator grids, the monitor, checkpoints and so sampling use: the EMA of G when on, with standing
        statistics for this step when `standing_stats` asks (the next EMA update copies G's buffers over them, so
        training never sees them)."""
        if not self.ema:
            return self.G
        if self.cfg.standing_stats and self._standing_step != self.step:
            with autocast(self.device, self.precision):
                standing_statistics(self.ema.model, self.num_classes, self.cfg.z_dim, self.cfg.standing_stats,
                                    self.cfg.batch_size, self.cfg.seed * 1_000_003 + self.step, self.device)
            self._standing_step = self.step
        return self.ema.model

    # --- one iteration ---
    def train_step(self) -> dict:
        """One iteration (step.py) with the real batches d_steps * step + i, as the plain step feeds it, or replayed
        from a CUDA graph (captured.py); returns its stats by name."""
        if self.graphs_wanted and self.replay is None:  # at the first step, after any load_state: the feed takes
            self.replay = Replay(self)                # the optimisers' rates over
        if self.replay is not None:
            values = self.replay.step()
        else:
            n = self.cfg.d_steps
            self.rates.apply(self.step)
            reals = [self.batches.get(n * self.step + i) for i in range(n)]
            values = self.iteration(reals, self.ema.weight(self.step) if self.ema else None)
            self.step += 1
        return dict(zip(self.stat_keys, values.unbind()))

    # --- the loop ---
    def run(self, run: RunDir, log, progress: bool = True) -> None:
        """Train to cfg.steps, or for self.budget's minutes; rank 0 hands stats, grids and checkpoints to `run`."""
        cfg, keys, sums = self.cfg, self.stat_keys, self.sums
        self.say = log
        sums.zero_()
        count, t_last = 0, time.perf_counter()
        main = self.dist.is_main
        forecast = (timing.Forecast(cfg.steps, self.device.type, self.data_record["resolution"], cfg.arch)
                    if self.budget is None and main else None)
        if self.budget is not None:
            self.budget.begin(self.step)
            cfg.steps = timing.UNPLANNED  # the schedule keeps the recorded steps until the first estimate
        bar = progress_bar(None if self.budget else cfg.steps, "train", "step", initial=self.step,
                           enabled=progress and main)
        self._grid_time = timing.now()
        try:
            with StopSignals() as signals:
                while self.step < cfg.steps:
                    self.train_step()
                    count += 1
                    bar.update(1)
                    if self.budget is not None:
                        self.budget.follow(self, run, log, bar)
                    elif forecast is not None and (said := forecast.after(self.step)):
                        log(said)
                    if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                        now = time.perf_counter()
                        means = average_(sums / count, self.dist).tolist()  # the one host sync per log interval
                        if not all(math.isfinite(v) for v in means):
                            self._diverged(run, log, self.step - count + 1)
                        row = {"step": self.step, **{k: round(v, 5) for k, v in zip(keys, means)},
                               "step_time_s": round((now - t_last) / count, 5),
                               "images_per_s": round(count * cfg.batch_size / (now - t_last), 1)}
                        if self.skip_nonfinite:
                            row["skipped_steps"] = int(self.skipped.item())
                            self.skipped.zero_()
                        if self.monitor is not None and main and self.step % cfg.monitor_every == 0:
                            t0 = time.perf_counter()
                            found, crossed = self.monitor.measure(self.sampler, autocast(self.device, self.precision))
                            row.update(found, monitor_s=round(time.perf_counter() - t0, 4))
                            for c in crossed:
                                log(f"warning: step {self.step}: class '{self.data_record['class_names'][c]}' is "
                                    f"collapsing: recall {found['class_recall'][c]:.2f} and coverage "
                                    f"{found['class_coverage'][c]:.2f} of real variety (pixel space) are both low "
                                    f"while its samples sit on real data; MS-SSIM {found['class_ms_ssim'][c]:.3f}")
                        if main:
                            run.append_stats(row)
                        shown = self.loss.progress_stat
                        bar.set_postfix(d=f"{row['d_loss']:.3f}", g=f"{row['g_loss']:.3f}",
                                        **{shown: f"{row[shown]:.2f}"}, img_s=f"{row['images_per_s']:.0f}")
                        sums.zero_()
                        count, t_last = 0, time.perf_counter()
                    late = timing.now() - self._grid_time >= timing.GRID_EVERY_S  # a slow run shows itself
                    if main and (self.step % cfg.sample_every == 0 or self.step == cfg.steps or late):
                        self.save_grid(run)
                    if main and (self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps):
                        if not finite(list(self.G.state_dict().values()) + list(self.D.state_dict().values())):
                            self._diverged(run, log, self.step - cfg.checkpoint_every + 1, "the weights")
                        run.save_checkpoint(self.state(), self.step, cfg.keep_checkpoints)
                        log(f"step {self.step}: checkpoint saved")
                    stop = signals.requested(self.dist)
                    if stop:
                        self._stop(run, stop, log, main)
        except Exception as e:
            if not (self.dist.active and is_peer_failure(e)):
                raise
            msg = (f"rank {self.dist.rank} of {self.dist.world}: lost the other training processes during step "
                   f"{self.step + 1} ({str(e).splitlines()[0][:100]}); the run stops here: continue from its last "
                   f"checkpoint with `acgan train --resume {run.path}` (any number of processes)")
            log(msg)
            raise PeerLost(msg) from None
        finally:
            self.batches.close()  # a streaming reader's thread
        bar.close()
        if self.budget is not None:
            log(self.budget.spent(self.step, run.path))
