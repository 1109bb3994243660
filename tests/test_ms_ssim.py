import importlib

import pytest
import torch
from pytorch_msssim import ms_ssim as reference

from acgan.metrics.ms_ssim import ms_ssim


def noisy_pair(n, c, size, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, size, size, generator=gen)
    y = (x + 0.15 * torch.randn(n, c, size, size, generator=gen)).clamp(0, 1)
    return x, y


@pytest.mark.parametrize("size,channels", [(176, 3), (192, 1), (203, 3)])
def test_equals_pytorch_msssim_where_the_standard_applies(size, channels):
    x, y = noisy_pair(3, channels, size)
    ours = ms_ssim(x, y, data_range=1.0)
    ref = reference(x, y, data_range=1.0, size_average=False)
    assert torch.allclose(ours, ref, atol=1e-4), (ours, ref)


def test_equals_pytorch_msssim_on_smooth_images_at_255_range():
    x = torch.linspace(0, 255, 180).view(1, 1, 1, -1).expand(2, 3, 180, 180).contiguous()
    y = x.flip(-1) * 0.5 + x * 0.5
    assert torch.allclose(ms_ssim(x, y, data_range=255), reference(x, y, data_range=255, size_average=False),
                          atol=1e-4)


@pytest.mark.parametrize("size", [16, 28, 32, 64])
def test_identity_symmetry_and_range_on_small_images(size):
    x, y = noisy_pair(5, 3, size, seed=1)
    assert torch.allclose(ms_ssim(x, x), torch.ones(5), atol=1e-6)
    assert torch.allclose(ms_ssim(x, y), ms_ssim(y, x), atol=1e-6)
    v = ms_ssim(x, y)
    assert torch.all((v >= 0) & (v < 1))


def test_more_noise_means_lower_ms_ssim():
    gen = torch.Generator().manual_seed(2)
    x = torch.nn.functional.avg_pool2d(torch.rand(4, 1, 64, 64, generator=gen), 3, 1, 1)
    vals = [ms_ssim(x, (x + s * torch.randn(x.shape, generator=gen)).clamp(0, 1)).mean().item()
            for s in (0.02, 0.1, 0.3)]
    assert vals[0] > vals[1] > vals[2]


def test_batch_independence():
    x, y = noisy_pair(6, 3, 32, seed=3)
    whole = ms_ssim(x, y)
    parts = torch.cat([ms_ssim(x[i:i + 1], y[i:i + 1]) for i in range(6)])
    assert torch.allclose(whole, parts, atol=1e-6)


def test_too_small_images_are_refused():
    x = torch.rand(2, 1, 12, 12)
    with pytest.raises(ValueError, match="at least 16 px"):
        ms_ssim(x, x)


@pytest.mark.parametrize("blur", ["grouped", "matmul"])
@pytest.mark.parametrize("size,channels", [(192, 3), (32, 3), (28, 1)])
def test_every_filtering_strategy_gives_the_same_values(blur, size, channels, monkeypatch):
    """Whichever blur the machine picks, MS-SSIM is the same: against pytorch-msssim where the standard applies,
    against the other strategy on small images."""
    module = importlib.import_module("acgan.metrics.ms_ssim")
    x, y = noisy_pair(4, channels, size)
    monkeypatch.setattr(module, "strategy", lambda shape, device: "grouped")
    grouped = ms_ssim(x, y, data_range=1.0)
    monkeypatch.setattr(module, "strategy", lambda shape, device: blur)
    ours = ms_ssim(x, y, data_range=1.0)
    assert torch.allclose(ours, grouped, atol=1e-5, rtol=0)
    if size >= 176:
        assert torch.allclose(ours, reference(x, y, data_range=1.0, size_average=False), atol=1e-4)


def test_the_strategy_is_timed_once_and_remembered(tmp_path, monkeypatch):
    module = importlib.import_module("acgan.metrics.ms_ssim")
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path))
    monkeypatch.setattr(module, "_chosen", {})
    timed = []
    monkeypatch.setattr(module, "_time_blurs", lambda shape, device: timed.append(shape) or "matmul")
    assert module.strategy((15, 32, 32), "cpu") == "matmul" and module.strategy((15, 32, 32), "cpu") == "matmul"
    monkeypatch.setattr(module, "_chosen", {})  # a new process reads the stored choice
    assert module.strategy((15, 32, 32), "cpu") == "matmul" and timed == [(15, 32, 32)]
    assert "matmul" in (tmp_path / "ms_ssim_blur.json").read_text()
