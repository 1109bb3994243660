"""The faster inference forms of nearest 2x upsampling and 2x2 max pooling give torch's values exactly."""
import pytest
import torch
from torch.nn import functional as F

from acgan.kernels import MaxPool2x, max_pool2x, upsample2x


@pytest.mark.parametrize("shape", [(3, 5, 8, 8), (2, 4, 7, 9), (1, 1, 1, 1), (4, 3, 6, 5)])
def test_inference_forms_equal_torchs_ops(shape):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    x[0, 0, 0, :2] = 1.5  # a tie inside a pooling window
    with torch.no_grad():
        assert torch.equal(upsample2x(x), F.interpolate(x, scale_factor=2, mode="nearest"))
        if min(shape[-2:]) >= 2:
            assert torch.equal(max_pool2x(x), F.max_pool2d(x, 2))
            assert torch.equal(MaxPool2x()(x), torch.nn.MaxPool2d(2)(x))


def test_with_gradients_torchs_own_ops_run(monkeypatch):
    """Training keeps torch's ops (and their backward passes): the fast forms run only without gradients."""
    calls = []
    monkeypatch.setattr(F, "interpolate", lambda *a, **k: calls.append("interpolate") or torch.zeros(1))
    monkeypatch.setattr(F, "max_pool2d", lambda *a, **k: calls.append("max_pool2d") or torch.zeros(1))
    x = torch.randn(2, 3, 4, 4)
    upsample2x(x), max_pool2x(x)
    assert calls == ["interpolate", "max_pool2d"]
    with torch.no_grad():
        upsample2x(x), max_pool2x(x)
        upsample2x(x.contiguous(memory_format=torch.channels_last))  # torch's kernel is fast in that layout
    assert calls == ["interpolate", "max_pool2d", "interpolate"]
