"""The generators of a class-split run (the paper's 100 models of 10 classes) as one conditional generator."""
from __future__ import annotations

import torch
from torch import nn

from .common import Sampling


class SplitGenerator(Sampling, nn.Module):
    """Global labels routed to the part that owns each class; `groups[g]` lists part g's classes in its order."""

    def __init__(self, parts: list, groups: list[list[int]], class_names: list[str]):
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.groups = [list(g) for g in groups]
        self.owner = {c: (g, local) for g, group in enumerate(groups) for local, c in enumerate(group)}
        self.class_names, self.z_dim = list(class_names), parts[0].z_dim
        self.step = min(getattr(p, "step", 0) for p in parts)
        self.resolution = getattr(parts[0], "resolution", None)
        # the same routing as tensors, for forward(): a traced or exported graph cannot read a dict
        self.register_buffer("owner_of", torch.tensor([self.owner[c][0] for c in range(len(class_names))]),
                             persistent=False)
        self.register_buffer("local_of", torch.tensor([self.owner[c][1] for c in range(len(class_names))]),
                             persistent=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Each part draws only its own classes' samples (what sampling and evaluation use)."""
        labels = labels.cpu()
        owners = torch.tensor([self.owner[c][0] for c in labels.tolist()])
        local = torch.tensor([self.owner[c][1] for c in labels.tolist()])
        out = None
        for g, part in enumerate(self.parts):
            idx = (owners == g).nonzero().flatten()
            if len(idx):
                x = part.generate(z[idx], local[idx])
                if out is None:
                    out = torch.empty(len(labels), *x.shape[1:], device=x.device)
                out[idx.to(x.device)] = x
        return out

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Every part on every sample, each sample's own part kept: one graph whatever the labels (ONNX)."""
        owner, local = self.owner_of[labels], self.local_of[labels]
        out = None
        for g, part in enumerate(self.parts):
            x = part(z, local.clamp(max=len(self.groups[g]) - 1))
            keep = (owner == g).view(-1, 1, 1, 1)
            out = x * keep if out is None else torch.where(keep, x, out)
        return out
