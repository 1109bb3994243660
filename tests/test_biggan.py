"""The biggan pair at 32-256 px (BigGAN's channel table, attention, hierarchical z), its presets, and the
evaluator that grows a stage per doubling."""
import dataclasses

import pytest
import torch
from torch import nn

from acgan.config import TrainConfig, assemble
from acgan.models import build_models
from acgan.models.biggan import CHANNELS, SelfAttention

from .conftest import write_folder_dataset


@pytest.mark.parametrize("res", [32, 64, 128, 256])
def test_shapes_and_blocks_follow_bigGANs_table(res):
    cfg = TrainConfig(arch="biggan", g_width=4, d_width=4, embed_dim=8, z_dim=24, attention_res=16)
    G, D = build_models(cfg, 3, res, 5, 10)
    g_in, g_out, d_out = CHANNELS[res]
    assert [b.conv1.in_channels for b in G.blocks] == [4 * m for m in g_in]
    assert [b.conv2.out_channels for b in G.blocks] == [4 * m for m in g_out]
    blocks = [m for m in D.features if type(m).__name__ == "DownBlock"]
    assert [b.conv2.out_channels for b in blocks] == [4 * m for m in d_out]
    assert [b.down for b in blocks] == [True] * (len(blocks) - (2 if res == 32 else 1)) + \
        [False] * (2 if res == 32 else 1)  # down to 4 x 4 (8 x 8 at 32 px), then one block at that size
    x = G(torch.randn(3, 24), torch.tensor([0, 2, 4]))
    assert x.shape == (3, 3, res, res) and x.abs().max() <= 1
    src, cls = D(x)
    assert src.shape == (3,) and cls.shape == (3, 10)
    # one attention block in G (after the block that reaches 16 px) and one in D (after the block that does)
    assert sum(isinstance(m, SelfAttention) for m in G.modules()) == 1
    assert sum(isinstance(m, SelfAttention) for m in D.modules()) == 1


def test_hierarchical_z_reaches_every_block():
    cfg = TrainConfig(arch="biggan", g_width=4, d_width=4, embed_dim=8, z_dim=25, hierarchical_z=True)
    G, _ = build_models(cfg, 3, 64, 5, 5)
    assert G.chunk == 5 and G.fc.in_features == 25 - 4 * 5  # 4 blocks + the Linear share 25 dims
    assert all(b.bn1.gain.in_features == 8 + 5 for b in G.blocks)  # embedding beside its z chunk
    G.eval()
    z = torch.randn(1, 25)
    base = G(z, torch.tensor([1]))
    for k in range(4):  # changing one block's chunk changes the image: each chunk is used
        z2 = z.clone()
        z2[0, 5 + 5 * k:10 + 5 * k] += 3
        assert not torch.allclose(G(z2, torch.tensor([1])), base)
    flat, _ = build_models(dataclasses.replace(cfg, hierarchical_z=False), 3, 64, 5, 5)
    assert flat.fc.in_features == 25 and flat.blocks[0].bn1.gain.in_features == 8


def test_attention_starts_as_the_identity():
    att = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(att(x), x)  # gamma = 0: the block learns how much to attend
    att.gamma.data.fill_(1.0)
    assert not torch.allclose(att(x), x)


def test_attention_is_sagans_formula_written_out():
    """The fused kernel computes softmax(theta^T phi) g, unscaled, as the matrices written out do: the same output
    and gradients up to fp32 round-off of sums over the 64 keys (the fused softmax sums in blocks, rescaled)."""
    from acgan.kernels import max_pool2x
    torch.manual_seed(0)
    att = SelfAttention(16)
    att.gamma.data.fill_(0.7)
    x = torch.randn(2, 16, 16, 16, requires_grad=True)
    out = att(x)
    theta, phi, g = att.theta(x).flatten(2), max_pool2x(att.phi(x)).flatten(2), max_pool2x(att.g(x)).flatten(2)
    attn = torch.softmax(theta.transpose(1, 2) @ phi, -1)
    by_hand = x + att.gamma * att.o((g @ attn.transpose(1, 2)).view(2, -1, 16, 16))
    assert torch.allclose(out, by_hand, rtol=1e-5, atol=1e-5)
    grads = [torch.autograd.grad(y.square().sum(), [x, att.theta.weight, att.gamma]) for y in (out, by_hand)]
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("preset,res", [("modern-64-cpu", 64), ("modern-128-cpu", 128)])
def test_the_cpu_presets_train(tmp_path, preset, res):
    from acgan.rundir import RunDir
    from acgan.training.single_run import train
    data = write_folder_dataset(tmp_path / "data", per_class=6, size=res)
    cfg = assemble(preset, {"data_dir": str(data), "steps": 2, "batch_size": 8, "precision": "fp32",
                            "device": "cpu", "log_every": 1, "monitor_every": 0, "checkpoint_every": 2})
    run = RunDir(train(cfg, tmp_path / "run", progress=False))
    rows = run.read_stats()
    assert [r["step"] for r in rows] == [1, 2] and all(torch.isfinite(torch.tensor(r["d_loss"])) for r in rows)
    assert run.read().data["resolution"] == res


@pytest.mark.parametrize("res,extra", [(28, 0), (32, 0), (64, 1), (128, 2), (256, 3)])
def test_the_evaluator_adds_a_stage_per_doubling(res, extra):
    from acgan.evaluation.evaluator.net import EvalNet, extra_stages_for
    assert extra_stages_for(res) == extra
    net = EvalNet(3, 10, width=4, extra_stages=extra)
    flatten_in = None
    h = torch.randn(2, 3, res, res)
    for m in net.body:
        if isinstance(m, nn.AdaptiveAvgPool2d):
            flatten_in = h.shape[-1]
        h = m(h)
    assert flatten_in in (7, 8) and h.shape == (2, 256)  # the same map size reaches the flatten at every size
