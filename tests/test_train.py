import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from PIL import Image

import acgan
from acgan.errors import UserError
from acgan.grids import row_margin
from acgan.rundir import RunDir
from acgan.training.loop import Trainer
from acgan.training.single_run import resume, train

from .conftest import assert_same_weights, straight_and_resumed


def test_run_directory_contents(tiny_cfg, tmp_path):
    run = train(tiny_cfg, tmp_path / "run", progress=False)
    saved = json.loads((run / "config.json").read_text())
    assert saved["config"]["arch"] == "dcgan-small" and saved["data"]["class_names"] == ["cat", "dog", "frog"]
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]
    assert {"d_loss", "g_loss", "acc_real", "acc_fake", "step_time_s", "images_per_s"} <= set(rows[0])
    assert [s for s, _ in RunDir(run).checkpoints()] == [3, 6]  # keep_checkpoints = 2
    grid = Image.open(run / "samples" / "latest.png")
    # 4 columns, one row per class, 2 px padding, and the class names in a margin on the left (test_grids.py)
    assert grid.size == (row_margin(["cat", "dog", "frog"], 16) + 4 * 18 + 2, 3 * 18 + 2)
    assert (run / "samples" / "step-0000000.png").exists() and (run / "log.txt").exists()
    done = (run / "log.txt").read_text().splitlines()[-1]
    assert re.search(r" done: 6 steps \(6 trained in 0m0\ds\); samples in .*latest\.png$", done), done


def test_resume_drops_stats_written_after_the_checkpoint(tiny_cfg, tmp_path):
    run = train(dataclasses.replace(tiny_cfg, steps=4, checkpoint_every=4), tmp_path / "r", progress=False)
    with open(run / "stats.jsonl", "a") as f:
        f.write('{"step": 6, "d_loss": 1}\n{"step": 8, "d_lo')  # a crash after step 4's checkpoint
    resume(run, steps=6, progress=False)
    assert " done: 6 steps (2 trained in " in (run / "log.txt").read_text().splitlines()[-1]
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]


def test_checkpoint_that_does_not_match_the_config(tiny_cfg, tmp_path):
    run = train(tiny_cfg, tmp_path / "r", progress=False)
    saved = json.loads((run / "config.json").read_text())
    saved["config"]["g_width"] = 16
    (run / "config.json").write_text(json.dumps(saved))
    with pytest.raises(UserError, match="does not match"):
        resume(run, steps=10, progress=False)
    with pytest.raises(UserError, match="does not match"):
        acgan.load_generator(run)


def test_out_dir_is_never_overwritten(tiny_cfg, tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "precious.txt").write_text("x")
    with pytest.raises(UserError, match="already exists"):
        train(tiny_cfg, tmp_path / "keep", progress=False)
    with pytest.raises(UserError, match="not one"):
        train(tiny_cfg, tmp_path / "keep", force=True, progress=False)
    assert (tmp_path / "keep" / "precious.txt").read_text() == "x"


def test_load_generator_api(tiny_cfg, tmp_path):
    run = train(tiny_cfg, tmp_path / "r", progress=False)
    G = acgan.load_generator(run)
    assert G.class_names == ["cat", "dog", "frog"] and not G.training
    x = G.sample(torch.tensor([0, 2, 1]))
    assert x.shape == (3, 3, 16, 16) and x.min() >= -1 and x.max() <= 1
    z = torch.randn(2, tiny_cfg.z_dim)
    assert torch.equal(G.sample(torch.tensor([1, 1]), z=z), G.sample(torch.tensor([1, 1]), z=z))
    assert acgan.load_generator(run, step=3).step == 3


def test_bf16_autocast_is_used_and_changes_the_weights(tiny_cfg, tmp_path):
    """bf16 runs G's and D's convolutions in bf16 (weights stay fp32) and so ends on other weights than fp32."""
    from acgan.data import load_data
    from acgan.training.loop import Trainer

    seen = set()
    trainer = Trainer(dataclasses.replace(tiny_cfg, precision="bf16"), load_data(tiny_cfg, 16))
    for net in (trainer.G, trainer.D):
        conv = next(m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)))
        conv.register_forward_hook(lambda m, i, out: seen.add(out.dtype))
    trainer.train_step()
    assert trainer.precision == "bf16" and seen == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in trainer.G.parameters())
    bf16 = RunDir(train(dataclasses.replace(tiny_cfg, precision="bf16"), tmp_path / "b", progress=False))
    fp32 = RunDir(train(tiny_cfg, tmp_path / "f", progress=False))
    a, b = bf16.load_checkpoint()[0]["G"], fp32.load_checkpoint()[0]["G"]
    assert any(not torch.equal(a[k], b[k]) for k in a if a[k].is_floating_point())
    assert all(torch.isfinite(torch.tensor(v)) for v in bf16.read_stats()[-1].values())


@pytest.mark.slow
def test_kill_9_then_resume(folder_data, tmp_path):
    """SIGKILL in the middle of training, then --resume: continues from the last checkpoint, nothing lost or torn."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "acgan.cli", "train", "--dataset", "folder", "--data-dir", str(folder_data),
           "--resolution", "16", "--batch-size", "8", "--steps", "100000", "--out", str(run), "--quiet",
           "--device", "cpu", "--precision", "fp32",
           "--set", "g_width=8", "--set", "d_width=8", "--set", "checkpoint_every=5", "--set", "log_every=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while len(RunDir(run).checkpoints()) < 2 and time.time() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(RunDir(run).checkpoints()) >= 2, proc.stderr.read().decode()
    last = RunDir(run).checkpoints()[-1][0]
    done = subprocess.run([sys.executable, "-m", "acgan.cli", "train", "--resume", str(run), "--steps",
                           str(last + 7), "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == list(range(1, last + 8))  # every step logged exactly once
    assert RunDir(run).load_checkpoint()[0]["step"] == last + 7
    assert not list(run.rglob("*.tmp"))


def test_collapse_monitor_writes_per_class_measures_and_verdict(tiny_cfg, tmp_path):
    from acgan.training.monitor import CollapseMonitor

    run = train(dataclasses.replace(tiny_cfg, monitor_every=2, monitor_samples=8, monitor_pairs=3), tmp_path / "r",
                progress=False)
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]
    # the last row is what the monitor's measures give for the final generator, recomputed here from its parts
    from acgan.data import load_data
    from acgan.metrics import class_ms_ssim
    from acgan.metrics.prdc import pixel_features, prdc
    data = load_data(tiny_cfg, 16)
    monitor = CollapseMonitor(data.images, data.labels, 3, tiny_cfg.z_dim, per_class=8, pairs=3, seed=tiny_cfg.seed)
    fake = acgan.load_generator(run).sample(monitor.labels, z=monitor.z)
    want_ms = [r["mean"] for r in class_ms_ssim(fake, monitor.labels, 3, 3, tiny_cfg.seed)]
    assert rows[-1]["class_ms_ssim"] == [round(v, 4) for v in want_ms]
    recall = [prdc(monitor.reference[c], pixel_features(fake[monitor.labels == c]), k=3)["recall"] for c in range(3)]
    assert rows[-1]["class_recall"] == [round(v, 4) for v in recall]
    # the verdict from the same parts: recall and coverage low while the samples sit on real data
    from acgan.metrics.memorisation import near_real
    feats = [pixel_features(fake[monitor.labels == c]) for c in range(3)]
    coverage = [prdc(monitor.reference[c], feats[c], k=5)["coverage"] for c in range(3)]
    low = [c for c in range(3) if recall[c] < 0.5 and coverage[c] < 0.75 and near_real(feats[c], monitor.reference[c])
           >= 0.25]
    assert rows[-1]["classes_collapsed"] == low
    far = [c for c in range(3) if near_real(feats[c], monitor.reference[c]) < 0.25]  # 6 steps: nowhere near data
    assert not set(far) & set(rows[-1]["classes_collapsed"])


def test_the_monitor_holds_a_bounded_sample_of_real_images_not_the_data_set(monkeypatch):
    """Its float copy of real images is a few hundred a class whatever the data set's size, held or streamed: a
    float copy of a whole 64-256 px data set would be four times its bytes (gigabytes)."""
    from acgan.training import monitor as mod

    converted, to_unit = [], mod.to_unit
    monkeypatch.setattr(mod, "to_unit", lambda x: converted.append(len(x)) or to_unit(x))

    class StreamedRows:  # what a store-backed data set offers: rows read by index
        def __init__(self, images):
            self.images, self.read = images, []

        def __getitem__(self, idx):
            self.read.append(len(idx))
            return self.images[idx]

    gen = torch.Generator().manual_seed(0)
    images, labels = torch.randint(0, 256, (3000, 1, 16, 16), generator=gen, dtype=torch.uint8), torch.arange(3000) % 3
    held = mod.CollapseMonitor(images, labels, 3, 8, per_class=8, pairs=3, seed=0)
    rows = StreamedRows(images)
    streamed = mod.CollapseMonitor(rows, labels, 3, 8, per_class=8, pairs=3, seed=0)
    assert mod.pool_size(8, 3) == 200 and converted == [600, 600] and rows.read == [600]
    assert held.threshold == streamed.threshold and all(torch.equal(a, b) for a, b in zip(held.reference,
                                                                                         streamed.reference))


def test_monitor_of_real_images_does_not_fire():
    """The verdict on fresh real images of the classes (a generator as varied as the data) stays quiet."""
    from acgan.training.monitor import CollapseMonitor

    def images_of(n, seed):  # class c: a bright square at a random place on a dim noisy background
        gen = torch.Generator().manual_seed(seed)
        x = torch.randint(0, 60, (n, 1, 16, 16), generator=gen, dtype=torch.uint8)
        labels = torch.arange(n) % 3
        for i, c in enumerate(labels.tolist()):
            top, left = torch.randint(0, 11, (2,), generator=gen).tolist()
            x[i, 0, top:top + 2 + 2 * c, left:left + 5] = 255
        return x, labels

    monitor = CollapseMonitor(*images_of(300, 0), 3, 4, per_class=32, pairs=20, seed=0)
    fresh, fresh_labels = images_of(300, 1)

    class Replay:  # "samples" are unseen real images of the asked class
        def sample(self, asked, z):
            rows = [(fresh_labels == c).nonzero().flatten()[i // 3] for i, c in enumerate(asked.tolist())]
            return fresh[torch.stack(rows)].float() / 127.5 - 1
    stats, new = monitor.measure(Replay(), contextlib.nullcontext())
    assert stats["classes_collapsed"] == [] and new == [], stats
    collapsed = Replay()
    collapsed.sample = lambda asked, z: fresh[:1].float().repeat(len(asked), 1, 1, 1) / 127.5 - 1  # one image
    stats, new = monitor.measure(collapsed, contextlib.nullcontext())
    assert stats["classes_collapsed"] == [0, 1, 2] and new == [0, 1, 2], stats


def test_monitor_must_align_with_logging(tiny_cfg):
    with pytest.raises(UserError, match="multiple of log_every"):
        dataclasses.replace(tiny_cfg, monitor_every=3, log_every=2).validate()


def test_compile_falls_back_cleanly(tiny_cfg, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here")
    monkeypatch.setattr(torch, "compile", broken)
    eager = train(tiny_cfg, tmp_path / "a", progress=False)
    fallback = train(dataclasses.replace(tiny_cfg, compile=True), tmp_path / "b", progress=False)
    assert "torch.compile failed: RuntimeError: no compiler here" in (fallback / "log.txt").read_text()
    a, b = RunDir(eager).load_checkpoint()[0], RunDir(fallback).load_checkpoint()[0]
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])  # the trial left no trace


def test_compile_trains_spectral_norm_in_both_nets(tiny_cfg, tmp_path):
    """Spectral norm in G and D compiled (a ResNet, torch 2.11-2.14) until its first real step, where D's second
    forward updated a power-iteration vector the compiled graph had saved: autograd stopped training. Now the
    vectors are fresh tensors at every call, the trial runs a step's shape, and the compiled run trains as eager
    does: the same maths, rounded differently by compiled kernels, so the tolerances below are bounds, not fits.
    The small pair has the same spectral-norm layers in both nets and compiles in a fraction of a ResNet's time."""
    from acgan.training.data import load_training_data
    cfg = dataclasses.replace(tiny_cfg, spectral_norm="both", steps=2, sample_every=2, checkpoint_every=2,
                              log_every=1)
    eager = train(cfg, tmp_path / "a", progress=False)
    compiled = train(dataclasses.replace(cfg, compile=True), tmp_path / "b", progress=False)
    log = (compiled / "log.txt").read_text()
    assert "modified by an inplace operation" not in log
    a, b = RunDir(eager).load_checkpoint()[0], RunDir(compiled).load_checkpoint()[0]
    if "torch.compile failed" in log:  # a compiler missing here: then the trial left no trace
        assert all(torch.equal(a[n][k], b[n][k]) for n in ("G", "D") for k in a[n])
        return
    assert ", torch.compile," in log
    first = [json.loads((run / "stats.jsonl").read_text().splitlines()[0]) for run in (eager, compiled)]
    # step 1 scores the same weights on the same batch, so only the order of fp32 sums differs: each sum here has
    # at most 256 products (D's Linear: 2 x 8 x 4 x 4), bounding the relative difference by 256 x 2^-24 = 1.5e-5
    # of the summed magnitudes; 2e-4 leaves room for the losses' own sums and for |terms| above |sum|. Later steps
    # start from weights Adam moved apart (below), so their losses are not compared.
    assert all(abs(first[0][k] - first[1][k]) <= 2e-4 * max(1.0, abs(first[0][k])) for k in first[0]
               if "loss" in k or "source" in k)
    init = Trainer(cfg, load_training_data(cfg, log=lambda m: None))
    start = {"G": init.G.state_dict(), "D": init.D.state_dict()}
    for n in ("G", "D"):
        floats = [k for k in a[n] if a[n][k].is_floating_point() and not k.endswith(("_u", "_v"))]
        # Adam moves each weight by at most lr a step, and by about lr wherever its gradient is not ~0: two steps of
        # the two runs are at most 2 x 2 x lr apart, and the compiled run moved its weights as far as eager did
        assert all(torch.allclose(a[n][k], b[n][k], rtol=0, atol=2 * 2 * cfg.lr_g) for k in floats)
        moved = [sum(float((run[n][k] - start[n][k]).abs().sum()) for k in floats) for run in (a, b)]
        assert moved[1] >= 0.5 * moved[0] > 0, moved
    assert any(k.endswith("_u") for k in b["D"])  # the vectors are still the checkpoint's buffers


def test_resume_past_a_damaged_checkpoint_reaches_the_same_weights(tiny_cfg, tmp_path):
    def damage(run):  # e.g. a full disk at the worst moment
        (run / "checkpoints" / "ckpt-0000008.pt").write_bytes(b"")
    a, b = straight_and_resumed(dataclasses.replace(tiny_cfg, checkpoint_every=4), tmp_path, steps=12, cut=8,
                                interrupt=damage)
    assert_same_weights(a, b)
    run = tmp_path / "cut"
    assert "skipped checkpoint ckpt-0000008.pt" in (run / "log.txt").read_text()
    assert (run / "checkpoints" / "ckpt-0000008.pt.damaged").is_file()
    (run / "checkpoints" / "ckpt-0000012.pt").write_bytes(b"PK\x03\x04 torn")
    assert acgan.load_generator(run).step == 8  # sampling and evaluation fall back the same way


def test_the_first_run_on_a_machine_trains_what_the_next_ones_do(tiny_cfg, tmp_path, monkeypatch):
    """Work done once per machine (timing the MS-SSIM filter for the monitor, preparing the data) must not move
    the random stream: a fresh cache folder gives the same weights as a warm one."""
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "fresh-cache"))
    cfg = dataclasses.replace(tiny_cfg, monitor_every=2, monitor_samples=8, monitor_pairs=3)
    first = RunDir(train(cfg, tmp_path / "first", progress=False)).load_checkpoint()[0]
    second = RunDir(train(cfg, tmp_path / "second", progress=False)).load_checkpoint()[0]
    assert_same_weights(first, second)


def test_auto_precision_is_timed_once_and_remembered(tiny_cfg, tmp_path, monkeypatch):
    """On a CPU with bf16 instructions `auto` takes bf16 only when timing shows it at least 5% faster for this
    model, remembers the answer per machine and model, never moves the random stream, and config.json records
    what was chosen (so a resume trains in it); without bf16 instructions it is fp32 untimed."""
    from acgan.models import build_models
    from acgan.training import precision
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    G, D = build_models(tiny_cfg, 3, 16, 3)
    calls = []

    def timed(seconds):
        def fake(*args):
            calls.append(args)
            return seconds
        return fake

    def choose(key):
        return precision.choose_precision("auto", torch.device("cpu"), G, D, z_dim=tiny_cfg.z_dim, num_classes=3,
                                          batch_size=8, shape_key=key)[0]
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    monkeypatch.setattr(precision, "_time", timed({"fp32": 1.0, "bf16": 0.5}))
    assert choose("model a") == "bf16" and choose("model a") == "bf16" and len(calls) == 1  # remembered
    monkeypatch.setattr(precision, "_time", timed({"fp32": 1.0, "bf16": 0.97}))
    assert choose("model b") == "fp32" and len(calls) == 2  # within 5%: fp32, the reference
    assert len(json.loads((tmp_path / "cache" / "precision.json").read_text())) == 2
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    assert choose("model c") == "fp32" and len(calls) == 2
    assert precision.choose_precision("bf16", torch.device("cpu"), G, D, z_dim=8, num_classes=3, batch_size=8,
                                      shape_key="x") == ("bf16", "set")

    monkeypatch.undo()
    before = [p.clone() for p in G.parameters()]
    rng = torch.get_rng_state()
    seconds = precision._time(G, D, torch.device("cpu"), tiny_cfg.z_dim, 3, 8)  # the real timing, on copies
    assert set(seconds) == {"fp32", "bf16"} and all(s > 0 for s in seconds.values())
    assert torch.equal(torch.get_rng_state(), rng) and all(torch.equal(a, b) for a, b in zip(before, G.parameters()))

    run = RunDir(train(dataclasses.replace(tiny_cfg, precision="auto"), tmp_path / "run", progress=False))
    used = run.read().config["precision"]
    assert used in ("fp32", "bf16") and f"cpu {used} (" in (run.path / "log.txt").read_text()
