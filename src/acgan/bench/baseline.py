"""The AC-GAN loop of the common public scripts, written here as the speed baseline.

What makes it the "usual" loop (as in the widely copied one-file PyTorch AC-GAN scripts): fp32; a DataLoader whose
data set decodes each image as torchvision's MNIST/CIFAR data sets do (uint8 array -> PIL image -> ToTensor ->
Normalize(0.5, 0.5), per image, on the host); labels and noise sampled with numpy and copied in; the G step first,
then D on real and D on fake in
separate passes; nn.Dropout; non-fused Adam; D's accuracy read back with .cpu().numpy() every step (a host sync).
It trains the same G and D as our trainer (with nn.Dropout in place of our FastDropout), on the same batch size and
device, with logits-based losses (the scripts' double-softmax bug is not reproduced: it does not change the speed).
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from ..models.common import FastDropout


def with_plain_dropout(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    for name, child in model.named_children():
        if isinstance(child, FastDropout):
            setattr(model, name, nn.Dropout(child.p))
        else:
            setattr(model, name, with_plain_dropout(child))
    return model


class TorchvisionStyleImages(Dataset):
    """Per-item decoding like torchvision.datasets.MNIST / CIFAR10: Image.fromarray, then the transforms."""

    def __init__(self, images_uint8: torch.Tensor, labels: torch.Tensor):
        arrays = images_uint8.permute(0, 2, 3, 1).numpy()
        self.arrays = list(arrays[..., 0] if arrays.shape[-1] == 1 else arrays)
        self.labels = labels.tolist()
        c = images_uint8.shape[1]
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5] * c, [0.5] * c)])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.arrays[i])), self.labels[i]


class BaselineLoop:
    def __init__(self, G, D, images_uint8: torch.Tensor, labels: torch.Tensor, batch_size: int, device):
        self.G, self.D = with_plain_dropout(G).to(device), with_plain_dropout(D).to(device)
        self.device, self.batch_size, self.k, self.z_dim = device, batch_size, G.num_classes, G.z_dim
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=False)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=False)
        self.loader = DataLoader(TorchvisionStyleImages(images_uint8, labels), batch_size=batch_size, shuffle=True,
                                 drop_last=True)
        self.batches = iter(self.loader)

    def next_batch(self):
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)

    def train_step(self) -> None:
        imgs, labels = self.next_batch()
        real, labels = imgs.to(self.device), labels.to(self.device)
        b = real.shape[0]
        valid, fake_t = torch.ones(b, device=self.device), torch.zeros(b, device=self.device)
        z = torch.tensor(np.random.normal(0, 1, (b, self.z_dim)), dtype=torch.float32, device=self.device)
        gen_labels = torch.tensor(np.random.randint(0, self.k, b), device=self.device)

        self.opt_g.zero_grad()
        gen = self.G(z, gen_labels)
        validity, pred = self.D(gen)
        g_loss = 0.5 * (F.binary_cross_entropy_with_logits(validity, valid) + F.cross_entropy(pred, gen_labels))
        g_loss.backward()
        self.opt_g.step()

        self.opt_d.zero_grad()
        real_v, real_aux = self.D(real)
        d_real = (F.binary_cross_entropy_with_logits(real_v, valid) + F.cross_entropy(real_aux, labels)) / 2
        fake_v, fake_aux = self.D(gen.detach())
        d_fake = (F.binary_cross_entropy_with_logits(fake_v, fake_t) + F.cross_entropy(fake_aux, gen_labels)) / 2
        d_loss = (d_real + d_fake) / 2
        pred_all = np.concatenate([real_aux.data.cpu().numpy(), fake_aux.data.cpu().numpy()], axis=0)
        gt = np.concatenate([labels.data.cpu().numpy(), gen_labels.data.cpu().numpy()], axis=0)
        _ = np.mean(np.argmax(pred_all, axis=1) == gt)  # the per-step accuracy print of the scripts
        d_loss.backward()
        self.opt_d.step()
        _ = (d_loss.item(), g_loss.item())
