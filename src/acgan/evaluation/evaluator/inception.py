"""The paper's discriminability network for ImageNet classes: torchvision's ImageNet Inception-v3.

Used when every class folder is a WordNet synset id (n01440764, ...). Weights: a local file (`--imagenet-weights`)
or torchvision's file in the torch hub cache; never downloaded here. Class indices: the order of the 1000 synsets in
`--imagenet-synsets FILE` (one synset per line, first word, as in LOC_synset_mapping.txt), or, when the data set
has all 1000 classes, their sorted order (the standard ImageNet index order).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torchvision.models import inception_v3
from torchvision.transforms.v2 import functional as TF

from ...errors import UserError
from ...io import file_sha256
from ...pixels import to_zero_one

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's port of the 2015 TF graph
SYNSET = re.compile(r"n\d{8}")
TORCHVISION_FILE = "inception_v3_google-0cc3c7bd.pth"
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def all_synsets(names: list[str]) -> bool:
    return bool(names) and all(SYNSET.fullmatch(n) for n in names)


def synset_indices(names: list[str], synsets_file: str | None) -> list[int]:
    if synsets_file:
        order = [line.split()[0] for line in Path(synsets_file).read_text().splitlines() if line.strip()]
    elif len(names) == 1000:
        order = sorted(names)
    else:
        raise UserError("the class folders are ImageNet synsets but not all 1000 of them: pass --imagenet-synsets "
                        "FILE listing the 1000 synsets in class-index order (e.g. LOC_synset_mapping.txt)")
    missing = [n for n in names if n not in order]
    if missing:
        raise UserError(f"synsets {', '.join(missing[:5])} are not in the synsets list: check --imagenet-synsets")
    return [order.index(n) for n in names]


def find_inception_weights(path: str | None) -> Path:
    """A local weights file: the given path, else the torch hub cache; a UserError names both otherwise."""
    candidates = [Path(path)] if path else [Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE]
    for c in candidates:
        if c.is_file():
            check_state_dict_file(c)
            return c
    where = f"{path} does not exist" if path else f"no {INCEPTION_FILE} in the torch hub cache ({candidates[0].parent})"
    raise UserError(f"Inception weights not found: {where}; pass --inception-weights PATH to the file "
                    f"{INCEPTION_FILE} (torch-fidelity's TF-compatible weights)")


def check_state_dict_file(path: Path) -> None:
    """torch-fidelity unpickles its weights file in full; refuse any file that is more than tensors first."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"{path} is not a plain weights file ({type(e).__name__}); refusing to unpickle it") from None
    if not isinstance(state, dict):
        raise UserError(f"{path} is not a state_dict")


def random_weights_inception(features: list[str]):
    """torch-fidelity's TF-compatible Inception with its default (random) init and nothing downloaded: for speed
    measurements and for tests that write a weights file of the right layout."""
    from torch_fidelity import feature_extractor_inceptionv3 as tf_inception

    load, url = torch.nn.Module.load_state_dict, tf_inception.load_state_dict_from_url
    torch.nn.Module.load_state_dict = lambda *a, **k: None
    tf_inception.load_state_dict_from_url = lambda *a, **k: {}
    try:
        return tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", features)
    finally:
        torch.nn.Module.load_state_dict, tf_inception.load_state_dict_from_url = load, url


@dataclass
class ImageNetInception:
    """Evaluator-like wrapper: run() gives 1000-way logits for images in [-1, 1]; `targets` maps our labels."""
    net: torch.nn.Module
    targets: list[int]
    meta: dict = field(default_factory=dict)

    @torch.no_grad()
    def run(self, images: torch.Tensor, batch: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
        self.net.eval()
        mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
        out = []
        for chunk in images.split(batch):
            x = to_zero_one(chunk)
            x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
            if x.shape[-1] != 299:
                x = TF.resize(x, [299, 299], antialias=True)
            out.append(self.net((x - mean) / std).float())
        logits = torch.cat(out)
        return logits, logits


def load_imagenet_inception(names: list[str], weights: str | None, synsets_file: str | None) -> ImageNetInception:
    path = Path(weights) if weights else Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE
    if not path.is_file():
        raise UserError(f"ImageNet Inception-v3 weights not found at {path}: pass --imagenet-weights PATH to "
                        f"torchvision's {TORCHVISION_FILE}")
    check_state_dict_file(path)
    net = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except RuntimeError as e:
        raise UserError(f"{path} is not torchvision's Inception-v3 ({str(e).splitlines()[0][:100]})") from None
    targets = synset_indices(names, synsets_file)
    return ImageNetInception(net.eval(), targets, {"network": "torchvision inception_v3 IMAGENET1K_V1",
                                                    "weights": str(path), "weights_sha256": file_sha256(path),
                                                    "resolution": 299})
