"""The step a CUDA graph replays (training/captured.py), run eagerly on the CPU: it trains what the plain step
trains, bit for bit, resumes bit-identically, writes the same checkpoints, and a recording that fails falls back."""
import dataclasses
import functools

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import acgan.training.loop as loop_module
from acgan.errors import UserError
from acgan.rundir import RunDir
from acgan.training.captured import WARMUP, Replay
from acgan.training.single_run import train

from .conftest import assert_same_state, straight_and_resumed

# everything a step can hold: several D steps, a learning-rate schedule, the EMA, skipping, DiffAugment's random
# ops, dropout, both extra terms (LeCam's running state, IMLE's masked mean)
FULL = dict(d_steps=2, ema_decay=0.999, lr_schedule="linear", nan_policy="skip", diffaugment="color,translation,cutout",
            lecam=0.1, imle=1.0, steps=6)


def fed_on_cpu(monkeypatch, record=False):
    """Runs on the CPU take the replayed step's way: its feed, eagerly (`record`: and try to record a graph)."""
    monkeypatch.setattr(loop_module, "unsupported", lambda trainer: None)
    monkeypatch.setattr(loop_module, "Replay", functools.partial(Replay, record=record))


@pytest.mark.parametrize("memory", [None, 0.0], ids=["held", "streamed"])
def test_the_fed_step_trains_and_checkpoints_what_the_plain_step_does(tiny_cfg, tmp_path, monkeypatch, memory):
    cfg = dataclasses.replace(tiny_cfg, **FULL, data_memory_gb=memory)
    plain = RunDir(train(cfg, tmp_path / "plain", progress=False)).load_checkpoint()[0]
    fed_on_cpu(monkeypatch)
    fed_run = train(dataclasses.replace(cfg, cuda_graphs=True), tmp_path / "fed", progress=False)
    fed = RunDir(fed_run).load_checkpoint()[0]
    assert plain["opt_d"]["param_groups"][0]["lr"] == pytest.approx(cfg.lr_d / cfg.steps)  # the schedule ran
    assert plain["lecam"]["count"] == cfg.steps * cfg.d_steps
    assert_same_state(plain, fed)  # weights, EMA, both optimisers (rates as floats), LeCam's state, RNG
    rows = [[{k: v for k, v in row.items() if k not in ("step_time_s", "images_per_s")}
             for row in RunDir(tmp_path / run).read_stats()] for run in ("plain", "fed")]
    assert rows[0] == rows[1] and len(rows[0]) == cfg.steps // cfg.log_every  # the stats, summed on the device alike


def test_the_fed_step_resumes_bit_identically(tiny_cfg, tmp_path, monkeypatch):
    fed_on_cpu(monkeypatch)
    # a linear schedule is not resumed to a new total of steps (its rates follow the total): constant here
    cfg = dataclasses.replace(tiny_cfg, **dict(FULL, lr_schedule="constant"), cuda_graphs=True)
    straight, resumed = straight_and_resumed(cfg, tmp_path, steps=6, cut=3)
    assert_same_state(straight, resumed)


def test_a_recording_that_fails_says_why_once_and_trains_on_eagerly(tiny_cfg, tmp_path, monkeypatch, capsys):
    cfg = dataclasses.replace(tiny_cfg, **FULL)
    plain = RunDir(train(cfg, tmp_path / "plain", progress=False)).load_checkpoint()[0]

    def refused(*args, **kwargs):
        raise RuntimeError("operation not permitted when stream is capturing\nmore")
    monkeypatch.setattr(torch.cuda, "CUDAGraph", refused)
    fed_on_cpu(monkeypatch, record=True)
    run = train(dataclasses.replace(cfg, cuda_graphs=True), tmp_path / "fed", progress=False)
    log = (run / "log.txt").read_text().splitlines()
    said = [line for line in log if "CUDA graph" in line or "cuda_graphs" in line]
    assert len(said) == 2 and "CUDA graph replays of the whole step" in said[0], said  # the start line, then why
    assert said[1].endswith(f"step {WARMUP + 1}: cuda_graphs: recording failed (RuntimeError: operation not "
                            "permitted when stream is capturing): the step reads a value back or runs what a graph "
                            "cannot hold; training goes on with eager steps (cuda_graphs=false skips the attempt)")
    assert_same_state(plain, RunDir(run).load_checkpoint()[0])  # the failed recording changed nothing


def test_a_recording_that_fails_in_g_s_half_leaves_the_trainer_whole(tiny_cfg, monkeypatch):
    """A recording broken inside the step (here in G's half, where D is frozen) hands the next eager steps D
    trainable again and fresh gradients. On a CPU the 'recording' runs the body eagerly up to the failure."""
    from acgan.data import load_data
    from acgan.training import captured
    from acgan.training.loop import Trainer

    class Recorded:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False
    monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: None)
    monkeypatch.setattr(torch.cuda, "graph", Recorded)
    before = type("Before", (), {"pool": None, "restore": lambda self: None})  # no CUDA state to put back here
    monkeypatch.setattr(captured, "_Before", lambda device: before())
    cfg = dataclasses.replace(tiny_cfg, **FULL)
    t = Trainer(cfg, load_data(cfg, 16))
    t.replay, t.graphs_wanted, said = Replay(t, record=True), True, []
    t.say = said.append
    generator = t.loss.generator

    def host_read_while_recording(*args):
        if t.recording:
            raise RuntimeError("operation not permitted when stream is capturing")
        return generator(*args)
    t.loss.generator = host_read_while_recording
    for _ in range(WARMUP + 3):
        t.train_step()
    assert t.step == WARMUP + 3 and t.replay is None and not t.recording
    assert len(said) == 1 and said[0].startswith(f"step {WARMUP + 1}: cuda_graphs: recording failed"), said
    assert all(p.requires_grad for p in t.D.parameters())


def test_without_cuda_the_key_trains_eagerly_and_says_so(tiny_cfg, tmp_path):
    run = train(dataclasses.replace(tiny_cfg, cuda_graphs=True, steps=2), tmp_path / "run", progress=False)
    start = next(line for line in (run / "log.txt").read_text().splitlines() if "start:" in line)
    assert "eager; cuda_graphs off: it needs a CUDA device" in start
    with pytest.raises(UserError, match="compile and cuda_graphs exclude each other"):
        dataclasses.replace(tiny_cfg, cuda_graphs=True, compile=True).validate()


class HostReads(TorchDispatchMode):
    """The operators a step ran that read a device value back to the host (on CUDA: a sync, which a graph being
    recorded refuses): `.item()` and its kin, data-dependent shapes, boolean-mask indexing."""
    READS = {"_local_scalar_dense", "nonzero", "masked_select", "_unique2", "unique_dim", "unique_consecutive",
             "bincount", "equal", "is_nonzero", "repeat_interleave", "histc"}

    def __init__(self):
        super().__init__()
        self.found = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        masks = func.overloadpacket is torch.ops.aten.index and any(
            torch.is_tensor(i) and i.dtype in (torch.bool, torch.uint8) for i in (args[1] if len(args) > 1 else ()))
        if name in self.READS or masks:
            self.found.add(name)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("preset, keys", [
    ("demo", ["nan_policy=skip", "lecam=0.1", "lr_schedule=linear", "d_steps=2"]),
    *[("demo", [f"loss={loss}"]) for loss in ("acgan", "acgan-mod", "tac", "projection", "reacgan")],
    ("modern-cifar", ["g_width=8", "d_width=8", "precision=bf16"]),  # bf16 autocast, as on a GPU
    ("modern-64", ["g_width=4", "d_width=4", "batch_size=4", "precision=fp32"]),
], ids=lambda v: v if isinstance(v, str) else ",".join(v))
def test_no_step_reads_a_value_back(preset, keys):
    """Every loss, extra term and architecture a preset trains runs its whole step (both players' forward and
    backward passes, Adam, the EMA, the stats' sum) without reading a device value back: the condition for recording
    it as a CUDA graph, checked on the CPU by watching every operator the step dispatches."""
    from acgan.bench.presets import preset_trainer
    trainer, _ = preset_trainer(preset, "cpu", ["batch_size=8", *keys], n=64)
    replay = Replay(trainer, record=False)
    replay.step()  # the optimisers' state is created here, as in the eager warm-up before a recording
    with HostReads() as reads:
        replay.step()
    assert not reads.found, reads.found
