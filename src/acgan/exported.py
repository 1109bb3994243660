"""A generator exported from a run, as a folder in the Hugging Face Hub's layout for PyTorch models:

    model.safetensors   G's weights (the run's EMA of G when it kept one), fp32, spectral norm folded in
    config.json         what builds G again: the architecture and its keys, z size, resolution, channels, the class
                        names in label order, the pixel range, and for a class-split run its groups
    README.md           a model card (share/card.py), samples.png, and generator.onnx when asked for

Loading needs neither the run, nor its training config, nor a pickle: `acgan.load_generator(folder)`, or, where
huggingface_hub is installed, `ExportedGenerator.from_pretrained(folder)` (its PyTorchModelHubMixin).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .config import from_dict
from .errors import UserError
from .models import build_generator
from .models.common import Sampling
from .models.split import SplitGenerator

FORMAT = 1
WEIGHTS, CONFIG = "model.safetensors", "config.json"


def _hub_mixin():
    try:
        from huggingface_hub import PyTorchModelHubMixin
        return PyTorchModelHubMixin
    except ImportError:  # optional: without it, acgan.load_generator still loads the folder
        return object


def is_export(folder) -> bool:
    path = Path(folder) / CONFIG
    try:
        return path.is_file() and json.loads(path.read_text()).get("acgan_export") == FORMAT
    except (OSError, ValueError):
        return False


class ExportedGenerator(Sampling, nn.Module, _hub_mixin()):
    """G rebuilt from an export's config.json: sample(labels, z) like any acgan generator, forward(z, labels) for
    tracing (ONNX). Its constructor takes config.json's keys, as the Hub mixin hands them."""

    def __init__(self, **config):
        super().__init__()
        self.config = config
        self.class_names = list(config["class_names"])
        self.z_dim, self.step = config["z_dim"], config.get("step")
        cfg = from_dict(config["model"], where="the export's config.json")
        groups = config.get("groups")
        c, r = config["channels"], config["resolution"]
        self.resolution = r  # sampling's calls stay small for large images
        if groups:
            parts = [build_generator(cfg, c, r, len(g)) for g in groups]
            self.generator = SplitGenerator(parts, groups, self.class_names)
        else:
            self.generator = build_generator(cfg, c, r, len(self.class_names))
        self.eval()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def generate(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator.generate(z, labels)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels)


def load_export(folder, device: str = "cpu") -> ExportedGenerator:
    """The generator of an export folder, in eval mode; one line when its files do not fit together."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG).read_text())
        G = ExportedGenerator(**config)
        G.load_state_dict(load_file(folder / WEIGHTS))
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as e:
        raise UserError(f"{folder} is not a usable acgan export ({type(e).__name__}: "
                        f"{str(e).splitlines()[0][:120] if str(e) else ''}): export the run again") from None
    return G.to(device).eval()
