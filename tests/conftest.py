import dataclasses
import os
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from acgan.config import TrainConfig

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores: a thread each, not two each; the processes a test starts get one
    # too, so that a run trained in a subprocess rounds as the same run trained in the test does
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (subprocesses, torchrun, wheel builds); "
                                       "deselect with -m 'not slow'")


def pytest_collection_modifyitems(config, items):
    """The slow tests first: two workers then end together instead of one finishing a long test alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Every test writes caches (real statistics, default evaluators, MS-SSIM choices) to a folder of its own run,
    never to the user's ~/.cache/acgan."""
    old = os.environ.get("ACGAN_CACHE")
    os.environ["ACGAN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("ACGAN_CACHE", None)
    else:
        os.environ["ACGAN_CACHE"] = old


@pytest.fixture
def folder_data(tmp_path):
    return write_folder_dataset(tmp_path / "data")


@pytest.fixture
def tiny_cfg(folder_data):
    """A run that takes about a second: dcgan-small with 8 channels at 16 px on 72 images."""
    return TrainConfig(dataset="folder", data_dir=str(folder_data), arch="dcgan-small", resolution=16, g_width=8,
                       d_width=8, z_dim=8, batch_size=8, steps=6, log_every=2, sample_every=3, checkpoint_every=3,
                       keep_checkpoints=2, grid_columns=4, device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def split_data(tmp_path_factory):
    """train/ and test/ of three classes (read-only: tests that change data make their own)."""
    root = tmp_path_factory.mktemp("split") / "data"
    write_folder_dataset(root / "train", per_class=40, seed=0)
    write_folder_dataset(root / "test", per_class=20, seed=1)
    return root


@pytest.fixture(scope="session")
def trained_evaluator(split_data, tmp_path_factory):
    """An evaluator of split_data, trained once for the whole test run (read-only: see evaluator_dir)."""
    out = tmp_path_factory.mktemp("evaluator") / "ev"
    from acgan.cli import main
    res = CliRunner().invoke(main, ["train-classifier", "--dataset", "folder", "--data-dir", str(split_data),
                                    "--resolution", "16", "--epochs", "40", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def evaluator_dir(trained_evaluator, tmp_path):
    """This test's own copy of the test run's evaluator, free to damage."""
    return shutil.copytree(trained_evaluator, tmp_path / "ev")


def assert_same_weights(a: dict, b: dict, parts=("G", "D")) -> None:
    """Two checkpoints' states hold bit-identical tensors in each of `parts`."""
    assert a["step"] == b["step"], (a["step"], b["step"])
    for part in parts:
        assert a[part].keys() == b[part].keys(), part
        for name, tensor in a[part].items():
            assert torch.equal(tensor, b[part][name]), f"{part}.{name} differs"


def assert_same_state(a, b, where="checkpoint") -> None:
    """Every tensor (dtype and values), number and string of two checkpoint states is identical, recursively."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (where, sorted(a), sorted(b))
        for k in a:
            assert_same_state(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), f"{where} differs"
    else:
        assert a == b, (where, a, b)


def straight_and_resumed(cfg, tmp_path, steps: int, cut: int, *, interrupt=None):
    """(state after `steps` steps in one go, state after `cut` steps then a resume to `steps`), both from the
    newest checkpoint. `interrupt(run_dir)` may break the cut run first (delete, damage a checkpoint...)."""
    from acgan.rundir import RunDir
    from acgan.training.single_run import resume, train
    every = min(cfg.checkpoint_every, cut)
    straight = train(dataclasses.replace(cfg, steps=steps, checkpoint_every=every), tmp_path / "straight",
                     progress=False)
    cut_run = train(dataclasses.replace(cfg, steps=cut, checkpoint_every=every), tmp_path / "cut", progress=False)
    if interrupt is not None:
        interrupt(cut_run)
    resume(cut_run, steps=steps, progress=False)
    return RunDir(straight).load_checkpoint()[0], RunDir(cut_run).load_checkpoint()[0]
