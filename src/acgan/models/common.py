"""Pieces shared by the architectures: class conditioning, activation noise, the paper's init, D's two heads."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import UserError

CONDITIONING = ("onehot", "embedding")


class ClassConditioning(nn.Module):
    """Turns (z, labels) into G's input vector: z concatenated with a one-hot code (paper) or a learned embedding."""

    def __init__(self, num_classes: int, mode: str = "onehot", embed_dim: int = 50):
        super().__init__()
        self.num_classes = num_classes
        self.mode = mode
        self.embed = nn.Embedding(num_classes, embed_dim) if mode == "embedding" else None
        self.out_dim = embed_dim if mode == "embedding" else num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.embed is not None:
            code = self.embed(labels)
        else:
            # a comparison, not F.one_hot: on a CPU one_hot reads the labels' range back, which a step recorded as a
            # CUDA graph must not do (tests/test_captured.py watches every step for such reads)
            classes = torch.arange(self.num_classes, device=labels.device)
            code = (labels[:, None] == classes).to(z.dtype)
        return torch.cat([z, code], dim=1)


class ActivationNoise(nn.Module):
    """Gaussian noise on D activations while training (the paper's "activation noise", std 0 to 0.2)."""

    def __init__(self, std: float):
        super().__init__()
        self.std = std
        self.generator: torch.Generator | None = None  # a per-rank stream under torchrun; else the global RNG

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.std > 0:
            noise = torch.randn(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
            return x + noise * self.std
        return x


class FastDropout(nn.Module):
    """Dropout whose CPU mask comes from random bytes (8 per int64 draw) instead of bernoulli_.

    On CPU, bernoulli_ took nearly half of a dcgan-small training step; this draws the same kind of mask about 15x
    faster. The drop probability is rounded to a multiple of 1/256 (0.5 and 0.25 are exact). On other devices it is
    F.dropout."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.threshold = round(p * 256)  # a byte below this drops the unit
        self.generator: torch.Generator | None = None  # a per-rank stream under torchrun; else the global RNG

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        if x.device.type != "cpu" and self.generator is None:
            return F.dropout(x, self.p, True)
        n = x.numel()
        shape = x.shape
        channels_last = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
        if channels_last:
            shape = (shape[0], shape[2], shape[3], shape[1])
        draws = torch.randint(-2**63, 2**63 - 1, ((n + 7) // 8,), dtype=torch.int64, generator=self.generator,
                              device=x.device)
        keep = draws.view(torch.uint8)[:n].view(shape) >= self.threshold
        if channels_last:
            keep = keep.permute(0, 3, 1, 2)
        return x * (keep.to(x.dtype) * (256.0 / (256 - self.threshold)))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _FlattenKeepingFormat(torch.autograd.Function):
    """flatten(x, 1) whose gradient comes back in x's memory format.

    A plain flatten of a channels-last map hands its gradient back in the default format, and the elementwise
    backward behind it (LeakyReLU's) then mixes formats, which ATen runs many times slower on a CPU
    (research/notes/2026-11-speed-log.md, "Demo speed")."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.shape = x.shape
        return torch.flatten(x, 1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.reshape(ctx.shape).contiguous(memory_format=torch.channels_last)


def flatten_features(h: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, C*H*W] in C, H, W order whatever the memory format; see _FlattenKeepingFormat."""
    if h.dim() == 4 and h.requires_grad and not h.is_contiguous() \
            and h.is_contiguous(memory_format=torch.channels_last):
        return _FlattenKeepingFormat.apply(h)
    return torch.flatten(h, 1)


class TwoHeads(nn.Module):
    """D's last layer: one Linear with 1 + K outputs, split into the source logit and the class logits.

    No sigmoid or softmax here: the losses work on logits (avoids the double-softmax bug of public scripts)."""

    def __init__(self, in_features: int, num_classes: int):
        super().__init__()
        self.linear = nn.Linear(in_features, 1 + num_classes)

        self.proxies: nn.Embedding | None = None

    def add_proxies(self, num_classes: int) -> None:
        """Turn the class head into ReACGAN's: the class units become a projection f = W h, and each class gets a
        learned proxy v_y; the class output is then [normalize(f), cos(f, v_1..K)] ([B, P + K])."""
        self.proxies = nn.Embedding(num_classes, self.linear.out_features - 1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.linear(flatten_features(h))
        source, cls = out[:, 0], out[:, 1:]
        if self.proxies is not None:
            f = F.normalize(cls.float(), dim=1)
            cls = torch.cat([f, f @ F.normalize(self.proxies.weight.float(), dim=1).T], 1)
        return source, cls


def init_paper(module: nn.Module, std: float) -> None:
    """Conv / transposed-conv / linear / embedding weights ~ N(0, std), biases 0; BatchNorm keeps (1, 0)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def d_block(c_in: int, c_out: int, *, kernel: int, stride: int, bn: bool, dropout: float, noise: float) -> list:
    """conv -> [BatchNorm] -> LeakyReLU(0.2) -> dropout, preceded by activation noise on its input."""
    layers: list[nn.Module] = [ActivationNoise(noise),
                               nn.Conv2d(c_in, c_out, kernel, stride, padding=(kernel - 1) // 2, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    layers += [nn.LeakyReLU(0.2, inplace=True), FastDropout(dropout)]
    return layers


def g_up(c_in: int, c_out: int, *, kernel: int, last: bool = False) -> list:
    """Transposed conv with stride 2 (doubles H and W) -> BN + ReLU, or Tanh for the output layer."""
    pad = (kernel - 1) // 2
    conv = nn.ConvTranspose2d(c_in, c_out, kernel, 2, padding=pad, output_padding=1 if kernel % 2 else 0,
                              bias=last)
    return [conv, nn.Tanh()] if last else [conv, nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class Sampling:
    """What every generator offers, ours or anyone's: sample(labels, z=None, generator=None) -> images in [-1, 1].
    A subclass has `z_dim` and generate(z, labels); the noise, unless given, is N(0, 1) drawn on the CPU from
    `generator`, so the same seed gives the same images on any device."""
    z_dim: int

    @torch.no_grad()
    def sample(self, labels, z: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images in [-1, 1] for `labels` (class indices [N], or class names where the generator has them); fresh
        N(0, 1) noise unless `z` is given."""
        labels = self.label_indices(labels)
        if z is None:
            z = torch.randn(len(labels), self.z_dim, generator=generator)
        return self.generate(z, labels)

    def label_indices(self, labels) -> torch.Tensor:
        """[N] class indices from indices or names; one clear error for a class the generator does not have."""
        names = getattr(self, "class_names", None)
        if isinstance(labels, (list, tuple)) and any(isinstance(x, str) for x in labels):
            unknown = [x for x in labels if isinstance(x, str) and x not in (names or [])]
            if unknown:
                raise UserError(f"unknown class {unknown[0]!r}: this generator's classes are "
                                f"{', '.join(names) if names else 'unnamed: pass indices'}")
            labels = [names.index(x) if isinstance(x, str) else x for x in labels]
        labels = torch.as_tensor(labels, dtype=torch.long)
        k = getattr(self, "num_classes", None)
        if k is not None and labels.numel() and not 0 <= int(labels.min()) <= int(labels.max()) < k:
            raise UserError(f"labels must be class indices 0..{k - 1} (or class names), got "
                            f"{int(labels.min()) if labels.min() < 0 else int(labels.max())}")
        return labels

    def generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ModuleSampling(Sampling):
    """Sampling for an nn.Module generator: forward(z, labels) in eval mode on the module's device."""

    def generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        try:
            return self(z.to(device), labels.to(device)).float()
        finally:
            self.train(was_training)


class Generator(ModuleSampling, nn.Module):
    """G(z, c): conditioning -> Linear to (channels, start, start) -> a stack of upsampling layers."""

    def __init__(self, cond: ClassConditioning, z_dim: int, start_channels: int, start_size: int,
                 body: nn.Sequential, linear_bn: bool):
        super().__init__()
        self.cond, self.z_dim = cond, z_dim
        self.start = (start_channels, start_size, start_size)
        n = start_channels * start_size * start_size
        self.fc = nn.Linear(z_dim + cond.out_dim, n, bias=not linear_bn)
        self.fc_act = nn.Sequential(nn.BatchNorm1d(n) if linear_bn else nn.Identity(), nn.ReLU(inplace=True))
        self.body = body

    @property
    def num_classes(self) -> int:
        return self.cond.num_classes

    def start_map(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The first layer's output as a (channels, start, start) map, in the body's memory format."""
        h = self.fc_act(self.fc(self.cond(z, labels))).view(-1, *self.start)
        if self.body[0].weight.is_contiguous(memory_format=torch.channels_last):
            h = h.contiguous(memory_format=torch.channels_last)
        return h

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(self.start_map(z, labels))


class Discriminator(nn.Module):
    """D(x) -> (source_logit [B], class_logits [B, K])."""

    def __init__(self, features: nn.Sequential, feature_dim: int, num_classes: int):
        super().__init__()
        self.features = features
        self.heads = TwoHeads(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.features(x))
