import pytest
import torch
from torch import nn

from acgan.config import TrainConfig
from acgan.errors import UserError
from acgan.models import build_models
from acgan.models.common import ActivationNoise, FastDropout


@pytest.mark.parametrize("arch,res,channels", [("dcgan-small", 28, 1), ("dcgan-small", 32, 3), ("paper-cifar", 32, 3),
                                               ("paper-imagenet", 64, 3), ("paper-imagenet", 128, 3)])
def test_shapes_and_logits(arch, res, channels):
    g, d = build_models(TrainConfig(arch=arch), channels, res, 10)
    z, y = torch.randn(3, 100), torch.tensor([0, 4, 9])
    x = g(z, y)
    assert x.shape == (3, channels, res, res)
    assert x.abs().max() <= 1  # tanh output
    src, cls = d(x)
    assert src.shape == (3,) and cls.shape == (3, 10)


def test_paper_discriminator_layout():
    _, d = build_models(TrainConfig(arch="paper-cifar", d_dropout=0.5), 3, 32, 10)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64, 128, 256, 512]
    assert [c.stride[0] for c in convs] == [2, 1, 2, 1, 2, 1]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 6
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 5  # all but the first conv
    assert [m.p for m in d.modules() if isinstance(m, FastDropout)] == [0.5] * 6
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    assert d.heads.linear.out_features == 11  # 1 + K


def test_paper_generators_follow_the_appendix():
    g, _ = build_models(TrainConfig(arch="paper-imagenet"), 3, 128, 10)
    assert g.fc.in_features == 110 and g.start == (768, 8, 8)
    tconvs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [t.out_channels for t in tconvs] == [384, 256, 192, 3]
    assert all(t.kernel_size == (5, 5) and t.stride == (2, 2) for t in tconvs)
    g, _ = build_models(TrainConfig(arch="paper-cifar"), 3, 32, 10)
    assert g.start == (384, 4, 4)
    assert [m.out_channels for m in g.modules() if isinstance(m, nn.ConvTranspose2d)] == [192, 96, 3]


def test_paper_init():
    g, d = build_models(TrainConfig(arch="paper-cifar", init_std=0.02), 3, 32, 10)
    w = torch.cat([m.weight.flatten() for m in d.modules() if isinstance(m, nn.Conv2d)])
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002
    biases = [m.bias for m in list(g.modules()) + list(d.modules())
              if isinstance(m, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)) and m.bias is not None]
    assert biases and all(torch.all(b == 0) for b in biases)


def test_conditioning_modes():
    g, _ = build_models(TrainConfig(conditioning="onehot", z_dim=100), 1, 28, 10)
    assert g.fc.in_features == 110
    g, _ = build_models(TrainConfig(conditioning="embedding", embed_dim=32, z_dim=100), 1, 28, 10)
    assert g.fc.in_features == 132
    g.eval()
    z = torch.randn(1, 100).repeat(2, 1)
    a, b = g(z, torch.tensor([0, 1]))
    assert not torch.equal(a, b)  # the class changes the image


def test_activation_noise_only_in_training():
    noise = ActivationNoise(0.2)
    x = torch.zeros(1000)
    assert torch.equal(noise.eval()(x), x)
    std = noise.train()(x).std().item()
    assert 0.17 < std < 0.23


def test_bad_resolution_is_a_user_error():
    with pytest.raises(UserError, match="divisible by 8"):
        build_models(TrainConfig(arch="paper-cifar"), 3, 28, 10)


@pytest.mark.parametrize("p", [0.5, 0.25])
def test_fast_dropout_matches_dropout_statistics(p):
    drop = FastDropout(p).train()
    x = torch.ones(64, 32, 14, 14).contiguous(memory_format=torch.channels_last)
    y = drop(x)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - p) < 0.01
    assert abs(y.mean().item() - 1.0) < 0.02  # inverted-dropout scaling keeps the expectation
    assert torch.allclose(torch.unique(y), torch.tensor([0.0, 1 / (1 - p)]))
    assert torch.equal(drop.eval()(x), x)
    # the mask is independent across channels and positions: no stripes from the channels_last layout
    kept = (y != 0).float()
    assert kept.mean(dim=(0, 2, 3)).std() < 0.02 and kept.mean(dim=(0, 1)).std() < 0.03


def test_dropout_and_noise_follow_their_generator():
    drop, noise = FastDropout(0.5).train(), ActivationNoise(0.1).train()
    x = torch.ones(4, 8, 5, 5)
    outs = []
    for seed in (1, 1, 2):
        gen = torch.Generator().manual_seed(seed)
        drop.generator = noise.generator = gen
        outs.append((drop(x), noise(x)))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    assert not torch.equal(outs[0][0], outs[2][0]) and not torch.equal(outs[0][1], outs[2][1])
    state = torch.get_rng_state()
    drop(x), noise(x)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is left alone


@pytest.mark.parametrize("res,channels", [(28, 1), (32, 3)])
def test_resnet_pair(res, channels):
    cfg = TrainConfig(arch="resnet", g_width=8, d_width=8, embed_dim=16)
    g, d = build_models(cfg, channels, res, 10, class_outputs=20)
    z, y = torch.randn(4, 100), torch.tensor([0, 3, 9, 3])
    x = g(z, y)
    assert x.shape == (4, channels, res, res) and x.abs().max() <= 1
    src, cls = d(x)
    assert src.shape == (4,) and cls.shape == (4, 20)  # the head width the loss asks for
    assert g.ups == (3 if res == 32 else 2) and g.embed.num_embeddings == 10
    # conditional BatchNorm: the class changes the output for the same z
    g.eval()
    assert not torch.allclose(g(z[:1], torch.tensor([0])), g(z[:1], torch.tensor([5])))
    downs = [b for b in d.features if hasattr(b, "down")]
    assert [b.down for b in downs] == [True, True, False, False]


def test_resnet_width_scales_parameters():
    from acgan.models import count_parameters
    small = build_models(TrainConfig(arch="resnet", g_width=8, d_width=8), 3, 32, 10)
    large = build_models(TrainConfig(arch="resnet", g_width=32, d_width=32), 3, 32, 10)
    assert count_parameters(large[0]) > 8 * count_parameters(small[0])


def test_the_paper_imagenet_head_starts_unsaturated():
    """N(0, 0.02) over paper-imagenet's 512 x 8 x 8 (64 px) or 512 x 16 x 16 (128 px) features starts D's logits
    at several units and its class loss far above chance; its head is drawn with std 1/sqrt(fan in) instead.
    paper-cifar's (8,192 features) keeps the paper's 0.02."""
    import math
    torch.manual_seed(0)
    _, d = build_models(TrainConfig(arch="paper-imagenet"), 3, 64, 10)
    head = d.heads.linear
    assert head.in_features == 512 * 8 * 8
    assert abs(head.weight.std().item() - head.in_features ** -0.5) < 1e-4
    d.eval()
    _, cls = d(torch.rand(64, 3, 64, 64) * 2 - 1)
    loss = torch.nn.functional.cross_entropy(cls, torch.arange(64) % 10).item()
    assert abs(loss - math.log(10)) < 0.7, loss  # near chance, as a classifier that knows nothing should be
    _, d = build_models(TrainConfig(arch="paper-cifar"), 3, 32, 10)
    assert abs(d.heads.linear.weight.std().item() - 0.02) < 1e-3


def test_class_bn_generator_conditions_every_batchnorm():
    from acgan.models.blocks import ConditionalBatchNorm
    g, _ = build_models(TrainConfig(g_class_bn=True, z_dim=16, g_width=8), 3, 32, 10)
    assert sum(isinstance(m, ConditionalBatchNorm) for m in g.modules()) == 2
    assert not any(type(m) in (nn.BatchNorm1d,) for m in g.modules())
    with torch.no_grad():
        g.fc.weight[:, 16:] = 0  # the input's class code now carries nothing: only the BatchNorms see the class
        for m in g.modules():
            if isinstance(m, ConditionalBatchNorm):
                m.gain.weight.normal_(0, 0.5)
    g.eval()
    z = torch.randn(1, 16).repeat(2, 1)
    a, b = g(z, torch.tensor([0, 7]))
    assert a.shape == (3, 32, 32) and not torch.allclose(a, b, atol=1e-4)
    # other architectures ignore the key, as dcgan-small ignores biggan's: `--arch resnet` over the demo preset trains
    torch.manual_seed(0)
    plain = build_models(TrainConfig(arch="resnet", g_width=8, d_width=8).validate(), 3, 32, 10)[0]
    torch.manual_seed(0)
    keyed = build_models(TrainConfig(arch="resnet", g_width=8, d_width=8, g_class_bn=True).validate(), 3, 32, 10)[0]
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), keyed.state_dict().values()))


def test_class_bn_trains_and_samples(tiny_cfg, tmp_path):
    import dataclasses

    import acgan
    from acgan.training.single_run import train

    cfg = dataclasses.replace(tiny_cfg, g_class_bn=True, ema_decay=0.9, standing_stats=2, tensorboard=False)
    G = acgan.load_generator(train(cfg, tmp_path / "run", progress=False))
    x = G.sample(torch.tensor([0, 1, 2]))
    assert x.shape == (3, 3, 16, 16) and torch.isfinite(x).all()  # resume: tests/test_resume.py


def test_flatten_features_hands_the_gradient_back_in_the_input_format():
    from acgan.models.common import flatten_features
    torch.manual_seed(0)
    x, w = torch.randn(4, 6, 3, 5), torch.randn(6 * 3 * 5, 2)
    grads = {}
    for fmt in (torch.contiguous_format, torch.channels_last):
        leaf = x.clone().contiguous(memory_format=fmt).requires_grad_()
        h = torch.nn.functional.leaky_relu(leaf * 1.0, 0.2)
        out = flatten_features(h)
        assert torch.equal(out, torch.flatten(torch.nn.functional.leaky_relu(x, 0.2), 1))  # C, H, W order
        loss = (out @ w).square().sum()
        assert torch.autograd.grad(loss, h, retain_graph=True)[0].is_contiguous(memory_format=fmt)
        loss.backward()
        grads[fmt] = leaf.grad
    # the same numbers either way: only the layout of the gradient differs
    assert torch.allclose(grads[torch.contiguous_format], grads[torch.channels_last], atol=1e-6)


