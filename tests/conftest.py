import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from acgan.config import TrainConfig


def write_folder_dataset(root, classes=("cat", "dog", "frog"), per_class=24, size=16, mode="RGB", seed=0):
    """One folder per class of small PNGs; each class has its own mean colour so it is learnable."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            base = 40 + 80 * k
            arr = np.clip(rng.normal(base, 20, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).convert(mode).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture
def folder_data(tmp_path):
    return write_folder_dataset(tmp_path / "data")


@pytest.fixture
def tiny_cfg(folder_data):
    """A run that takes about a second: dcgan-small with 8 channels at 16 px on 72 images."""
    return TrainConfig(dataset="folder", data_dir=str(folder_data), arch="dcgan-small", resolution=16, g_width=8,
                       d_width=8, z_dim=8, batch_size=8, steps=6, log_every=2, sample_every=3, checkpoint_every=3,
                       keep_checkpoints=2, grid_columns=4, device="cpu", precision="fp32")


@pytest.fixture
def split_data(tmp_path):
    root = tmp_path / "data"
    write_folder_dataset(root / "train", per_class=40, seed=0)
    write_folder_dataset(root / "test", per_class=20, seed=1)
    return root


@pytest.fixture
def evaluator_dir(split_data, tmp_path, monkeypatch):
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ev"
    from acgan.cli import main
    res = CliRunner().invoke(main, ["train-classifier", "--dataset", "folder", "--data-dir", str(split_data),
                                    "--resolution", "16", "--epochs", "40", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    return out
