"""Every preset's recipe gives the same weights after 8 steps as when the fingerprints were recorded.

The recipe is the preset's; the data a tiny synthetic folder, the batch 4 and the precision fp32, so the test is
fast. What is compared, per network (G, D, G's EMA): the names and shapes of its tensors exactly, the initial
weights' L1 norm to 1e-5, and the 8 steps' update (weights after minus before) by its norm and by 8 fixed random
projections of it. The update is not compared bit for bit: fp32 kernels sum in another order on each CPU kind (AVX2,
AVX512, AMX) and thread count, and Adam turns a gradient whose sign is decided by round-off into a full-size step,
so a few elements differ: between 1 and 2 threads, and between AMX, AVX2 and scalar kernels, the projections moved by
up to 9% of their length, most by under 4%. On the machine, kernels, thread count and torch that recorded them the
weights must be equal to the bit (a sha256).

To record new fingerprints after a deliberate change: ACGAN_WRITE_FINGERPRINTS=1 pytest tests/test_fingerprint.py
"""
import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from acgan.config import assemble
from acgan.data import load_data
from acgan.training.loop import Trainer

from .conftest import write_folder_dataset

pytestmark = pytest.mark.slow  # five recipes trained for 8 steps: about 20 s

FILE = Path(__file__).with_name("fingerprints.json")
# the recipe, under the name it was recorded with, and the data it is tried on: (image mode, px)
RECIPES = {"paper-fashion-mnist": ("L", 28), "demo": ("L", 28), "paper-cifar": ("RGB", 32),
           "modern-cifar": ("RGB", 32), "paper-imagenet": ("RGB", 64)}
PROJECTIONS, CHUNK = 8, 1 << 20
UPDATE_TOLERANCE = 0.15  # |projections found - recorded| / |recorded|, on another machine


def machine() -> str:
    """The CPU kind, and its family and model numbers: EPYCs of two generations share a name and flags but not
    every kernel's rounding, so bit-exact weights are compared only on the very model that recorded them."""
    from acgan.device import cpu_signature
    fields = {}
    if Path("/proc/cpuinfo").is_file():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    return f"{cpu_signature()} family {fields.get('cpu family', '?')} model {fields.get('model', '?')}"


def floats(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


def fingerprint(before: dict, after: dict) -> dict:
    names = sorted(before)
    delta = torch.cat([(after[n].double() - before[n].double()).flatten() for n in names])
    gen, proj = torch.Generator().manual_seed(0), torch.zeros(PROJECTIONS, dtype=torch.float64)
    for part in delta.split(CHUNK):
        proj += (torch.randn(PROJECTIONS, len(part), generator=gen) @ part.float()).double()
    digest = hashlib.sha256(b"".join(after[n].contiguous().numpy().tobytes() for n in names)).hexdigest()
    return {"shapes": {n: list(before[n].shape) for n in names}, "sha256": digest,
            "init_l1": sum(before[n].double().abs().sum().item() for n in names),
            "update_norm": delta.norm().item(), "update_projections": proj.tolist()}


def after_8_steps(preset: str, tmp_path: Path) -> dict:
    mode, px = RECIPES[preset]
    data_dir = write_folder_dataset(tmp_path / "data", per_class=12, size=px, mode=mode)
    cfg = assemble(preset, {"dataset": "folder", "data_dir": str(data_dir), "resolution": px, "batch_size": 4,
                            "steps": 8, "precision": "fp32", "device": "cpu", "monitor_every": 0})
    trainer = Trainer(cfg, load_data(cfg, px))
    nets = {"G": trainer.G, "D": trainer.D, **({"G_ema": trainer.ema.model} if trainer.ema else {})}
    before = {name: floats(net) for name, net in nets.items()}
    for _ in range(8):
        trainer.train_step()
    return {name: fingerprint(before[name], floats(net)) for name, net in nets.items()}


@pytest.fixture
def recorded_threads():
    """The thread count the fingerprints were recorded with (two: `make test`'s workers run one each), so that
    the machine that recorded them still compares them to the bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("preset", list(RECIPES))
def test_preset_weights_after_8_steps(preset, tmp_path, recorded_threads):
    found = after_8_steps(preset, tmp_path)
    if os.environ.get("ACGAN_WRITE_FINGERPRINTS"):
        recorded = json.loads(FILE.read_text()) if FILE.exists() else {}
        recorded.update({preset: found, "machine": machine()})
        FILE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        pytest.skip("fingerprint recorded")
    recorded = json.loads(FILE.read_text())
    want, same_machine = recorded[preset], recorded["machine"] == machine()
    assert sorted(found) == sorted(want), f"{preset}: other networks"
    for net, w in want.items():
        f = found[net]
        assert f["shapes"] == w["shapes"], f"{preset}: {net}'s tensors changed"
        if same_machine:
            assert f["sha256"] == w["sha256"], f"{preset}: {net}'s weights changed on the machine that recorded them"
        assert f["init_l1"] == pytest.approx(w["init_l1"], rel=1e-5), f"{preset}: {net}'s init changed"
        assert f["update_norm"] == pytest.approx(w["update_norm"], rel=0.05), f"{preset}: {net}'s update changed"
        gap = torch.tensor(f["update_projections"]) - torch.tensor(w["update_projections"])
        assert gap.norm() <= UPDATE_TOLERANCE * torch.tensor(w["update_projections"]).norm(), \
            f"{preset}: {net}'s update points elsewhere"


def test_fingerprints_cover_the_recipes():
    assert sorted(json.loads(FILE.read_text())) == sorted([*RECIPES, "machine"])
