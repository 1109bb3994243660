"""G's EMA (ramp, checkpoints, sampling), spectral norm, DiffAugment, truncation, the LR schedule; their resume is
in test_resume.py."""
import dataclasses

import pytest
import torch
from torch import nn

import acgan
from acgan.config import TrainConfig
from acgan.models import build_models
from acgan.optim.schedule import lr_factor
from acgan.rundir import RunDir
from acgan.training.ema import EMA, standing_statistics
from acgan.training.single_run import train

from .conftest import assert_same_weights


def test_ema_ramp_and_update_by_hand():
    live = nn.Linear(2, 1)
    ema = EMA(live, decay=0.99)
    assert ema.beta(0) == 0.1 and ema.beta(90) == 0.91 and ema.beta(10_000) == 0.99
    before = ema.model.weight.clone()
    with torch.no_grad():
        live.weight.add_(1.0)
    ema.update(live, ema.weight(0))  # beta 0.1: 10% old, 90% new
    assert torch.allclose(ema.model.weight, 0.1 * before + 0.9 * live.weight)
    assert not ema.model.weight.requires_grad


def test_ema_decay_above_the_ramp_changes_nothing_before_step_8991():
    # docs/training.md: in runs shorter than 8,991 steps (demo, cifar-cpu) the ramp alone sets the average, so any
    # decay of 0.999 or more gives the same betas; the cap bites from the step where (1 + t) / (10 + t) passes it.
    live = nn.Linear(2, 1)
    preset, longer = EMA(live, decay=0.999), EMA(live, decay=0.9995)
    assert all(preset.beta(t) == longer.beta(t) == (1 + t) / (10 + t) for t in range(8991))
    assert preset.beta(8991) == 0.999 < longer.beta(8991)


def test_ema_in_training_and_sampling(tiny_cfg, tmp_path):
    cfg = dataclasses.replace(tiny_cfg, ema_decay=0.999, tensorboard=False)
    a = RunDir(train(cfg, tmp_path / "straight", progress=False)).load_checkpoint()[0]
    assert any(not torch.equal(a["G"][k], a["G_ema"][k]) for k in a["G"] if a["G"][k].is_floating_point())
    G = acgan.load_generator(tmp_path / "straight")  # sampling uses the average
    assert all(torch.equal(G.state_dict()[k], a["G_ema"][k]) for k in a["G_ema"])


def test_spectral_norm_bounds_the_weights(tiny_cfg, tmp_path):
    g, d = build_models(TrainConfig(arch="dcgan-small", spectral_norm="d"), 1, 28, 10)
    sn = [m for m in d.modules() if nn.utils.parametrize.is_parametrized(m, "weight")]
    assert len(sn) == 3 and not any(nn.utils.parametrize.is_parametrized(m) for m in g.modules())
    d.train()
    for _ in range(20):  # power iterations run in training forward passes
        d(torch.randn(4, 1, 28, 28))
    w = d.heads.linear.weight
    assert abs(torch.linalg.matrix_norm(w, ord=2).item() - 1.0) < 0.05
    cfg = dataclasses.replace(tiny_cfg, spectral_norm="both", tensorboard=False)
    a = RunDir(train(cfg, tmp_path / "straight", progress=False)).load_checkpoint()[0]
    assert any("_u" in k for k in a["D"])  # the power iteration's vectors are checkpointed
    assert acgan.load_generator(tmp_path / "straight").sample(torch.tensor([0, 1])).shape == (2, 3, 16, 16)


def test_translation_by_hand():
    from acgan.models.augment import translation
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8) + 1
    torch.manual_seed(3)
    out = translation(x)
    torch.manual_seed(3)  # the same draws, read back: shift of 1/8 of 8 px = up to 1 px
    dy = torch.randint(-1, 2, (2, 1, 1)).flatten().tolist()
    dx = torch.randint(-1, 2, (2, 1, 1)).flatten().tolist()
    for n in range(2):
        for i in range(8):
            for j in range(8):
                si, sj = i + dy[n], j + dx[n]
                want = x[n, 0, si, sj] if 0 <= si < 8 and 0 <= sj < 8 else 0.0
                assert out[n, 0, i, j] == want


def test_cutout_and_color():
    from acgan.models.augment import color, cutout, diff_augment
    x = torch.ones(64, 3, 16, 16, requires_grad=True)
    out = cutout(x)
    zeroed = (out[:, 0] == 0).flatten(1).sum(1)
    assert zeroed.max() <= 64 and zeroed.min() >= 16  # an 8x8 square, partly off the image at most by half a side
    assert torch.equal((out == 0).all(1), (out[:, :1] == 0).squeeze(1))  # the same square in every channel
    y = diff_augment(x, ["color", "translation", "cutout"])
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # differentiable, so G learns through it
    assert color(torch.zeros(4, 3, 4, 4)).shape == (4, 3, 4, 4)


def test_d_steps_and_diffaugment_train(tiny_cfg, tmp_path, monkeypatch):
    from acgan.training.batches import DeviceBatches
    seen, real_get = [], DeviceBatches.get
    monkeypatch.setattr(DeviceBatches, "get", lambda self, i: seen.append(i) or real_get(self, i))
    cfg = dataclasses.replace(tiny_cfg, d_steps=2, diffaugment="color,translation,cutout", tensorboard=False,
                              steps=3, checkpoint_every=3)
    run = train(cfg, tmp_path / "r", progress=False)
    assert seen == [0, 1, 2, 3, 4, 5]  # two real batches per step, never reused
    state = RunDir(run).load_checkpoint()[0]
    assert state["opt_d"]["state"][0]["step"].item() == 6 and state["opt_g"]["state"][0]["step"].item() == 3


def test_truncation_is_a_truncated_normal_not_a_rescaled_one():
    from acgan.sampling import noise
    gen = torch.Generator().manual_seed(0)
    z = noise(20_000, 8, gen, truncation=0.5)
    assert z.abs().max() <= 0.5
    assert (z.abs() > 0.45).float().mean() > 0.05  # mass near the bounds: N(0, 1) cut, not N(0, 1) * 0.5
    assert abs(z.std().item() - 0.2897) < 0.01  # std of N(0, 1) truncated to [-0.5, 0.5]
    plain = noise(4, 8, torch.Generator().manual_seed(1))
    assert torch.equal(plain, torch.randn(4, 8, generator=torch.Generator().manual_seed(1)))


def test_sample_with_truncation(tiny_cfg, tmp_path):
    from click.testing import CliRunner

    from acgan.cli import main
    run = train(dataclasses.replace(tiny_cfg, tensorboard=False), tmp_path / "r", progress=False)
    res = CliRunner().invoke(main, ["sample", str(run), "--truncation", "0.7", "--out", str(tmp_path / "t.png")])
    assert res.exit_code == 0 and (tmp_path / "t.png").is_file()
    res = CliRunner().invoke(main, ["sample", str(run), "--truncation", "0", "--out", str(tmp_path / "u.png")])
    assert res.exit_code == 2 and "must be positive" in res.output


def test_linear_lr_schedule_by_hand_and_in_training(tiny_cfg, tmp_path):
    assert [lr_factor("linear", s, 4) for s in range(4)] == [1.0, 0.75, 0.5, 0.25]
    assert lr_factor("constant", 3, 4) == 1.0
    cfg = dataclasses.replace(tiny_cfg, lr_schedule="linear", lr_g=4e-4, lr_d=2e-4, tensorboard=False,
                              steps=6, checkpoint_every=3)
    straight = train(cfg, tmp_path / "a", progress=False)
    a = RunDir(straight).load_checkpoint()[0]
    # the rate of the last step taken (step 5 of 6) is what the optimisers keep
    assert a["opt_g"]["param_groups"][0]["lr"] == pytest.approx(4e-4 / 6)
    assert a["opt_d"]["param_groups"][0]["lr"] == pytest.approx(2e-4 / 6)
    constant = RunDir(train(dataclasses.replace(cfg, lr_schedule="constant"), tmp_path / "c", progress=False))
    assert not torch.equal(constant.load_checkpoint()[0]["G"]["fc.weight"], a["G"]["fc.weight"])


def test_standing_statistics_by_hand():
    """The running statistics become the plain average of the batch statistics each BatchNorm saw over the
    passes (recorded here by hooks, in train mode, from the same noise): means, and unbiased variances; G ends in
    eval mode and the global random stream is untouched."""
    cfg = TrainConfig(arch="dcgan-small", g_width=8, z_dim=8)
    G, _ = build_models(cfg, 1, 16, 3)
    norms = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms
    seen = {id(m): [] for m in norms}
    hooks = [m.register_forward_pre_hook(lambda m, args: seen[id(m)].append(args[0].detach().clone()))
             for m in norms]
    gen = torch.Generator().manual_seed(5)
    G.train()
    with torch.no_grad():
        for _ in range(3):
            G(torch.randn(16, 8, generator=gen), torch.randint(0, 3, (16,), generator=gen))
    for h in hooks:
        h.remove()
    rng = torch.get_rng_state()
    standing_statistics(G, 3, 8, batches=3, batch_size=16, seed=5, device=torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), rng) and not G.training
    for m in norms:
        xs = seen[id(m)][:3]
        means = torch.stack([x.mean(dim=(0, 2, 3)) for x in xs]).mean(0)
        variances = torch.stack([x.var(dim=(0, 2, 3), unbiased=True) for x in xs]).mean(0)
        assert torch.allclose(m.running_mean, means, atol=1e-5)
        assert torch.allclose(m.running_var, variances, rtol=1e-4, atol=1e-6)
        assert m.momentum == 0.1  # put back


def test_standing_statistics_in_training_and_sampling(tiny_cfg, tmp_path):
    """With standing_stats the checkpoint's EMA holds statistics re-estimated for its own weights (not G's copied
    ones), sampling uses them, training is the same as without (G and D bit-identical)."""
    cfg = dataclasses.replace(tiny_cfg, ema_decay=0.9, standing_stats=4, tensorboard=False)
    plain = RunDir(train(dataclasses.replace(cfg, standing_stats=0), tmp_path / "plain", progress=False))
    standing = RunDir(train(cfg, tmp_path / "standing", progress=False))
    a, b = plain.load_checkpoint()[0], standing.load_checkpoint()[0]
    assert_same_weights(a, b, ("G", "D"))
    key = next(k for k in b["G_ema"] if k.endswith("running_mean"))
    assert torch.equal(a["G_ema"][key], a["G"][key]) and not torch.equal(b["G_ema"][key], b["G"][key])
    G = acgan.load_generator(standing.path)
    by_hand = acgan.load_generator(plain.path)
    standing_statistics(by_hand, 3, cfg.z_dim, 4, cfg.batch_size, cfg.seed * 1_000_003 + cfg.steps,
                        torch.device("cpu"))
    z, labels = torch.randn(6, cfg.z_dim), torch.arange(6) % 3
    assert torch.allclose(G.sample(labels, z=z), by_hand.sample(labels, z=z), atol=1e-6)


