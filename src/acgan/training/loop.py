"""The AC-GAN training loop: one D step then one G step per iteration, on one generated batch.

Per step: fake = G(z, c); D learns from D(x_real) and D(fake.detach()); then G learns from D(fake) with D's
weights frozen. Statistics stay on the device and are read back every `log_every` steps (one host sync).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..config import TrainConfig, save_json
from ..data import ImageData, load_data, native_resolution_of
from ..errors import UserError
from ..losses import ACGANLoss
from ..models import build_models, count_parameters, default_resolution
from ..models.common import ActivationNoise, FastDropout
from . import files
from .monitor import CollapseMonitor
from .distributed import average_, convert_batchnorm, init_distributed, local_batch, wrap
from .runtime import DeviceBatches, autocast, resolve_device, resolve_precision

STAT_KEYS = ("d_loss", "g_loss", "d_source", "d_class", "g_source", "g_class", "acc_real", "acc_fake")


def fixed_grid_inputs(cfg: TrainConfig, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The z and labels of the progress grids: one row per class, the same z in every row, seeded by cfg.seed."""
    gen = torch.Generator().manual_seed(cfg.seed + 7919)
    z = torch.randn(cfg.grid_columns, cfg.z_dim, generator=gen).repeat(num_classes, 1)
    labels = torch.arange(num_classes).repeat_interleave(cfg.grid_columns)
    return z, labels


class Trainer:
    def __init__(self, cfg: TrainConfig, run_dir: Path, data_info: dict | None = None, data: ImageData | None = None,
                 distributed: bool = True):
        """`data` (already at the model's resolution) replaces loading the config's data set, for benchmarks;
        `distributed` False trains in this process alone even under torchrun (class-split groups)."""
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.dist, self.device = init_distributed(resolve_device(cfg.device), distributed)
        self.precision = resolve_precision(cfg.precision, self.device)
        torch.manual_seed(cfg.seed)
        if data is None:
            resolution = cfg.resolution or (data_info or {}).get("resolution") or \
                default_resolution(cfg.arch, native_resolution_of(cfg))
            data = load_data(cfg, resolution)
        self.data_info = {"dataset": cfg.dataset, "class_names": data.class_names,
                          "source_classes": data.source_classes, "num_classes": data.num_classes,
                          "channels": data.channels, "resolution": data.resolution, "num_images": len(data.labels)}
        if data_info is not None and {k: data_info.get(k) for k in ("class_names", "channels", "resolution")} != \
                {k: self.data_info[k] for k in ("class_names", "channels", "resolution")}:
            raise UserError(f"the data now found for {self.run_dir} differs from the data it was trained on "
                            "(classes, channels or resolution): point --data-dir at the original data")
        self.G, self.D = build_models(cfg, data.channels, data.resolution, data.num_classes)
        if self.dist.active and cfg.sync_batchnorm:
            self.G, self.D = convert_batchnorm(self.G, self.device), convert_batchnorm(self.D, self.device)
        memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.G.to(self.device, memory_format=memory_format)
        self.D.to(self.device, memory_format=memory_format)
        fused = {"fused": True} if self.device.type in ("cuda", "cpu") else {}
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=betas, **fused)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=betas, **fused)
        self.loss = ACGANLoss(cfg.class_loss_weight, cfg.real_label)
        self.local_batch = local_batch(cfg.batch_size, self.dist)
        self.batches = DeviceBatches(data.images, data.labels, cfg.batch_size, cfg.seed, self.device,
                                     cfg.channels_last, self.dist.rank, self.dist.world)
        self.num_classes = data.num_classes
        self.step = 0
        # the callables of a step: compiled when cfg.compile works, DDP-wrapped under torchrun; G's step runs
        # the plain (or compiled) D, whose weights it does not train
        self.g_forward, self.d_forward = self.G, self.D
        self.compile_note = "eager"
        if self.dist.active:
            self.g_forward, self.d_forward = wrap(self.G, self.device), wrap(self.D, self.device)
            self.compile_note = f"DDP over {self.dist.world} processes" + (", compile ignored" if cfg.compile else "")
        elif cfg.compile:
            self.compile_note = self.try_compile()
        self.d_frozen = self.D if self.dist.active else self.d_forward
        self.noise_streams()
        self.monitor = None
        if cfg.monitor_every and CollapseMonitor.usable(data.resolution):
            self.monitor = CollapseMonitor(data.images, data.labels, data.num_classes, cfg.z_dim,
                                           per_class=cfg.monitor_samples, pairs=cfg.monitor_pairs, seed=cfg.seed)

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

    def try_compile(self) -> str:
        """torch.compile G and D, proven on one trial forward/backward; any failure keeps eager mode.

        The trial leaves no trace: weights, BatchNorm buffers, gradients and RNG state are restored."""
        import copy

        saved = copy.deepcopy((self.G.state_dict(), self.D.state_dict()))
        rng = torch.get_rng_state()
        try:
            g, d = torch.compile(self.G), torch.compile(self.D)
            with autocast(self.device, self.precision):
                z = torch.randn(self.cfg.batch_size, self.cfg.z_dim, device=self.device)
                y = torch.zeros(self.cfg.batch_size, dtype=torch.long, device=self.device)
                src, cls = d(g(z, y))
            (src.float().sum() + cls.float().sum()).backward()
            self.g_forward, self.d_forward = g, d
            note = "torch.compile"
        except Exception as e:  # compilers fail in many ways: fall back, say why
            note = f"eager (torch.compile failed: {type(e).__name__}: {str(e).splitlines()[0][:120]})"
        finally:
            self.G.load_state_dict(saved[0])
            self.D.load_state_dict(saved[1])
            self.G.zero_grad(set_to_none=True)
            self.D.zero_grad(set_to_none=True)
            torch.set_rng_state(rng)
        return note

    # --- state ---
    def state(self) -> dict:
        return {"step": self.step, "G": self.G.state_dict(), "D": self.D.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state() if self.device.type == "cuda" else torch.zeros(0, dtype=torch.uint8),
                "config": json.dumps(self.cfg.to_dict()), "data_info": json.dumps(self.data_info)}

    def load_state(self, ckpt: dict, source: str) -> None:
        try:
            self.G.load_state_dict(ckpt["G"])
            self.D.load_state_dict(ckpt["D"])
            self.opt_g.load_state_dict(ckpt["opt_g"])
            self.opt_d.load_state_dict(ckpt["opt_d"])
        except (RuntimeError, KeyError, ValueError) as e:
            raise UserError(f"checkpoint {source} does not match the run's config ({str(e).splitlines()[0][:120]}): "
                            "resume with the config.json it was written with") from None
        torch.set_rng_state(ckpt["rng_cpu"])
        if self.device.type == "cuda" and ckpt["rng_cuda"].numel():
            torch.cuda.set_rng_state(ckpt["rng_cuda"])
        self.step = int(ckpt["step"])
        self.noise_streams()  # per-rank streams restart from (seed, rank, step)

    def save_checkpoint(self) -> None:
        files.atomic_torch_save(self.state(), self.run_dir / "checkpoints" / f"ckpt-{self.step:07d}.pt")
        files.prune_checkpoints(self.run_dir, self.cfg.keep_checkpoints)

    def save_grid(self) -> None:
        z, labels = fixed_grid_inputs(self.cfg, self.num_classes)
        with autocast(self.device, self.precision):
            images = self.G.sample(labels, z)
        for name in (f"step-{self.step:07d}.png", "latest.png"):
            files.atomic_save_image(images, self.run_dir / "samples" / name, nrow=self.cfg.grid_columns)

    # --- one iteration ---
    def train_step(self) -> dict:
        cfg, dev = self.cfg, self.device
        x_real, y_real = self.batches.get(self.step)
        # noise and labels for the global batch (the same on every rank), then this rank's rows
        z = torch.randn(cfg.batch_size, cfg.z_dim, device=dev)
        y_fake = torch.randint(0, self.num_classes, (cfg.batch_size,), device=dev)
        lo = self.dist.rank * self.local_batch
        z, y_fake = z[lo:lo + self.local_batch], y_fake[lo:lo + self.local_batch]
        with autocast(dev, self.precision):
            fake = self.g_forward(z, y_fake)
            d_real, d_fake = self.d_forward(x_real), self.d_forward(fake.detach())
        d = self.loss.discriminator(d_real, d_fake, y_real, y_fake)
        self.opt_d.zero_grad(set_to_none=True)
        d["loss"].backward()
        self.opt_d.step()

        self.D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        with autocast(dev, self.precision):
            g_out = self.d_frozen(fake)
        g = self.loss.generator(g_out, y_fake)
        self.opt_g.zero_grad(set_to_none=True)
        g["loss"].backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        self.step += 1
        return {"d_loss": d["loss"].detach(), "g_loss": g["loss"].detach(), **{k: v for k, v in d.items() if k != "loss"},
                **{k: v for k, v in g.items() if k != "loss"}}

    # --- the loop ---
    def run(self, log, progress: bool = True) -> None:
        cfg = self.cfg
        sums = torch.zeros(len(STAT_KEYS), device=self.device)
        count, t_last = 0, time.perf_counter()
        main = self.dist.is_main
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step", disable=not (progress and main),
                   dynamic_ncols=True)
        stats_path = self.run_dir / "stats.jsonl"
        while self.step < cfg.steps:
            out = self.train_step()
            sums += torch.stack([out[k].float() for k in STAT_KEYS])
            count += 1
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                now = time.perf_counter()
                means = average_(sums / count, self.dist).tolist()  # the one host sync per log interval
                row = {"step": self.step, **{k: round(v, 5) for k, v in zip(STAT_KEYS, means)},
                       "step_time_s": round((now - t_last) / count, 5),
                       "images_per_s": round(count * cfg.batch_size / (now - t_last), 1)}
                if self.monitor is not None and main and self.step % cfg.monitor_every == 0:
                    t0 = time.perf_counter()
                    found, crossed = self.monitor.measure(self.G, autocast(self.device, self.precision))
                    row.update(found, monitor_s=round(time.perf_counter() - t0, 4))
                    for c in crossed:
                        log(f"warning: step {self.step}: class '{self.data_info['class_names'][c]}' MS-SSIM "
                            f"{found['class_ms_ssim'][c]:.3f} is above the real-data threshold "
                            f"{found['ms_ssim_threshold']:.3f}: its samples are collapsing")
                if main:
                    with open(stats_path, "a") as f:
                        f.write(json.dumps(row) + "\n")
                bar.set_postfix(d=f"{row['d_loss']:.3f}", g=f"{row['g_loss']:.3f}",
                                acc_fake=f"{row['acc_fake']:.2f}", img_s=f"{row['images_per_s']:.0f}")
                sums.zero_()
                count, t_last = 0, time.perf_counter()
            if main and (self.step % cfg.sample_every == 0 or self.step == cfg.steps):
                self.save_grid()
            if main and (self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps):
                self.save_checkpoint()
                log(f"step {self.step}: checkpoint saved")
        bar.close()


def describe(trainer: Trainer) -> str:
    info, cfg = trainer.data_info, trainer.cfg
    return (f"{cfg.arch} on {info['dataset']} ({info['num_images']} images, {info['num_classes']} classes, "
            f"{info['channels']}x{info['resolution']}x{info['resolution']}), G {count_parameters(trainer.G):,} / "
            f"D {count_parameters(trainer.D):,} parameters, {trainer.device.type} {trainer.precision}, "
            f"{trainer.compile_note}, "
            f"{cfg.steps} steps of batch {cfg.batch_size}")


def make_logger(run_dir: Path, echo: bool, main: bool = True):
    def log(msg: str) -> None:
        if not main:
            return
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        with open(Path(run_dir) / "log.txt", "a") as f:
            f.write(line + "\n")
        if echo:
            tqdm.write(msg)
    return log


def train(cfg: TrainConfig, out: Path, *, force: bool = False, progress: bool = True,
          distributed: bool = True) -> Path:
    """A new run in `out` (refuses to overwrite unless `force`); data-parallel under torchrun if `distributed`."""
    cfg.validate()
    out = Path(out)
    ctx, _ = init_distributed(resolve_device(cfg.device), distributed)
    if ctx.is_main:
        files.prepare_out_dir(out, force)
    ctx.barrier()
    trainer = Trainer(cfg, out, distributed=distributed)
    log = make_logger(out, progress, ctx.is_main)
    if ctx.is_main:
        save_json({"config": cfg.to_dict(), "data": trainer.data_info}, out / "config.json")
        trainer.save_grid()
    log(f"start: {describe(trainer)}")
    trainer.run(log, progress)
    log(f"done: {trainer.step} steps; samples in {out / 'samples' / 'latest.png'}")
    return out


def resume(run_dir: Path, *, steps: int | None = None, device: str | None = None, progress: bool = True,
           distributed: bool = True) -> Path:
    """Continue a run from its newest checkpoint (optionally to a new total of `steps`)."""
    from ..config import from_dict

    run_dir = Path(run_dir)
    saved = files.read_run_config(run_dir)
    cfg = from_dict(saved["config"], where=str(run_dir / "config.json"))
    if steps is not None:
        cfg.steps = steps
    if device is not None:
        cfg.device = device
    cfg.validate()
    trainer = Trainer(cfg, run_dir, data_info=saved["data"], distributed=distributed)
    main = trainer.dist.is_main
    if main:
        files.remove_stale_temp_files(run_dir)
    trainer.dist.barrier()
    found = files.checkpoints(run_dir)
    log = make_logger(run_dir, progress, main)
    if found:
        trainer.load_state(files.load_checkpoint(found[-1][1]), str(found[-1][1]))
    if main:
        files.truncate_stats(run_dir / "stats.jsonl", trainer.step)
    if trainer.step >= cfg.steps:
        log(f"resume: already at step {trainer.step} of {cfg.steps}; pass --steps N to train further")
        return run_dir
    if main:
        save_json({"config": cfg.to_dict(), "data": trainer.data_info}, run_dir / "config.json")
    log(f"resume from step {trainer.step}: {describe(trainer)}")
    trainer.run(log, progress)
    log(f"done: {trainer.step} steps; samples in {run_dir / 'samples' / 'latest.png'}")
    return run_dir
