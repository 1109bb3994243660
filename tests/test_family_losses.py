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
    assert [LOSSES[n].class_outputs(10) for n in ("acgan", "acgan-mod", "tac", "adc", "projection", "reacgan")] == \
        [10, 10, 20, 20, 10, 512]


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


@pytest.mark.parametrize("name", ["acgan-mod", "tac", "adc", "projection", "reacgan"])
def test_each_family_loss_trains(name, tiny_cfg, tmp_path):
    import dataclasses

    from acgan.rundir import RunDir
    from acgan.training.single_run import train
    run = train(dataclasses.replace(tiny_cfg, loss=name, tensorboard=False), tmp_path / "r", progress=False)
    state = RunDir(run).load_checkpoint()[0]
    assert state["D"]["heads.linear.weight"].shape[0] == 1 + LOSSES[name].class_outputs(3)
    assert all(torch.isfinite(v).all() for v in state["G"].values())


def _unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def _dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_reacgan_d2d_ce_by_hand(monkeypatch):
    """D2D-CE on 3-d features: the positive is the margin-clipped cosine to the sample's proxy, the negatives are the
    margin-clipped cosines to other-class samples only (a same-class pair is left out)."""
    from acgan.losses import reacgan
    monkeypatch.setattr(reacgan, "PROJECTION_DIM", 3)
    feats = [[1.0, 0.2, -0.5], [0.1, 0.9, 0.3], [0.8, 0.4, -0.2], [-0.3, 0.5, 1.0]]
    proxies = [[0.9, 0.1, 0.0], [0.0, 1.0, 0.4]]
    labels = [0, 1, 0, 1]
    f = [_unit(v) for v in feats]
    v = [_unit(p) for p in proxies]
    m_p, m_n, tau = 0.98, 0.02, 0.5
    terms = []
    for i, yi in enumerate(labels):
        pos = math.exp(min(_dot(f[i], v[yi]) - m_p, 0) / tau)
        neg = sum(math.exp(max(_dot(f[i], f[j]) - m_n, 0) / tau) for j, yj in enumerate(labels) if yj != yi)
        terms.append(-math.log(pos / (pos + neg)))
    cls_out = torch.tensor([fi + [_dot(fi, vk) for vk in v] for fi in f])
    got = reacgan.d2d_ce(cls_out, torch.tensor(labels), m_p, m_n, tau)
    assert math.isclose(got.item(), mean(terms), rel_tol=1e-6)
    src_r, src_f = [0.5, -0.2, 1.4, 0.1], [-0.3, 0.8, -1.5, 0.0]
    loss = build_loss(TrainConfig(loss="reacgan", class_loss_weight=0.5))
    d = loss.discriminator((torch.tensor(src_r), cls_out), (torch.tensor(src_f), cls_out), torch.tensor(labels),
                           torch.tensor(labels))
    assert math.isclose(d["loss"].item(), hinge_d(src_r, src_f) + 0.5 * mean(terms), rel_tol=1e-6)
    g = loss.generator((torch.tensor(src_f), cls_out), torch.tensor(labels))
    assert math.isclose(g["loss"].item(), -mean(src_f) + 0.5 * mean(terms), rel_tol=1e-6)


def test_reacgan_head_and_its_gradients():
    """The proxy head outputs [normalize(W h), cos(W h, v_k)]; D's step trains W and the proxies from real images,
    never from generated ones; G's step reaches the generated images through both."""
    from acgan.models.common import TwoHeads
    torch.manual_seed(0)
    heads = TwoHeads(6, 512)
    heads.add_proxies(3)
    h = torch.randn(5, 6)
    src, cls = heads(h)
    f = torch.nn.functional.normalize(heads.linear(h)[:, 1:], dim=1)
    v = torch.nn.functional.normalize(heads.proxies.weight, dim=1)
    assert torch.allclose(cls, torch.cat([f, f @ v.T], 1), atol=1e-6) and cls.shape == (5, 512 + 3)
    loss = build_loss(TrainConfig(loss="reacgan"))
    x_r, x_f = torch.randn(4, 6), torch.randn(4, 6, requires_grad=True)
    y = torch.tensor([0, 1, 2, 1])
    loss.discriminator(heads(x_r), heads(x_f), y, y)["loss"].backward()
    assert heads.proxies.weight.grad.abs().sum() > 0 and heads.linear.weight.grad[1:].abs().sum() > 0
    assert x_f.grad.abs().sum() > 0  # through the hinge only
    cls_f = heads(x_f)[1].detach().requires_grad_()
    loss.discriminator(heads(x_r), (heads(x_f)[0], cls_f), y, y)["loss"].backward()
    assert cls_f.grad is None  # D's class term reads real images only
    x_f.grad = None
    heads.zero_grad()
    out = loss.generator(heads(x_f), y)
    out["loss"].backward()
    assert x_f.grad.abs().sum() > 0 and heads.proxies.weight.grad.abs().sum() > 0
