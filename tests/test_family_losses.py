"""The AC-GAN family's losses against their formulas by hand (plain Python on fixed logits), and that every head
gets the gradient its formula gives it in D's step and G's step."""
import math

import pytest
import torch

from acgan.config import TrainConfig
from acgan.losses import LOSSES, build_loss


def ce(row, j):  # cross-entropy of one row of logits for target j
    return math.log(sum(math.exp(v) for v in row)) - row[j]


def mean(xs):
    return sum(xs) / len(xs)


def hinge_d(src_r, src_f):
    return mean([max(0.0, 1 - s) for s in src_r]) + mean([max(0.0, 1 + s) for s in src_f])


K = 2
SRC_R, SRC_F = [1.5, 0.3], [-2.0, 0.7]
# 2K units per row: [C | C_mi] for tac, classes (2y real, 2y + 1 generated) for adc; acgan-mod reads the first K
CLS_R = [[2.0, 0.1, -1.0, 0.4], [0.0, 0.5, 0.2, -0.3]]
CLS_F = [[-0.5, 1.0, 0.3, 0.9], [0.4, 0.4, -2.0, 1.1]]
Y_R, Y_F = [0, 1], [1, 0]
W = 0.6


def run(name, part):
    loss = build_loss(TrainConfig(loss=name, class_loss_weight=W))
    width = loss.class_outputs(K)
    real = (torch.tensor(SRC_R), torch.tensor([r[:width] for r in CLS_R]))
    fake = (torch.tensor(SRC_F), torch.tensor([r[:width] for r in CLS_F]))
    if part == "d":
        return loss.discriminator(real, fake, torch.tensor(Y_R), torch.tensor(Y_F))
    return loss.generator(fake, torch.tensor(Y_F))


def expected(name, part):
    if name == "acgan-mod":
        if part == "d":
            return hinge_d(SRC_R, SRC_F) + W * mean([ce(r[:K], y) for r, y in zip(CLS_R, Y_R)])
        return -mean(SRC_F) + W * mean([ce(r[:K], y) for r, y in zip(CLS_F, Y_F)])
    if name == "tac":
        if part == "d":
            return hinge_d(SRC_R, SRC_F) + W * (mean([ce(r[:K], y) for r, y in zip(CLS_R, Y_R)])
                                                + mean([ce(r[K:], y) for r, y in zip(CLS_F, Y_F)]))
        return -mean(SRC_F) + W * (mean([ce(r[:K], y) for r, y in zip(CLS_F, Y_F)])
                                   - mean([ce(r[K:], y) for r, y in zip(CLS_F, Y_F)]))
    if part == "d":  # adc
        return hinge_d(SRC_R, SRC_F) + W * (mean([ce(r, 2 * y) for r, y in zip(CLS_R, Y_R)])
                                            + mean([ce(r, 2 * y + 1) for r, y in zip(CLS_F, Y_F)]))
    return -mean(SRC_F) + W * (mean([ce(r, 2 * y) for r, y in zip(CLS_F, Y_F)])
                               - mean([ce(r, 2 * y + 1) for r, y in zip(CLS_F, Y_F)]))


@pytest.mark.parametrize("name", ["acgan-mod", "tac", "adc"])
@pytest.mark.parametrize("part", ["d", "g"])
def test_loss_matches_its_formula(name, part):
    out = run(name, part)
    assert math.isclose(out["loss"].item(), expected(name, part), rel_tol=1e-6)
    assert {f"{part}_source", f"{part}_class"} <= set(out) and set(LOSSES[name].stat_keys) >= {"acc_real"}


def test_class_head_widths():
    assert [LOSSES[n].class_outputs(10) for n in ("acgan", "acgan-mod", "tac", "adc", "projection")] == \
        [10, 10, 20, 20, 10]


def test_projection_by_hand():
    d = run("projection", "d")
    proj_r = [r[y] for r, y in zip(CLS_R, Y_R)]
    proj_f = [r[y] for r, y in zip(CLS_F, Y_F)]
    want = hinge_d([s + p for s, p in zip(SRC_R, proj_r)], [s + p for s, p in zip(SRC_F, proj_f)])
    assert math.isclose(d["loss"].item(), want, rel_tol=1e-6)
    g = run("projection", "g")
    assert math.isclose(g["loss"].item(), -mean([s + p for s, p in zip(SRC_F, proj_f)]), rel_tol=1e-6)
    g_r, g_f = grads("projection", "d")  # only the asked class's unit carries the projection
    assert g_r[1, Y_R[1]] != 0 and g_r[1, 1 - Y_R[1]] == 0  # (real image 0 is past the hinge margin)


def grads(name, part):
    """d loss / d class logits of the real and the generated batch."""
    loss = build_loss(TrainConfig(loss=name))
    width = loss.class_outputs(K)
    cls_r = torch.tensor([r[:width] for r in CLS_R], requires_grad=True)
    cls_f = torch.tensor([r[:width] for r in CLS_F], requires_grad=True)
    src = torch.tensor(SRC_F, requires_grad=True)
    if part == "d":
        out = loss.discriminator((torch.tensor(SRC_R), cls_r), (src, cls_f), torch.tensor(Y_R), torch.tensor(Y_F))
    else:
        out = loss.generator((src, cls_f), torch.tensor(Y_F))
    out["loss"].backward()
    def grad(t):  # a logit that no term reads has no gradient at all
        return t.grad if t.grad is not None else torch.zeros_like(t)
    return grad(cls_r), grad(cls_f)


def test_tac_trains_both_heads_as_its_formula_says():
    """StudioGAN's TAC appears to train its twin head on nothing; here C learns from real images, C_mi from
    generated ones in D's step, and G's step gets gradient through both."""
    g_r, g_f = grads("tac", "d")
    assert g_r[:, :K].abs().sum() > 0 and g_r[:, K:].abs().sum() == 0  # C on real images, C_mi never on real
    assert g_f[:, K:].abs().sum() > 0 and g_f[:, :K].abs().sum() == 0  # C_mi on generated images only
    _, g_f = grads("tac", "g")
    assert g_f[:, :K].abs().sum() > 0 and g_f[:, K:].abs().sum() > 0   # G: toward C, away from C_mi
    # the twin term pushes the other way: its gradient for the asked class has the opposite sign of C's
    assert (g_f[0, 1] * g_f[0, K + 1]) < 0


def test_adc_and_acgan_mod_heads():
    g_r, g_f = grads("adc", "d")
    assert g_r.abs().sum() > 0 and g_f.abs().sum() > 0
    _, g_f = grads("adc", "g")
    assert g_f[0, 2 * 1] < 0 and g_f[0, 2 * 1 + 1] > 0  # G raises "real class y", lowers "generated class y"
    g_r, g_f = grads("acgan-mod", "d")
    assert g_r.abs().sum() > 0 and g_f.abs().sum() == 0  # ACGAN-Mod: D's class head never learns from fakes
    assert grads("acgan-mod", "g")[1].abs().sum() > 0


@pytest.mark.parametrize("name", ["acgan-mod", "tac", "adc", "projection"])
def test_each_family_loss_trains(name, tiny_cfg, tmp_path):
    import dataclasses

    from acgan.rundir import RunDir
    from acgan.training.session import train
    run = train(dataclasses.replace(tiny_cfg, loss=name, tensorboard=False), tmp_path / "r", progress=False)
    state = RunDir(run).load_checkpoint()[0]
    assert state["D"]["heads.linear.weight"].shape[0] == 1 + LOSSES[name].class_outputs(3)
    assert all(torch.isfinite(v).all() for v in state["G"].values())
