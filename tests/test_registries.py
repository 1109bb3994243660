"""The registries: names, validation against them, and that one registered entry is all a new piece needs."""

import pytest
import torch
from torch import nn

from acgan.config import TrainConfig, assemble
from acgan.data import DATASETS, describe, load_data
from acgan.data import folder as folder_module
from acgan.data import register as register_data
from acgan.data.registry import InMemoryData
from acgan.errors import UserError
from acgan.evaluation.context import EvalContext, EvalOptions, SampleSet
from acgan.evaluation.steps import STEPS, run_steps, step, steps_of
from acgan.losses import LOSSES, ACGANLoss, build_loss
from acgan.losses import register as register_loss
from acgan.models import ARCHS, ArchSpec, build_models
from acgan.models import register as register_arch
from acgan.models.common import Discriminator, Generator
from acgan.rundir import RunDir
from acgan.training.loop import Trainer
from acgan.training.single_run import train


def test_registered_names():
    assert set(ARCHS) >= {"dcgan-small", "paper-cifar", "paper-imagenet"}
    assert set(DATASETS) >= {"fashion-mnist", "mnist", "cifar10", "cifar100", "folder"}
    assert "acgan" in LOSSES
    assert {"discriminability", "diversity", "joint", "domain_metrics", "inception", "overfitting", "figures",
            "quality"} <= set(STEPS)


@pytest.mark.parametrize("key,what", [("arch", "architecture"), ("dataset", "data set"), ("loss", "loss")])
def test_config_validates_names_against_the_registries(key, what):
    with pytest.raises(UserError, match=f"unknown {what} 'nope': choose one of"):
        TrainConfig(**{key: "nope"}).validate()


class Squares(InMemoryData):
    """A synthetic set: class c is a bright square at position c, 1 channel, 16 px."""
    name, summary, fixed_channels, fixed_resolution = "squares", "test squares", 1, 16

    def read(self, data_dir, split):
        images = torch.zeros(30, 1, 16, 16, dtype=torch.uint8)
        labels = torch.arange(30) % 3
        for i, c in enumerate(labels.tolist()):
            images[i, 0, 4 * c:4 * c + 4, 4 * c:4 * c + 4] = 255
        return images, labels, ["a", "b", "c"]


def tiny_linear_g(cfg, cond, channels, resolution):
    body = nn.Sequential(nn.Conv2d(4, channels, 1), nn.Tanh())
    return Generator(cond, cfg.z_dim, 4, resolution, body, linear_bn=False)


def tiny_linear_d(cfg, channels, resolution, num_classes):
    return Discriminator(nn.Sequential(nn.Flatten()), channels * resolution * resolution, num_classes)


class CountingLoss(ACGANLoss):
    calls = {"d": 0, "g": 0}

    def discriminator(self, *args):
        CountingLoss.calls["d"] += 1
        return super().discriminator(*args)

    def generator(self, *args):
        CountingLoss.calls["g"] += 1
        return super().generator(*args)


@pytest.fixture
def registered():
    """A data set, an architecture and a loss added the way a new file would add them, removed afterwards."""
    register_data(Squares())
    register_arch(ArchSpec("tiny-linear", "test pair", tiny_linear_g, tiny_linear_d, lambda native: native, 1))
    register_loss("counting", "test loss")(CountingLoss)
    yield
    DATASETS.pop("squares"), ARCHS.pop("tiny-linear"), LOSSES.pop("counting")


def test_a_registered_entry_is_all_a_new_piece_needs(registered, tmp_path):
    cfg = assemble(None, {"dataset": "squares", "arch": "tiny-linear", "loss": "counting", "classes": "c,a",
                          "steps": 4, "batch_size": 6, "z_dim": 4, "device": "cpu", "precision": "fp32",
                          "monitor_every": 0, "log_every": 2, "checkpoint_every": 4, "sample_every": 4})
    assert describe(cfg).class_names == ["c", "a"] and describe(cfg).channels == 1
    data = load_data(cfg, None)
    assert data.class_names == ["c", "a"] and len(data.labels) == 20 and set(data.labels.tolist()) == {0, 1}
    assert torch.all(data.images[data.labels == 0][:, 0, 8:12, 8:12] == 255)  # class 'c' first, as asked
    run = train(cfg, tmp_path / "run", progress=False)
    assert CountingLoss.calls == {"d": 4, "g": 4}
    record = RunDir(run).read()
    assert record.config["arch"] == "tiny-linear" and record.data["class_names"] == ["c", "a"]


def test_build_loss_reads_the_config():
    loss = build_loss(TrainConfig(class_loss_weight=0.5, adversarial="hinge"))
    assert isinstance(loss, ACGANLoss) and loss.class_weight == 0.5 and loss.adversarial == "hinge"


def test_resolution_rule_comes_from_the_spec():
    with pytest.raises(UserError, match="paper-imagenet needs a resolution divisible by 16"):
        build_models(TrainConfig(arch="paper-imagenet"), 3, 40, 10)
    assert ARCHS["paper-imagenet"].default_resolution(256) == 128
    assert ARCHS["dcgan-small"].default_resolution(30) == 32


def test_a_resolution_the_architecture_cannot_take_is_refused_before_any_data_is_read(tmp_path):
    # the data folder does not exist: were the data read first, that would be the error
    cfg = TrainConfig(dataset="folder", data_dir=str(tmp_path / "absent"), arch="dcgan-small", resolution=17)
    with pytest.raises(UserError, match="dcgan-small needs a resolution divisible by 4, got 17"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_trainer_is_a_step_engine_without_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = load_data(TrainConfig(dataset="folder", data_dir=str(_folder(tmp_path / "d"))), 16)
    cfg = TrainConfig(dataset="folder", arch="dcgan-small", g_width=8, d_width=8, z_dim=8, batch_size=8,
                      device="cpu", precision="fp32", monitor_every=0)
    trainer = Trainer(cfg, data)
    out = trainer.train_step()
    assert trainer.step == 1 and set(trainer.stat_keys) <= set(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # nothing written


def _folder(root):
    from .conftest import write_folder_dataset
    return write_folder_dataset(root)


def test_folder_is_scanned_once(tmp_path, monkeypatch):
    root = _folder(tmp_path / "d")
    scans = []
    original = folder_module.FolderIndex.__init__

    def counting(self, *args):
        scans.append(args)
        original(self, *args)
    monkeypatch.setattr(folder_module.FolderIndex, "__init__", counting)
    cfg = TrainConfig(dataset="folder", data_dir=str(root))
    describe(cfg), load_data(cfg, 16), describe(cfg)
    assert len(scans) == 1
    (root / "emu").mkdir()  # a new class folder: the index notices
    assert describe(cfg).class_names == ["cat", "dog", "emu", "frog"] and len(scans) == 2


def test_steps_run_in_order_and_see_earlier_results():
    seen = []

    @step("test-second", order=1002, commands=("check",))
    def second(ctx):
        """Reads the first step's section."""
        seen.append(ctx.results["test-first"]["n"])

    @step("test-first", order=1001, commands=("check",))
    def first(ctx):
        """Counts the classes."""
        return {"n": ctx.samples.num_classes}

    try:
        assert steps_of("check")[-2:] == ["test-first", "test-second"]  # by order, not by registration
        samples = SampleSet(torch.zeros(4, 1, 16, 16), torch.tensor([0, 0, 1, 1]),
                            torch.zeros(4, 1, 16, 16, dtype=torch.uint8), torch.tensor([0, 0, 1, 1]), ["x", "y"], 0)
        ctx = EvalContext(samples, None, None, EvalOptions())
        results = run_steps(["test-second", "test-first"], ctx)
        assert results == {"test-first": {"n": 2}} and seen == [2]  # a step returning None adds no section
        assert samples.per_class == 2 and samples.resolution == 16
        assert STEPS.summaries["test-first"] == "Counts the classes."
    finally:
        STEPS.pop("test-first"), STEPS.pop("test-second")


@pytest.mark.parametrize("registry,entry", [(ARCHS, "dcgan-small"), (DATASETS, "folder"), (LOSSES, "acgan"),
                                            (STEPS, "joint")])
def test_a_name_registered_twice_is_refused(registry, entry):
    with pytest.raises(ValueError, match="registered twice"):
        registry.add(entry, registry[entry], "again")
    assert registry.summaries[entry] != "again"


def test_config_choices_come_from_the_modules_that_implement_them():
    from acgan.losses import ADVERSARIAL
    from acgan.models import SPECTRAL_NORM
    from acgan.models.augment import POLICIES
    from acgan.optim import NAN_POLICIES, SCHEDULES
    for key, choices in (("spectral_norm", SPECTRAL_NORM), ("adversarial", ADVERSARIAL), ("lr_schedule", SCHEDULES),
                         ("nan_policy", NAN_POLICIES)):
        for value in choices:
            TrainConfig(**{key: value}).validate()
        with pytest.raises(UserError, match=f"{key} must be one of .*{list(choices)[-1]}"):
            TrainConfig(**{key: "nope"}).validate()
    for policy in POLICIES:
        TrainConfig(diffaugment=policy).validate()
    with pytest.raises(UserError, match="unknown DiffAugment policy zoom"):
        TrainConfig(diffaugment="color,zoom").validate()


def test_train_help_lists_every_registered_choice_with_its_summary():
    from click.testing import CliRunner

    from acgan.cli import main
    text = CliRunner().invoke(main, ["train", "--help"], terminal_width=200).output
    for registry in (DATASETS, ARCHS, LOSSES):
        for name, summary in registry.summaries.items():
            assert f"{name}: {summary}" in " ".join(text.split()), name


PRESETS = ["demo", "demo-long", "paper-fashion-mnist", "modern-cifar", "paper-cifar", "paper-imagenet",
           "modern-64", "modern-128", "modern-64-cpu", "modern-128-cpu", "cifar-cpu", "small-64-cpu"]


def test_the_preset_list_below_is_every_preset():
    """Written out, so that a preset that disappears fails; compared, so that a new one cannot go untested."""
    from acgan.config import preset_names
    assert sorted(PRESETS) == preset_names()


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_builds_a_working_pair(name):
    """A preset's keys validate, and its G, D and loss build and take one step on 32 px RGB batches."""
    cfg = assemble(name, {"g_width": 4, "d_width": 4} if name in ("modern-64", "modern-128") else {})  # GPU widths
    res = cfg.resolution or (64 if cfg.arch == "paper-imagenet" else 32)
    loss = build_loss(cfg)
    G, D = build_models(cfg, 3, res, 10, loss.class_outputs(10), loss.class_proxies)
    y = torch.arange(4) % 10
    fake = G(torch.randn(4, cfg.z_dim), y)
    assert fake.shape == (4, 3, res, res)
    out = loss.generator(D(fake), y)
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and all(p.grad is not None for p in G.parameters() if p.requires_grad)


STEP_FILE = '''"""A new analysis: mean brightness of each class's samples."""
from acgan.evaluation.steps import step


@step("brightness", order=45)
def brightness(ctx):
    """Mean brightness of each class's samples, in [-1, 1]."""
    s = ctx.samples
    return {"per_class": [s.fake[s.fake_labels == c].mean().item() for c in range(s.num_classes)]}
'''


def test_a_new_step_is_one_file(split_data, evaluator_dir, tmp_path):
    """The file above, dropped beside the other steps (here imported from tmp_path, as steps/ would on start-up),
    is all it takes: `acgan evaluate` runs it and metrics.json gets its section."""
    import importlib.util
    import json

    from click.testing import CliRunner

    from acgan.cli import main
    from acgan.sampling import load_generator, sample_classes

    (tmp_path / "brightness.py").write_text(STEP_FILE)
    spec = importlib.util.spec_from_file_location("brightness_step", tmp_path / "brightness.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    try:
        assert "brightness" in steps_of("evaluate") and "brightness" not in steps_of("check")
        run = tmp_path / "run"
        res = CliRunner().invoke(main, ["train", "--dataset", "folder", "--data-dir", str(split_data), "--resolution",
                                        "16", "--batch-size", "8", "--steps", "2", "--quiet", "--out", str(run),
                                        "--set", "g_width=8", "--set", "d_width=8"])
        assert res.exit_code == 0, res.output
        res = CliRunner().invoke(main, ["evaluate", str(run), "--evaluator", str(evaluator_dir), "--per-class", "10",
                                        "--real-per-class", "10", "--pairs", "4"])
        assert res.exit_code == 0, res.output
        fake, labels = sample_classes(load_generator(run), [0, 1, 2], 10, 0)
        found = json.loads((run / "metrics.json").read_text())["brightness"]["per_class"]
        assert found == pytest.approx([fake[labels == c].mean().item() for c in range(3)])
    finally:
        STEPS.pop("brightness")


def test_the_old_preset_name_and_an_older_run_directory_still_work(tiny_cfg, tmp_path):
    import json

    import acgan
    from acgan.config import assemble
    assert assemble("modern-demo") == assemble("demo")  # renamed in 0.2; the old name keeps working
    run = train(tiny_cfg, tmp_path / "run", progress=False)
    record = json.loads((run / "config.json").read_text())
    del record["config"]["lr_schedule"]  # a key added after the run was made
    (run / "config.json").write_text(json.dumps(record))
    assert acgan.load_generator(run).sample([0, 1]).shape == (2, 3, 16, 16)
    from acgan.training.single_run import resume
    resume(run, steps=8, progress=False)
    assert RunDir(run).last_step() == 8
